"""/history <who>: a person's timeline, newest first, a page at a time.

The command and a card's History button send the first page as a new message; Previous and
Next edit that message in place. A page button carries the person, the way (`n` newer, `o`
older) and the event it pages from; the person is checked again on every press.
"""

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.buttons import button_data
from handlers.context import CaseContext, command_args, language
from handlers.i18n import t
from handlers.parsing import BadArguments, parse_who
from handlers.render import render_history
from handlers.replies import (
    HISTORY,
    answer_gone,
    read_press,
    reply,
    reply_unresolved,
    reply_usage,
    show_page,
)
from handlers.visibility import resolve_here, visible_person
from storage.engine import session_scope
from storage.history import HistoryPage, history_page
from storage.models import Person
from storage.people import current_case, spellings_of

NEWER = "n"
OLDER = "o"


@dataclass(frozen=True)
class ShownHistory:
    person: Person
    spellings: list[str]  # for the name in the reader's script
    page: HistoryPage
    tz: str  # the court's, for the dates


async def history(update: Update, context: CaseContext) -> None:
    """The first page of a person's history."""
    lang = language(update)
    try:
        who = parse_who(command_args(update))
    except BadArguments as error:
        await reply_usage(update, "history", error, lang)
        return
    async with session_scope(context.services.engine) as session:
        found = await resolve_here(session, update, context, who)
        shown = await _load(session, context, found.person) if found.person else None
    if shown is None:
        await reply_unresolved(update, found, who.label, lang, key=context.services.button_key)
        return
    await reply(update, *_message(shown, context, lang))


async def history_pressed(update: Update, context: CaseContext) -> None:
    """A card's History button (a new message), or Previous / Next (the message, edited)."""
    pressed = await read_press(update, context)
    if pressed is None:
        return
    query, lang = update.callback_query, language(update)
    assert query is not None
    async with session_scope(context.services.engine) as session:
        found = await visible_person(session, update, pressed.number())
        way = pressed.values[1] if len(pressed.values) > 1 else ""
        shown = await _load(session, context, found, way, pressed.number(2)) if found else None
    if shown is None:
        await answer_gone(update)
    else:
        first, empty = len(pressed.values) == 1, not shown.page.events
        await show_page(update, *_message(shown, context, lang), first=first, empty=empty)


async def _load(
    session: AsyncSession,
    context: CaseContext,
    person: Person,
    way: str = "",
    anchor: int | None = None,
) -> ShownHistory:
    """The page `way` (NEWER or OLDER) from event `anchor`; the newest page without them."""
    assert person.id is not None
    page = await history_page(
        session=session,
        person_id=person.id,
        before=anchor if way == OLDER else None,
        after=anchor if way == NEWER else None,
    )
    case = await current_case(session=session, person_id=person.id)
    return ShownHistory(
        person=person,
        spellings=await spellings_of(session=session, person_id=person.id),
        page=page,
        tz=case.tz if case else context.services.default_tz,
    )


def _message(
    shown: ShownHistory, context: CaseContext, language: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    events, key, person_id = shown.page.events, context.services.button_key, shown.person.id
    text = render_history(shown.person, shown.spellings, events, shown.tz, language)
    buttons = []
    if shown.page.newer:
        data = button_data(key, HISTORY, person_id, NEWER, events[0].id)
        buttons.append(InlineKeyboardButton(t(language, "button.previous"), callback_data=data))
    if shown.page.older:
        data = button_data(key, HISTORY, person_id, OLDER, events[-1].id)
        buttons.append(InlineKeyboardButton(t(language, "button.next"), callback_data=data))
    return text, InlineKeyboardMarkup([buttons]) if buttons else None
