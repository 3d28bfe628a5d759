"""Looking people up: /find, /person (and the card button), /hearings (and a person's
Hearings button)."""

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from handlers.context import CaseContext, command_args, language
from handlers.deeplinks import person_link
from handlers.parsing import BadArguments, Who, parse_hearings_window, parse_query, parse_who
from handlers.render import (
    render_hearings,
    render_matches,
    render_person_card,
    render_person_hearings,
)
from handlers.replies import (
    card_keyboard,
    person_buttons,
    reply,
    reply_unresolved,
    reply_usage,
)
from handlers.visibility import load_pressed_person, resolve_here, sees_restricted_here
from handlers.who import Resolution, read_spellings, search_people
from storage.engine import session_scope
from storage.following import is_following
from storage.history import PersonHearings, hearings_of
from storage.models import Person, Visibility, utcnow
from storage.people import PersonCard, load_person_card, spellings_of, upcoming_hearings


@dataclass(frozen=True)
class ShownCard:
    card: PersonCard
    following: bool


async def find(update: Update, context: CaseContext) -> None:
    """List the people whose any spelling matches the query."""
    lang = language(update)
    try:
        query = parse_query(command_args(update))
    except BadArguments as error:
        await reply_usage(update, "find", error, lang)
        return
    await find_people(update, context, query)


async def find_people(
    update: Update, context: CaseContext, query: str, *, hint: bool = False
) -> None:
    """The people matching `query`, as buttons; or "nobody" (with how to use the bot)."""
    lang = language(update)
    async with session_scope(context.services.engine) as session:
        found = await search_people(
            session=session,
            names=context.services.names,
            query=query,
            include_restricted=await sees_restricted_here(session, update),
        )
        people = [person for _, person in found]
        spellings = await read_spellings(session, people)
    key = context.services.button_key
    if not found:
        await reply_unresolved(update, Resolution(), query, lang, key=key, hint=hint)
        return
    buttons = person_buttons(people, spellings, lang, key)
    await reply(update, render_matches(found, spellings, lang), buttons)


async def person(update: Update, context: CaseContext) -> None:
    """Show one person's card."""
    lang = language(update)
    try:
        who = parse_who(command_args(update))
    except BadArguments as error:
        await reply_usage(update, "person", error, lang)
        return
    await show_card(update, context, who)


async def show_card(update: Update, context: CaseContext, who: Who) -> ShownCard | None:
    """The card of the person meant (returned), or the candidates, or a clear "nobody"."""
    lang = language(update)
    async with session_scope(context.services.engine) as session:
        found = await resolve_here(session, update, context, who)
        card = await _load_card(session, update, found.person) if found.person else None
    if card is None:
        await reply_unresolved(update, found, who.label, lang, key=context.services.button_key)
        return None
    await _reply_card(update, context, card, lang)
    return card


async def card_pressed(update: Update, context: CaseContext) -> None:
    """A card button: its person is checked again (still there, still to be seen here)."""

    async def load(session: AsyncSession, found: Person) -> ShownCard:
        return await _load_card(session, update, found)

    card = await load_pressed_person(update, context, load)
    if card is not None:
        await _reply_card(update, context, card, language(update))


async def hearings_pressed(update: Update, context: CaseContext) -> None:
    """A card's Hearings button: the person's hearings to come, then the last gone by."""
    listed = await load_pressed_person(update, context, _hearings_of)
    if listed is not None:
        person, hearings_listed, spellings = listed
        text = render_person_hearings(person, spellings, hearings_listed, language(update))
        await reply(update, text)


async def _hearings_of(
    session: AsyncSession, person: Person
) -> tuple[Person, PersonHearings, list[str]] | None:
    if person.id is None:
        return None
    listed = await hearings_of(session=session, person_id=person.id, now=utcnow())
    return person, listed, await spellings_of(session=session, person_id=person.id)


async def hearings(update: Update, context: CaseContext) -> None:
    """Upcoming hearings, soonest first: today, tomorrow, week, <N>d, or at a place."""
    lang = language(update)
    try:
        window = parse_hearings_window(
            command_args(update), now=utcnow(), tz=context.services.default_tz
        )
    except BadArguments as error:
        await reply_usage(update, "hearings", error, lang)
        return
    async with session_scope(context.services.engine) as session:
        slots = await upcoming_hearings(
            session=session,
            start=window.start,
            end=window.end,
            place=window.place,
            include_restricted=await sees_restricted_here(session, update),
        )
        spellings = await read_spellings(session, [slot.person for slot in slots])
    await reply(update, render_hearings(slots, spellings, lang))


async def _load_card(session: AsyncSession, update: Update, found: Person) -> ShownCard:
    assert found.id is not None
    chat = update.effective_chat
    return ShownCard(
        card=await load_person_card(session=session, person=found),
        following=chat is not None
        and await is_following(session=session, chat_id=chat.id, person_id=found.id),
    )


def _shared_link(context: CaseContext, person: Person) -> str | None:
    """The card's own link, for public people (a restricted one opens for editors only)."""
    if person.id is None or person.visibility != Visibility.PUBLIC:
        return None
    return person_link(context.bot.username, person.id)


async def _reply_card(
    update: Update, context: CaseContext, shown: ShownCard, language: str
) -> None:
    person = shown.card.person
    buttons = card_keyboard(
        person, language, context.services.button_key, following=shown.following
    )
    link = _shared_link(context, person)
    await reply(update, render_person_card(shown.card, language, link), buttons)
