"""/audit [<who>]: who changed what and when, newest first, a page at a time.

For owners, editors and viewers, in their private chats only: the log names restricted people
and the user ids of editors, so a group is told to ask in private. The command sends the first
page; Previous and Next edit it in place. A page button carries the person ("" for the whole
log), the way (`n` newer, `o` older) and the entry it pages from; a candidate's button (a name
that matched several people) carries only the person, and sends the first page. The reader's
role is checked again on every press.
"""

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.buttons import button_data
from handlers.context import CaseContext, command_args, language
from handlers.i18n import t
from handlers.parsing import BadArguments, Who, parse_who
from handlers.render import render_candidates
from handlers.render_audit import AuditView, render_audit
from handlers.replies import (
    AUDIT,
    answer_gone,
    person_buttons,
    read_press,
    reply,
    reply_unresolved,
    reply_usage,
    show_page,
)
from handlers.visibility import resolve_here
from handlers.who import Resolution, read_spellings
from storage.audit import AuditPage, audit_page, undone_events
from storage.engine import session_scope
from storage.models import Person
from storage.people import people_by_ids

NEWER = "n"
OLDER = "o"


@dataclass(frozen=True)
class ShownAudit:
    person: Person | None  # the person the log is filtered by; None: the whole log
    page: AuditPage
    view: AuditView


async def audit(update: Update, context: CaseContext) -> None:
    """The newest page of the audit log, or of the entries about one person."""
    lang, chat = language(update), update.effective_chat
    if chat is not None and chat.type != chat.PRIVATE:
        await reply(update, t(lang, "audit.private_only"))
        return
    text = command_args(update)
    try:
        who = parse_who(text) if text else None
    except BadArguments as error:
        await reply_usage(update, "audit", error, lang)
        return
    # Who may read it is checked in the guard group (handlers/guards.py, viewers and up).
    async with session_scope(context.services.engine) as session:
        found = await _resolve(session, update, context, who)
        shown = None
        if who is None or found.person is not None:
            shown = await _load(session, found.person)
    if shown is None:
        await _reply_unresolved(update, context, found, who, lang)
    else:
        await reply(update, *_message(shown, context, lang))


async def audit_pressed(update: Update, context: CaseContext) -> None:
    """A candidate (the first page, a new message), or Previous / Next (the page, edited)."""
    pressed = await read_press(update, context)
    if pressed is None:
        return
    query, lang = update.callback_query, language(update)
    assert query is not None
    chat = update.effective_chat
    if chat is None or chat.type != chat.PRIVATE:  # the log names restricted people
        await query.answer(t(lang, "audit.private_only"))
        return
    person_id = pressed.number(0)
    way = pressed.values[1] if len(pressed.values) > 1 else ""
    async with session_scope(context.services.engine) as session:
        person = await _person(session, person_id) if person_id else None
        gone = person_id is not None and person is None
        shown = None if gone else await _load(session, person, way, pressed.number(2))
    if shown is None:
        await answer_gone(update)
    else:
        first, empty = len(pressed.values) == 1, not shown.page.entries
        await show_page(update, *_message(shown, context, lang), first=first, empty=empty)


async def _resolve(
    session: AsyncSession, update: Update, context: CaseContext, who: Who | None
) -> Resolution:
    return Resolution() if who is None else await resolve_here(session, update, context, who)


async def _person(session: AsyncSession, person_id: int) -> Person | None:
    """The person a button names, restricted or not (every reader of the log may see them)."""
    found = await people_by_ids(session=session, person_ids=[person_id], include_restricted=True)
    return found[0] if found else None


async def _load(
    session: AsyncSession, person: Person | None, way: str = "", anchor: int | None = None
) -> ShownAudit:
    """The page `way` (NEWER or OLDER) from entry `anchor`; the newest page without them."""
    page = await audit_page(
        session=session,
        person_id=person.id if person else None,
        before=anchor if way == OLDER else None,
        after=anchor if way == NEWER else None,
    )
    named = {entry.person_id for entry in page.entries if entry.person_id is not None}
    people = await people_by_ids(session=session, person_ids=list(named), include_restricted=True)
    view = AuditView(
        entries=page.entries,
        people={p.id: p for p in people if p.id is not None},
        spellings=await read_spellings(session, [*people, person]),
        undone=await undone_events(session=session, entries=page.entries),
    )
    return ShownAudit(person=person, page=page, view=view)


def _message(
    shown: ShownAudit, context: CaseContext, language: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    entries, key = shown.page.entries, context.services.button_key
    person = shown.person.id if shown.person else ""
    text = render_audit(shown.view, shown.person, context.services.default_tz, language)
    buttons = []
    if shown.page.newer:
        data = button_data(key, AUDIT, person, NEWER, entries[0].id)
        buttons.append(InlineKeyboardButton(t(language, "button.previous"), callback_data=data))
    if shown.page.older:
        data = button_data(key, AUDIT, person, OLDER, entries[-1].id)
        buttons.append(InlineKeyboardButton(t(language, "button.next"), callback_data=data))
    return text, InlineKeyboardMarkup([buttons]) if buttons else None


async def _reply_unresolved(
    update: Update, context: CaseContext, found: Resolution, who: Who | None, language: str
) -> None:
    """Nobody matched (said so), or several did: each a button opening their audit."""
    key = context.services.button_key
    if not found.candidates:
        await reply_unresolved(update, found, who.label if who else "", language, key=key)
        return
    text = render_candidates(found.candidates, found.spellings, language)
    await reply(
        update, text, person_buttons(found.candidates, found.spellings, language, key, AUDIT)
    )
