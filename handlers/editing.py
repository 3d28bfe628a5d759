"""Editor commands that change the records: /addperson, /sethearing, /setasylum, /setdetention,
and /undo.

Each applies its change, the timeline event and the audit entry in one transaction, and
remembers the update id in it too, so a redelivered update changes nothing the second time.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from handlers.context import CaseContext, command_args, language
from handlers.i18n import t
from handlers.parsing import (
    BadArguments,
    StatusArgs,
    Who,
    parse_setasylum,
    parse_setdetention,
    parse_sethearing,
    parse_spellings,
)
from handlers.render import Spellings, describe_event, format_when, listed_title, person_title
from handlers.replies import reply, reply_unresolved, reply_usage
from handlers.visibility import resolve_here
from handlers.who import Resolution, read_spellings
from storage.engine import session_scope
from storage.models import Event, Person
from storage.people import (
    StatusField,
    UndoOutcome,
    UndoResult,
    add_person,
    get_person,
    set_hearing,
    set_status,
    undo_last_change,
)
from storage.timeline import PushProgress, claim_update, push_progress


async def addperson(update: Update, context: CaseContext) -> None:
    """Add a person with every known spelling of their name."""
    lang = language(update)
    try:
        spellings = parse_spellings(command_args(update))
    except BadArguments as error:
        await reply_usage(update, "addperson", error, lang)
        return
    services = context.services
    async with session_scope(services.engine) as session:
        if not await claim_update(session=session, update_id=update.update_id):
            return
        added = await add_person(
            session=session,
            name=spellings[0],
            other_spellings=spellings[1:],
            actor_id=_actor(update),
            grace=services.grace,
        )
    title = person_title(added, spellings, lang)
    await reply(update, t(lang, "editor.person_added", person=title))


async def sethearing(update: Update, context: CaseContext) -> None:
    """Set or move a person's next hearing (court's local time)."""
    lang = language(update)
    try:
        args = parse_sethearing(command_args(update))
    except BadArguments as error:
        await reply_usage(update, "sethearing", error, lang)
        return
    services = context.services

    async def move(session: AsyncSession, person: Person) -> Event | None:
        return await set_hearing(
            session=session,
            person=person,
            local_start=args.local_start,
            place=args.place,
            default_tz=services.default_tz,
            actor_id=_actor(update),
            grace=services.grace,
            source=args.provenance.source,
            verification=args.provenance.verification,
        )

    await _edit_person(update, context, args.who, move)


async def setasylum(update: Update, context: CaseContext) -> None:
    """Change a person's asylum status, optionally with a source URL."""
    await _set_status(update, context, "asylum", parse_setasylum)


async def setdetention(update: Update, context: CaseContext) -> None:
    """Change a person's detention status, optionally with a source URL."""
    await _set_status(update, context, "detention", parse_setdetention)


async def _set_status(
    update: Update, context: CaseContext, field: StatusField, parse: Callable[[str], StatusArgs]
) -> None:
    lang = language(update)
    try:
        args = parse(command_args(update))
    except BadArguments as error:
        await reply_usage(update, f"set{field}", error, lang)
        return
    services = context.services
    today = datetime.now(ZoneInfo(services.default_tz)).date().isoformat()

    async def change(session: AsyncSession, person: Person) -> Event | None:
        return await set_status(
            session=session,
            person=person,
            field=field,
            status=args.status,
            since=today,
            source=args.source,
            actor_id=_actor(update),
            grace=services.grace,
            verification=args.provenance.verification,
        )

    await _edit_person(update, context, args.who, change)


async def _edit_person(
    update: Update,
    context: CaseContext,
    who: Who,
    change: Callable[[AsyncSession, Person], Awaitable[Event | None]],
) -> None:
    """Apply `change` to the person meant, once per update, and say what came of it."""
    services = context.services
    async with session_scope(services.engine) as session:
        if not await claim_update(session=session, update_id=update.update_id):
            return
        found = await resolve_here(session, update, context, who)
        event = await change(session, found.person) if found.person else None
        spellings = await read_spellings(session, [found.person])
    await _reply_saved(update, context, found, spellings, event, who)


async def _reply_saved(
    update: Update,
    context: CaseContext,
    found: Resolution,
    spellings: Spellings,
    event: Event | None,
    who: Who,
) -> None:
    """Confirm the change (and when followers hear of it), or say why nothing changed."""
    lang = language(update)
    if found.person is None:
        await reply_unresolved(update, found, who.label, lang, key=context.services.button_key)
        return
    person = listed_title(found.person, spellings, lang)
    if event is None:
        await reply(update, t(lang, "editor.unchanged", person=person))
    else:
        seconds = int(context.services.grace.total_seconds())
        change = describe_event(event, lang)
        text = t(lang, "editor.saved", person=person, change=change)
        await reply(update, text + "\n" + t(lang, "editor.push_in", count=seconds))


async def undo(update: Update, context: CaseContext) -> None:
    """Take back one's last change while its push has not started."""
    actor_id = _actor(update)
    assert actor_id is not None
    async with session_scope(context.services.engine) as session:
        if not await claim_update(session=session, update_id=update.update_id):
            return
        result = await undo_last_change(session=session, actor_id=actor_id)
        event = result.event
        person = await get_person(session=session, person_id=event.person_id) if event else None
        spellings = await read_spellings(session, [person])
        progress = (
            await push_progress(session=session, event=event)
            if event and result.outcome == UndoOutcome.TOO_LATE
            else None
        )
    tz = context.services.default_tz
    await reply(update, _undo_text(result, person, spellings, progress, tz, language(update)))


def _undo_text(
    result: UndoResult,
    person: Person | None,
    spellings: Spellings,
    progress: PushProgress | None,
    tz: str,
    lang: str,
) -> str:
    """What /undo did, or why it did nothing: too late (and how far the push went), or a
    later change by someone (who, and when) stands in the way."""
    if result.event is None or person is None:
        return t(lang, "undo.nothing")
    said = {
        "person": listed_title(person, spellings, lang),
        "change": describe_event(result.event, lang),
    }
    if result.outcome == UndoOutcome.TOO_LATE and progress is not None:
        return t(lang, "undo.too_late", told=progress.told, waiting=progress.waiting, **said)
    if result.outcome == UndoOutcome.CHANGED_SINCE and result.later is not None:
        actor_id = result.later.actor_id
        who = t(lang, "undo.by_import") if actor_id is None else t(lang, "undo.by", id=actor_id)
        when = format_when(result.later.created_at, tz, lang)
        return t(lang, "undo.changed_since", who=who, when=when, **said)
    return t(lang, "undo.done", **said)


def _actor(update: Update) -> int | None:
    return update.effective_user.id if update.effective_user else None
