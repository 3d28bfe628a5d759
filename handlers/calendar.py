"""/calendar [<who>] and the card's Calendar button: hearings as an .ics file."""

import re
from dataclasses import dataclass

from telegram import Update

from handlers.buttons import read_button
from handlers.context import CaseContext, command_args, language
from handlers.i18n import t
from handlers.ical import render_calendar
from handlers.parsing import BadArguments, Who, parse_who
from handlers.render import person_title
from handlers.replies import reply, reply_unresolved, reply_usage
from handlers.visibility import sees_restricted_here
from handlers.who import Resolution, resolve_who
from storage.calendar import CalendarHearings, followed_hearings, person_hearings
from storage.engine import session_scope
from storage.models import Person, utcnow
from storage.secrets import CALENDAR, shared_secret

# The card's Calendar button: `button_data(key, CALENDAR_BUTTON, person_id)`.
CALENDAR_BUTTON = "cal"
MAX_FILENAME = 60
_NOT_IN_NAME = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class CalendarFile:
    """A calendar ready to send: its file, and what the caption says of it."""

    hearings: CalendarHearings
    content: bytes
    filename: str
    person: Person | None = None  # whose hearings; None: of everyone the chat follows


async def calendar(update: Update, context: CaseContext) -> None:
    """`/calendar [<who>]`: the hearings of everyone the chat follows, or of one person."""
    lang = language(update)
    text = command_args(update)
    if not text:
        await _send(update, await _followed_calendar(update, context), lang)
        return
    try:
        who = parse_who(text)
    except BadArguments as error:
        await reply_usage(update, "calendar", error, lang)
        return
    found, made = await _person_calendar(update, context, who)
    if made is None:
        await reply_unresolved(update, found, who.label, lang, key=context.services.button_key)
        return
    await _send(update, made, lang)


async def calendar_pressed(update: Update, context: CaseContext) -> None:
    """The card's Calendar button: the person named is checked again (gone, or not shown here)."""
    query = update.callback_query
    assert query is not None
    lang = language(update)
    pressed = read_button(context.services.button_key, query.data)
    person_id = pressed.number() if pressed and pressed.action == CALENDAR_BUTTON else None
    made = None
    if person_id is not None:
        _, made = await _person_calendar(update, context, Who(person_id=person_id))
    if made is None:
        await query.answer(t(lang, "conversation.stale_button"))
        return
    await query.answer()
    await _send(update, made, lang)


async def _followed_calendar(update: Update, context: CaseContext) -> CalendarFile:
    chat = update.effective_chat
    assert chat is not None
    now = utcnow()
    async with session_scope(context.services.engine) as session:
        hearings = await followed_hearings(
            session=session,
            chat_id=chat.id,
            include_restricted=await sees_restricted_here(session, update),
            now=now,
        )
        key = await shared_secret(session=session, name=CALENDAR)
    content = render_calendar(hearings.slots, language(update), key=key, now=now)
    return CalendarFile(hearings=hearings, content=content, filename="casewatch.ics")


async def _person_calendar(
    update: Update, context: CaseContext, who: Who
) -> tuple[Resolution, CalendarFile | None]:
    """The person meant (if visible here) and their calendar."""
    now = utcnow()
    async with session_scope(context.services.engine) as session:
        found = await resolve_who(
            session=session,
            names=context.services.names,
            who=who,
            include_restricted=await sees_restricted_here(session, update),
        )
        if found.person is None or found.person.id is None:
            return found, None
        hearings = await person_hearings(session=session, person_id=found.person.id, now=now)
        key = await shared_secret(session=session, name=CALENDAR)
    content = render_calendar(hearings.slots, language(update), key=key, now=now)
    return found, CalendarFile(hearings, content, calendar_filename(found.person), found.person)


async def _send(update: Update, made: CalendarFile, lang: str) -> None:
    """The file with a caption saying how many hearings it holds; no file when none."""
    message = update.effective_message
    assert message is not None
    count, undated = len(made.hearings.slots), made.hearings.undated
    lines = [person_title(made.person)] if made.person else []
    if count:
        lines.append(t(lang, "calendar.caption", count=count))
    else:
        lines.append(t(lang, "calendar.none_person" if made.person else "calendar.none"))
    if undated:
        lines.append(t(lang, "calendar.undated", count=undated))
    if not count:
        await reply(update, "\n".join(lines))
        return
    await message.reply_document(
        made.content, filename=made.filename, caption="\n".join(lines), do_quote=False
    )


def calendar_filename(person: Person) -> str:
    """`Qaisha-Aqan.ics`: the name's letters and digits (any script), else the person's id."""
    stem = _NOT_IN_NAME.sub("-", person.name).strip("-_")[:MAX_FILENAME].strip("-_")
    return f"{stem or f'person-{person.id}'}.ics"
