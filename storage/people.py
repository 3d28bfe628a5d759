"""People, their cases and hearings, and the editor operations that change them.

Every operation takes the caller's session and never commits: the caller's one
transaction holds the record, its timeline event and its audit entry together.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    AuditEntry,
    Case,
    Event,
    EventKind,
    Hearing,
    HearingStatus,
    Person,
    PersonName,
    PersonSource,
    Visibility,
    utcnow,
)
from storage.names import name_key
from storage.relations import Relation, relations_of
from storage.timeline import IMPORTED, latest_event, load_value, record_change

StatusField = Literal["asylum", "detention"]


@dataclass(frozen=True)
class HearingSlot:
    """A hearing with the case it belongs to and the person on trial."""

    hearing: Hearing
    case: Case
    person: Person


async def get_person(*, session: AsyncSession, person_id: int) -> Person | None:
    return await session.get(Person, person_id)


async def get_person_by_name(*, session: AsyncSession, name: str) -> Person | None:
    """The person whose canonical name is exactly `name`, if any."""
    return (await session.exec(select(Person).where(Person.name == name))).first()


async def spellings_after(
    *, session: AsyncSession, after_id: int, also: Sequence[tuple[int, int]] = ()
) -> Sequence[tuple[int, int, str]]:
    """(row id, person id, spelling) of the spellings stored after row `after_id`, and of
    those with ids in the ranges `also` (from, to: both included), in order of id.

    What a process's name index is built from, and kept up to date with.
    """
    wanted = or_(
        col(PersonName.id) > after_id,
        *(col(PersonName.id).between(low, high) for low, high in also),
    )
    statement = (
        select(PersonName.id, PersonName.person_id, PersonName.spelling)
        .where(wanted)
        .order_by(col(PersonName.id))
    )
    rows = (await session.exec(statement)).all()
    return [(row_id, person_id, spelling) for row_id, person_id, spelling in rows if row_id]


async def spellings_of(*, session: AsyncSession, person_id: int) -> list[str]:
    statement = (
        select(PersonName.spelling)
        .where(PersonName.person_id == person_id)
        .order_by(col(PersonName.id))
    )
    return list((await session.exec(statement)).all())


async def spellings_of_people(
    *, session: AsyncSession, person_ids: Collection[int]
) -> dict[int, list[str]]:
    """Every spelling of each of these people (the canonical name first), by person id."""
    rows = await session.exec(
        select(PersonName.person_id, PersonName.spelling)
        .where(col(PersonName.person_id).in_(person_ids))
        .order_by(col(PersonName.id))
    )
    found: dict[int, list[str]] = {}
    for person_id, spelling in rows.all():
        found.setdefault(person_id, []).append(spelling)
    return found


async def sources_of(*, session: AsyncSession, person_id: int) -> list[str]:
    statement = (
        select(PersonSource.source)
        .where(PersonSource.person_id == person_id)
        .order_by(col(PersonSource.id))
    )
    return list((await session.exec(statement)).all())


async def add_person(
    *,
    session: AsyncSession,
    name: str,
    other_spellings: Sequence[str] = (),
    sources: Sequence[str] = (),
    actor_id: int | None,
    pushed: bool = True,
    grace: timedelta = timedelta(0),
    **fields: Any,
) -> Person:
    """Create a person with every spelling of their name; writes `person_added`."""
    person = Person(name=name, **fields)
    session.add(person)
    await session.flush()
    assert person.id is not None
    spellings = list(dict.fromkeys([name, *other_spellings]))
    for spelling in spellings:
        session.add(PersonName(person_id=person.id, spelling=spelling, key=name_key(spelling)))
    for source in dict.fromkeys(sources):
        session.add(PersonSource(person_id=person.id, source=source))
    await record_change(
        session=session,
        person_id=person.id,
        kind=EventKind.PERSON_ADDED,
        old=None,
        new={"name": name, "spellings": spellings},
        actor_id=actor_id,
        source=sources[0] if sources else None,
        grace=grace,
        pushed=pushed,
    )
    return person


async def add_case(*, session: AsyncSession, person_id: int, **fields: Any) -> Case:
    case = Case(person_id=person_id, **fields)
    session.add(case)
    await session.flush()
    return case


async def add_hearing(*, session: AsyncSession, case_id: int, **fields: Any) -> Hearing:
    hearing = Hearing(case_id=case_id, **fields)
    session.add(hearing)
    await session.flush()
    return hearing


async def current_case(*, session: AsyncSession, person_id: int) -> Case | None:
    """The person's most recent case."""
    statement = (
        select(Case).where(Case.person_id == person_id).order_by(col(Case.id).desc()).limit(1)
    )
    return (await session.exec(statement)).first()


async def next_hearing(
    *, session: AsyncSession, person_id: int, now: datetime | None = None
) -> HearingSlot | None:
    """The person's next scheduled hearing that has not started yet."""
    slots = await _hearing_slots(
        session,
        start=now or utcnow(),
        end=None,
        person_id=person_id,
        include_restricted=True,
        limit=1,
    )
    return slots[0] if slots else None


async def upcoming_hearings(
    *,
    session: AsyncSession,
    start: datetime,
    end: datetime | None,
    include_restricted: bool,
    place: str | None = None,
    limit: int = 20,
) -> list[HearingSlot]:
    """Scheduled hearings in [start, end), soonest first; `place` matches court or city."""
    return await _hearing_slots(
        session,
        start=start,
        end=end,
        person_id=None,
        include_restricted=include_restricted,
        place=place,
        limit=limit,
    )


async def _hearing_slots(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime | None,
    person_id: int | None,
    include_restricted: bool,
    limit: int,
    place: str | None = None,
) -> list[HearingSlot]:
    statement = (
        select(Hearing, Case, Person)
        .join(Case, col(Hearing.case_id) == col(Case.id))
        .join(Person, col(Case.person_id) == col(Person.id))
        .where(Hearing.status == HearingStatus.SCHEDULED, col(Hearing.starts_at) >= start)
        .order_by(col(Hearing.starts_at), col(Hearing.id))
        .limit(limit)
    )
    if end is not None:
        statement = statement.where(col(Hearing.starts_at) < end)
    if person_id is not None:
        statement = statement.where(Case.person_id == person_id)
    if not include_restricted:
        statement = statement.where(Person.visibility == Visibility.PUBLIC)
    if place:
        pattern = f"%{place.lower()}%"
        statement = statement.where(
            col(Case.court).ilike(pattern)
            | col(Case.city).ilike(pattern)
            | col(Hearing.place).ilike(pattern)
        )
    rows = (await session.exec(statement)).all()
    return [HearingSlot(hearing=h, case=c, person=p) for h, c, p in rows]


async def set_status(
    *,
    session: AsyncSession,
    person: Person,
    field: StatusField,
    status: str,
    since: str | None,
    source: str | None,
    actor_id: int | None,
    grace: timedelta,
    verification: str | None = None,
    correction: bool = False,
) -> Event | None:
    """Change a person's asylum or detention status; None when it already is `status`.
    `verification`: how the change is known to be true (a `Verification`; None: not said)."""
    assert person.id is not None
    old = getattr(person, field)
    if old == status:
        return None
    old_since = getattr(person, f"{field}_since")
    old_note = getattr(person, f"{field}_note")
    setattr(person, field, status)
    setattr(person, f"{field}_since", since)
    setattr(person, f"{field}_note", None)
    person.updated_at = utcnow()
    session.add(person)
    if source:
        await _add_source(session, person.id, source)
    kind = EventKind.ASYLUM_CHANGED if field == "asylum" else EventKind.DETENTION_CHANGED
    return await record_change(
        session=session,
        person_id=person.id,
        kind=kind,
        old=None if old is None else {"status": old, "since": old_since, "note": old_note},
        new={"status": status, "since": since},
        actor_id=actor_id,
        source=source,
        verification=verification,
        grace=grace,
        correction=correction,
    )


async def set_hearing(
    *,
    session: AsyncSession,
    person: Person,
    local_start: datetime,
    place: str | None,
    default_tz: str,
    actor_id: int | None,
    grace: timedelta,
    source: str | None = None,
    verification: str | None = None,
    correction: bool = False,
) -> Event:
    """Move the person's next hearing to `local_start` (court's local time), or set a new one.

    The hearing is created on the person's current case (a new case if they have none).
    The event carries the old and the new time, so a push can show both.
    """
    assert person.id is not None
    slot = await next_hearing(session=session, person_id=person.id)
    case = slot.case if slot else await current_case(session=session, person_id=person.id)
    if case is None:
        case = await add_case(session=session, person_id=person.id, tz=default_tz)
    assert case.id is not None
    starts_at = local_start.replace(tzinfo=ZoneInfo(case.tz)).astimezone(UTC)
    if slot is None:
        hearing = await add_hearing(
            session=session, case_id=case.id, starts_at=starts_at, place=place or case.court
        )
        old = None
        kind = EventKind.HEARING_SET
    else:
        hearing = slot.hearing
        old = _hearing_value(hearing, case)
        revise_hearing(
            session=session, hearing=hearing, starts_at=starts_at, place=place or hearing.place
        )
        kind = EventKind.HEARING_MOVED
    return await record_change(
        session=session,
        person_id=person.id,
        kind=kind,
        old=old,
        new=_hearing_value(hearing, case),
        actor_id=actor_id,
        source=source,
        verification=verification,
        grace=grace,
        correction=correction,
    )


# /held takes a scheduled hearing that has begun, or one beginning within this long (a hearing
# held earlier in the day than the time stored for it).
HELD_AHEAD = timedelta(hours=12)


async def last_begun_hearing(
    *, session: AsyncSession, person_id: int, now: datetime | None = None
) -> HearingSlot | None:
    """The person's latest scheduled hearing that has begun (or begins within HELD_AHEAD)."""
    statement = (
        select(Hearing, Case, Person)
        .join(Case, col(Hearing.case_id) == col(Case.id))
        .join(Person, col(Case.person_id) == col(Person.id))
        .where(
            Case.person_id == person_id,
            Hearing.status == HearingStatus.SCHEDULED,
            col(Hearing.starts_at) <= (now or utcnow()) + HELD_AHEAD,
        )
        .order_by(col(Hearing.starts_at).desc(), col(Hearing.id).desc())
        .limit(1)
    )
    row = (await session.exec(statement)).first()
    return None if row is None else HearingSlot(hearing=row[0], case=row[1], person=row[2])


async def cancel_hearing(
    *,
    session: AsyncSession,
    person: Person,
    actor_id: int | None,
    grace: timedelta,
    source: str | None = None,
    verification: str | None = None,
    correction: bool = False,
) -> Event | None:
    """Cancel the person's next scheduled hearing; None (nothing written) if there is none."""
    assert person.id is not None
    slot = await next_hearing(session=session, person_id=person.id)
    if slot is None:
        return None
    return await _end_hearing(
        session,
        slot,
        kind=EventKind.HEARING_CANCELLED,
        status=HearingStatus.CANCELLED,
        outcome=None,
        actor_id=actor_id,
        grace=grace,
        source=source,
        verification=verification,
        correction=correction,
    )


async def mark_hearing_held(
    *,
    session: AsyncSession,
    person: Person,
    outcome: str,
    text: str | None,
    actor_id: int | None,
    grace: timedelta,
    source: str | None = None,
    verification: str | None = None,
    correction: bool = False,
) -> Event | None:
    """Mark the person's latest begun hearing (`last_begun_hearing`) held, with its outcome
    (`adjourned` or `verdict`, and what was said of it); None (nothing written) if there is
    no such hearing. The hearing's `outcome` reads `adjourned: <text>`."""
    assert person.id is not None
    slot = await last_begun_hearing(session=session, person_id=person.id)
    if slot is None:
        return None
    return await _end_hearing(
        session,
        slot,
        kind=EventKind.HEARING_HELD,
        status=HearingStatus.HELD,
        outcome=f"{outcome}: {text}" if text else outcome,
        told={"outcome": outcome, "text": text},
        actor_id=actor_id,
        grace=grace,
        source=source,
        verification=verification,
        correction=correction,
    )


async def _end_hearing(
    session: AsyncSession,
    slot: HearingSlot,
    *,
    kind: EventKind,
    status: HearingStatus,
    outcome: str | None,
    told: dict[str, Any] | None = None,
    actor_id: int | None,
    grace: timedelta,
    source: str | None,
    verification: str | None,
    correction: bool,
) -> Event:
    """A scheduled hearing is cancelled or held: its event keeps the status and outcome it
    had (for /undo), and the new ones with what followers are `told`."""
    hearing, case = slot.hearing, slot.case
    old = {**_hearing_value(hearing, case), "status": hearing.status, "outcome": hearing.outcome}
    revise_hearing(session=session, hearing=hearing, status=status, outcome=outcome)
    new = {**_hearing_value(hearing, case), "status": status, **(told or {})}
    return await record_change(
        session=session,
        person_id=slot.person.id or 0,
        kind=kind,
        old=old,
        new=new,
        actor_id=actor_id,
        source=source,
        verification=verification,
        grace=grace,
        correction=correction,
    )


async def set_verdict(
    *,
    session: AsyncSession,
    person: Person,
    verdict: str,
    sentence: str | None,
    default_tz: str,
    actor_id: int | None,
    grace: timedelta,
    source: str | None = None,
    verification: str | None = None,
    correction: bool = False,
) -> Event | None:
    """Record the verdict (and sentence) of the person's current case (a new case if they
    have none); None when the case has it already."""
    assert person.id is not None
    case = await current_case(session=session, person_id=person.id)
    if case is None:
        case = await add_case(session=session, person_id=person.id, tz=default_tz)
    if (case.verdict, case.sentence) == (verdict, sentence):
        return None
    old = {"case_id": case.id, "verdict": case.verdict, "sentence": case.sentence}
    case.verdict, case.sentence = verdict, sentence
    session.add(case)
    if source:
        await _add_source(session, person.id, source)
    return await record_change(
        session=session,
        person_id=person.id,
        kind=EventKind.VERDICT,
        old=old if old["verdict"] or old["sentence"] else None,
        new={"case_id": case.id, "verdict": verdict, "sentence": sentence},
        actor_id=actor_id,
        source=source,
        verification=verification,
        grace=grace,
        correction=correction,
    )


async def add_note(
    *,
    session: AsyncSession,
    person: Person,
    text: str,
    actor_id: int | None,
    grace: timedelta,
    source: str | None = None,
    verification: str | None = None,
    correction: bool = False,
) -> Event:
    """Anything else followers should know about the person: a `note` on their timeline."""
    assert person.id is not None
    if source:
        await _add_source(session, person.id, source)
    return await record_change(
        session=session,
        person_id=person.id,
        kind=EventKind.NOTE,
        old=None,
        new={"text": text},
        actor_id=actor_id,
        source=source,
        verification=verification,
        grace=grace,
        correction=correction,
    )


def revise_hearing(*, session: AsyncSession, hearing: Hearing, **changes: Any) -> None:
    """Change a hearing's fields, raising its `sequence` when its time, place or status
    changes, so a calendar app that has it moves or cancels it instead of adding a second."""
    revised = any(
        getattr(hearing, name) != value
        for name, value in changes.items()
        if name in ("starts_at", "place", "status")
    )
    for name, value in changes.items():
        setattr(hearing, name, value)
    if revised:
        hearing.sequence += 1
    session.add(hearing)


def _hearing_value(hearing: Hearing, case: Case) -> dict[str, Any]:
    assert hearing.starts_at is not None
    return {
        "hearing_id": hearing.id,
        "starts_at": hearing.starts_at.isoformat(),
        "tz": case.tz,
        "place": hearing.place or case.court,
    }


async def _add_source(session: AsyncSession, person_id: int, source: str) -> None:
    known = await sources_of(session=session, person_id=person_id)
    if source not in known:
        session.add(PersonSource(person_id=person_id, source=source))


async def people_by_ids(
    *, session: AsyncSession, person_ids: Sequence[int], include_restricted: bool
) -> list[Person]:
    """The people with these ids, in the order given; restricted ones only if allowed."""
    if not person_ids:
        return []
    statement = select(Person).where(col(Person.id).in_(person_ids))
    if not include_restricted:
        statement = statement.where(Person.visibility == Visibility.PUBLIC)
    found = {person.id: person for person in (await session.exec(statement)).all()}
    return [found[person_id] for person_id in person_ids if person_id in found]


@dataclass(frozen=True)
class PersonCard:
    """Everything the person card shows."""

    person: Person
    spellings: list[str]
    sources: list[str]
    case: Case | None
    next_hearing: HearingSlot | None
    last_event: Event | None
    relations: Sequence[Relation] = ()
    appealed: Case | None = None  # the case the current one appeals


async def load_person_card(*, session: AsyncSession, person: Person) -> PersonCard:
    assert person.id is not None
    case = await current_case(session=session, person_id=person.id)
    return PersonCard(
        person=person,
        spellings=await spellings_of(session=session, person_id=person.id),
        sources=await sources_of(session=session, person_id=person.id),
        case=case,
        next_hearing=await next_hearing(session=session, person_id=person.id),
        last_event=await latest_event(session=session, person_id=person.id),
        relations=await relations_of(session=session, person_id=person.id),
        appealed=(await session.get(Case, case.appeal_of) if case and case.appeal_of else None),
    )


UNDOABLE = (
    EventKind.ASYLUM_CHANGED,
    EventKind.DETENTION_CHANGED,
    EventKind.HEARING_SET,
    EventKind.HEARING_MOVED,
    EventKind.HEARING_CANCELLED,
    EventKind.HEARING_HELD,
    EventKind.VERDICT,
    EventKind.NOTE,
)
HEARING_CHANGES = (
    EventKind.HEARING_SET,
    EventKind.HEARING_MOVED,
    EventKind.HEARING_CANCELLED,
    EventKind.HEARING_HELD,
)
# How often /undo looks again when a concurrent /undo of the same editor took its change first.
UNDO_ATTEMPTS = 3


class UndoOutcome(StrEnum):
    UNDONE = "undone"  # the record has its old value back; nothing is sent about the change
    NOTHING = "nothing"  # the actor has no change /undo could take back
    TOO_LATE = "too_late"  # its push has started: the change stands
    CHANGED_SINCE = "changed_since"  # a later change to the same field stands in the way
    NOT_UNDOABLE = "not_undoable"  # the last change is of a record field: edited again instead


@dataclass(frozen=True)
class UndoResult:
    """What /undo came to, with the change meant and, if any, the later change in the way."""

    outcome: UndoOutcome
    event: Event | None = None
    later: Event | None = None


async def undo_last_change(
    *, session: AsyncSession, actor_id: int, event_id: int | None = None
) -> UndoResult:
    """Take back `actor_id`'s last change (or their change `event_id`: an Undo button)
    unless its push has started or a later change to the same field stands (all in the
    caller's transaction).

    The change is cancelled by a conditional update (`expanded_at IS NULL AND NOT cancelled`)
    racing the outbox's own conditional claim, so exactly one of the two wins. The record's
    row is locked first, so a concurrent change to it is either seen here or made after.
    """
    for _ in range(UNDO_ATTEMPTS):
        event = await _last_change(session, actor_id, event_id)
        if event is None:
            return UndoResult(UndoOutcome.NOTHING)
        if event.kind not in UNDOABLE:
            return UndoResult(UndoOutcome.NOT_UNDOABLE, event)
        if event.expanded_at is not None:
            return UndoResult(UndoOutcome.TOO_LATE, event)
        record = await _lock_record(session, event)
        later = await _later_change(session, event)
        if later is not None:
            return UndoResult(UndoOutcome.CHANGED_SINCE, event, later)
        if await _cancel(session, event):
            await _restore(session, event, record)
            session.add(
                AuditEntry(
                    actor_id=actor_id,
                    action="undo",
                    person_id=event.person_id,
                    detail=str(event.id),
                )
            )
            return UndoResult(UndoOutcome.UNDONE, event)
        # The outbox claimed it, or another /undo cancelled it, since it was read: look again.
    return UndoResult(UndoOutcome.NOTHING)


async def _last_change(session: AsyncSession, actor_id: int, event_id: int | None) -> Event | None:
    """The actor's latest change (or change `event_id`) not taken back yet: of a kind /undo
    takes back, or a record field's change (which it does not, and says so rather than take
    back an older change instead)."""
    statement = (
        select(Event)
        .where(
            Event.actor_id == actor_id,
            col(Event.cancelled).is_(False),
            col(Event.kind).in_((*UNDOABLE, EventKind.RECORD_CHANGED)),
            ~col(Event.dedup_key).startswith(IMPORTED),  # an import is not taken back
        )
        .order_by(col(Event.id).desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )
    if event_id is not None:
        statement = statement.where(col(Event.id) == event_id)
    return (await session.exec(statement)).first()


async def make_correction(*, session: AsyncSession, event: Event, actor_id: int) -> bool:
    """Keep a change but tell nobody of it (a typo fixed): it becomes a correction, unless its
    push has started or it was taken back. The same conditional update as /undo's cancel
    races the outbox's claim, so exactly one of the two wins."""
    now = utcnow()
    result = await session.exec(
        update(Event)
        .where(
            col(Event.id) == event.id,
            col(Event.expanded_at).is_(None),
            col(Event.cancelled).is_(False),
        )
        .values(correction=True, expanded_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    set_committed_value(event, "correction", True)
    set_committed_value(event, "expanded_at", now)
    session.add(
        AuditEntry(
            actor_id=actor_id,
            action="made_correction",
            person_id=event.person_id,
            detail=str(event.id),
            at=now,
        )
    )
    return True


def _field_of(event: Event) -> str:
    return "asylum" if event.kind == EventKind.ASYLUM_CHANGED else "detention"


def _hearing_of(event: Event) -> int | None:
    return load_value(event.new_value).get("hearing_id") or load_value(event.old_value).get(
        "hearing_id"
    )


async def _lock_record(session: AsyncSession, event: Event) -> Person | Hearing | Case | None:
    """The record the change changed, locked for update: the hearing (a hearing change), the
    case (a verdict), else the person (a status change; a note changes only the timeline)."""
    if event.kind in HEARING_CHANGES:
        hearing_id = _hearing_of(event)
        if hearing_id is None:
            return None
        return await session.get(Hearing, hearing_id, with_for_update=True, populate_existing=True)
    if event.kind == EventKind.VERDICT:
        case_id = load_value(event.new_value).get("case_id")
        if case_id is None:
            return None
        return await session.get(Case, case_id, with_for_update=True, populate_existing=True)
    return await session.get(Person, event.person_id, with_for_update=True, populate_existing=True)


async def _later_change(session: AsyncSession, event: Event) -> Event | None:
    """The latest change to the same field made after `event` and not taken back, if any
    (a note replaces nothing: none stands in its way)."""
    if event.kind == EventKind.NOTE:
        return None
    kinds = HEARING_CHANGES if event.kind in HEARING_CHANGES else (event.kind,)
    statement = (
        select(Event)
        .where(
            Event.person_id == event.person_id,
            col(Event.id) > event.id,
            col(Event.cancelled).is_(False),
            col(Event.kind).in_(kinds),
        )
        .order_by(col(Event.id).desc())
    )
    hearing_id = _hearing_of(event)
    for later in (await session.exec(statement)).all():
        if event.kind not in HEARING_CHANGES or _hearing_of(later) == hearing_id:
            return later
    return None


async def _cancel(session: AsyncSession, event: Event) -> bool:
    """Cancel the change if its push has not started; False if the outbox (or another
    /undo) got there first."""
    result = await session.exec(
        update(Event)
        .where(
            col(Event.id) == event.id,
            col(Event.expanded_at).is_(None),
            col(Event.cancelled).is_(False),
        )
        .values(cancelled=True)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    set_committed_value(event, "cancelled", True)
    return True


async def _restore(
    session: AsyncSession, event: Event, record: Person | Hearing | Case | None
) -> None:
    """Give the record the old value the change replaced (a note: nothing to give back)."""
    old = load_value(event.old_value)
    if event.kind == EventKind.NOTE:
        return
    if isinstance(record, Case):
        record.verdict, record.sentence = old.get("verdict"), old.get("sentence")
        session.add(record)
    elif isinstance(record, Person):
        field = _field_of(event)
        setattr(record, field, old.get("status"))
        setattr(record, f"{field}_since", old.get("since"))
        setattr(record, f"{field}_note", old.get("note"))
        record.updated_at = utcnow()
        session.add(record)
    elif isinstance(record, Hearing):
        if not old:  # the hearing was new: it goes again
            await session.delete(record)
            return
        # A cancelled or held hearing is scheduled again, without the outcome.
        ended = {"status": old["status"], "outcome": old.get("outcome")} if "status" in old else {}
        revise_hearing(
            session=session,
            hearing=record,
            starts_at=datetime.fromisoformat(old["starts_at"]),
            place=old.get("place"),
            **ended,
        )
