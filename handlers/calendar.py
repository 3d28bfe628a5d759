"""/calendar [<who>] and the card's Calendar button: hearings as an .ics file."""

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from handlers.context import CaseContext, command_args, language
from handlers.i18n import t
from handlers.ical import render_calendar
from handlers.parsing import BadArguments, parse_who
from handlers.render import listed_title
from handlers.replies import reply, reply_unresolved, reply_usage
from handlers.visibility import load_pressed_person, resolve_here, sees_restricted_here
from storage.calendar import CalendarHearings, followed_hearings, person_hearings
from storage.engine import session_scope
from storage.models import Person, utcnow

MAX_FILENAME = 60
# `/calendar feed`: a subscription URL a calendar app refreshes, served by the webhook server
# (not built yet; README, "Not yet built")
FEED = "feed"
_NOT_IN_NAME = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class Loaded:
    """The hearings for one file, read at `now`."""

    hearings: CalendarHearings
    now: datetime
    person: Person | None = None  # whose hearings; None: of everyone the chat follows


async def calendar(update: Update, context: CaseContext) -> None:
    """`/calendar [<who>]`: the hearings of everyone the chat follows, or of one person."""
    lang, text = language(update), command_args(update)
    if not text:
        async with session_scope(context.services.engine) as session:
            loaded = await _of_followed(session, update)
        await _send(update, context, loaded, lang)
        return
    if text.lower() == FEED:
        await reply(update, t(lang, "calendar.feed_later"))
        return
    try:
        who = parse_who(text)
    except BadArguments as error:
        await reply_usage(update, "calendar", error, lang)
        return
    async with session_scope(context.services.engine) as session:
        found = await resolve_here(session, update, context, who)
        of_person = await _of_person(session, found.person) if found.person else None
    if of_person is None:
        await reply_unresolved(update, found, who.label, lang, key=context.services.button_key)
        return
    await _send(update, context, of_person, lang)


async def calendar_pressed(update: Update, context: CaseContext) -> None:
    """The card's Calendar button: the person is checked again (gone, or not shown here)."""
    loaded = await load_pressed_person(update, context, _of_person)
    if loaded is not None:
        await _send(update, context, loaded, language(update))


async def _of_followed(session: AsyncSession, update: Update) -> Loaded:
    chat = update.effective_chat
    assert chat is not None
    now = utcnow()
    hearings = await followed_hearings(
        session=session,
        chat_id=chat.id,
        include_restricted=await sees_restricted_here(session, update),
        now=now,
    )
    return Loaded(hearings, now)


async def _of_person(session: AsyncSession, person: Person) -> Loaded:
    assert person.id is not None
    now = utcnow()
    hearings = await person_hearings(session=session, person_id=person.id, now=now)
    return Loaded(hearings, now, person)


async def _send(update: Update, context: CaseContext, loaded: Loaded, lang: str) -> None:
    """The file with a caption saying how many hearings it holds; a text when none."""
    message = update.effective_message
    assert message is not None
    hearings, person = loaded.hearings, loaded.person
    count, undated = len(hearings.slots), hearings.undated
    lines = []
    if person is not None:
        lines.append(listed_title(person, hearings.spellings, lang))
    if count:
        lines.append(t(lang, "calendar.caption", count=count))
    else:
        lines.append(t(lang, "calendar.none_person" if person else "calendar.none"))
    if undated:
        lines.append(t(lang, "calendar.undated", count=undated))
    if not count:
        await reply(update, "\n".join(lines))
        return
    content = render_calendar(
        hearings.slots,
        lang,
        key=context.services.calendar_key,
        now=loaded.now,
        spellings=hearings.spellings,
    )
    filename = calendar_filename(person) if person else "casewatch.ics"
    await message.reply_document(
        content, filename=filename, caption="\n".join(lines), do_quote=False
    )


def calendar_filename(person: Person) -> str:
    """`Qaisha-Aqan.ics`: the name's letters and digits (any script), else the person's id."""
    stem = _NOT_IN_NAME.sub("-", person.name).strip("-_")[:MAX_FILENAME].strip("-_")
    return f"{stem or f'person-{person.id}'}.ics"
