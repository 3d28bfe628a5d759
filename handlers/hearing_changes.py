"""Editor commands about how a case goes on: /cancelhearing, /held (a hearing gone by, and
how it ended), /setverdict and /note. Each is a `ChangeCommand` of handlers/changes.py: usage,
candidates as buttons, preview with Undo and Don't notify, `--silent` and provenance words.
"""

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.changes import ChangeCommand, Editor, Unchangeable
from handlers.parsing import (
    HeldArgs,
    NoteArgs,
    VerdictArgs,
    WhoArgs,
    parse_cancelhearing,
    parse_held,
    parse_note,
    parse_setverdict,
)
from storage.models import Event, Person
from storage.people import add_note, cancel_hearing, mark_hearing_held, set_verdict


async def _cancel(session: AsyncSession, person: Person, args: WhoArgs, editor: Editor) -> Event:
    event = await cancel_hearing(session=session, person=person, **editor.made(args))
    if event is None:
        raise Unchangeable("hearing.none_to_cancel")
    return event


async def _held(session: AsyncSession, person: Person, args: HeldArgs, editor: Editor) -> Event:
    event = await mark_hearing_held(
        session=session,
        person=person,
        outcome=args.outcome,
        text=args.text,
        **editor.made(args),
    )
    if event is None:
        raise Unchangeable("hearing.none_held")
    return event


async def _verdict(
    session: AsyncSession, person: Person, args: VerdictArgs, editor: Editor
) -> Event | None:
    return await set_verdict(
        session=session,
        person=person,
        verdict=args.verdict,
        sentence=args.sentence,
        default_tz=editor.services.default_tz,
        **editor.made(args),
    )


async def _note(session: AsyncSession, person: Person, args: NoteArgs, editor: Editor) -> Event:
    return await add_note(session=session, person=person, text=args.text, **editor.made(args))


HEARING_COMMANDS: tuple[ChangeCommand[Any], ...] = (
    ChangeCommand(name="cancelhearing", parse=parse_cancelhearing, apply=_cancel),
    ChangeCommand(name="held", parse=parse_held, apply=_held),
    ChangeCommand(name="setverdict", parse=parse_setverdict, apply=_verdict),
    ChangeCommand(name="note", parse=parse_note, apply=_note),
)
