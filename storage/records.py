"""The rest of a person's record: facts about them, the fields of their current case, other
spellings of their name, their relations to other people, and an appeal.

Each change writes the record, its `record_changed` event ({field, old, new}) and its audit
entry in the caller's one transaction, and returns the event; None when the record already
says so (nothing to change). Visibility is changed by storage/visibility.py.
"""

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    CaseStage,
    Event,
    EventKind,
    Person,
    PersonName,
    PersonRelation,
    RelationKind,
    Visibility,
    utcnow,
)
from storage.names import name_key
from storage.people import add_case, current_case
from storage.timeline import record_change

PersonField = Literal["birth_year", "age_note", "citizenship", "origin", "location"]
CaseField = Literal["court", "city", "charge", "case_number", "stage", "lawyer"]
PERSON_FIELDS: tuple[PersonField, ...] = (
    "birth_year",
    "age_note",
    "citizenship",
    "origin",
    "location",
)
# `lawyer`: only a lawyer named in public is stored (the card shows it to everyone).
CASE_FIELDS: tuple[CaseField, ...] = ("court", "city", "charge", "case_number", "stage", "lawyer")
# The `field` of a record_changed event for a spelling added or removed, a relation, an appeal.
SPELLING = "spelling"
APPEAL = "appeal"
APPEAL_STAGES = (CaseStage.APPEAL, CaseStage.CASSATION)


@dataclass(frozen=True)
class MadeBy:
    """Who makes a change, its grace window, and where it comes from (the keywords every
    change of storage/people.py takes)."""

    actor_id: int | None
    grace: timedelta
    source: str | None = None
    verification: str | None = None
    correction: bool = False


async def _changed(
    session: AsyncSession,
    person: Person,
    field: str,
    old: Any,
    new: Any,
    by: MadeBy,
    **more: Any,
) -> Event:
    """The event and audit entry of one change of `field` (old → new)."""
    assert person.id is not None
    person.updated_at = utcnow()
    session.add(person)
    return await record_change(
        session=session,
        person_id=person.id,
        kind=EventKind.RECORD_CHANGED,
        old={"field": field, "value": old, **more} if old is not None else None,
        new={"field": field, "old": old, "new": new, **more},
        actor_id=by.actor_id,
        source=by.source,
        verification=by.verification,
        grace=by.grace,
        correction=by.correction,
    )


async def set_person_field(
    *,
    session: AsyncSession,
    person: Person,
    field: PersonField,
    value: str | int | None,
    by: MadeBy,
) -> Event | None:
    """Change one fact about a person (None clears it)."""
    if field not in PERSON_FIELDS:
        raise ValueError(f"not a person field: {field}")
    old = getattr(person, field)
    if old == value:
        return None
    setattr(person, field, value)
    return await _changed(session, person, field, old, value, by)


async def set_case_field(
    *,
    session: AsyncSession,
    person: Person,
    field: CaseField,
    value: str | None,
    default_tz: str,
    by: MadeBy,
) -> Event | None:
    """Change one field of the person's current case (a case is opened if they have none)."""
    if field not in CASE_FIELDS:
        raise ValueError(f"not a case field: {field}")
    if field == "stage" and value is not None:
        value = CaseStage(value).value
    assert person.id is not None
    case = await current_case(session=session, person_id=person.id)
    old = getattr(case, field) if case is not None else None
    if old == value:
        return None
    if case is None:
        case = await add_case(session=session, person_id=person.id, tz=default_tz)
    setattr(case, field, value)
    session.add(case)
    return await _changed(session, person, field, old, value, by)


async def add_spelling(
    *, session: AsyncSession, person: Person, spelling: str, by: MadeBy
) -> Event | None:
    """One more spelling of the person's name (found by lookups at once: the name index of
    every process catches up by row id)."""
    assert person.id is not None
    spelling = " ".join(spelling.split())
    known = await _spellings(session, person.id)
    if not spelling or spelling in known:
        return None
    session.add(PersonName(person_id=person.id, spelling=spelling, key=name_key(spelling)))
    return await _changed(session, person, SPELLING, None, spelling, by)


async def remove_spelling(
    *, session: AsyncSession, person: Person, spelling: str, by: MadeBy
) -> Event | None:
    """Forget one spelling (never the canonical name). The name indexes of the processes
    notice the spelling gone the next time it matches (handlers/who.py `search_people`)."""
    assert person.id is not None
    if spelling == person.name or spelling not in await _spellings(session, person.id):
        return None
    await session.exec(
        delete(PersonName).where(
            col(PersonName.person_id) == person.id, col(PersonName.spelling) == spelling
        )
    )
    return await _changed(session, person, SPELLING, spelling, None, by)


async def _spellings(session: AsyncSession, person_id: int) -> list[str]:
    statement = select(PersonName.spelling).where(col(PersonName.person_id) == person_id)
    return list((await session.exec(statement)).all())


def _relation_value(other: Person, kind: RelationKind, note: str | None) -> dict[str, Any]:
    """What the timeline says of a relation. The timeline of a public person is public: a
    restricted person on the other side is not named there (nor their id, nor the note)."""
    if other.visibility != Visibility.PUBLIC:
        return {"person_id": None, "name": None, "kind": kind.value, "note": None}
    return {"person_id": other.id, "name": other.name, "kind": kind.value, "note": note}


def _relation_told(other: Person, by: MadeBy) -> MadeBy:
    """A relation to a restricted person is a correction: nobody is told of it."""
    if other.visibility == Visibility.PUBLIC:
        return by
    return replace(by, correction=True)


async def add_relation(
    *,
    session: AsyncSession,
    person: Person,
    other: Person,
    kind: RelationKind,
    note: str | None,
    by: MadeBy,
) -> Event | None:
    """Link two people (co-defendants, relatives); a new note replaces the old one."""
    assert person.id is not None and other.id is not None
    if person.id == other.id:
        return None
    row = await _relation_row(session, person.id, other.id, kind)
    if row is not None and row.note == note:
        return None
    old = None if row is None else _relation_value(other, kind, row.note)
    if row is None:
        low, high = sorted((person.id, other.id))
        row = PersonRelation(person_id=low, other_id=high, kind=kind.value)
    row.note = note
    session.add(row)
    new = _relation_value(other, kind, note)
    return await _changed(session, person, kind.value, old, new, _relation_told(other, by))


async def remove_relation(
    *,
    session: AsyncSession,
    person: Person,
    other: Person,
    kind: RelationKind,
    by: MadeBy,
) -> Event | None:
    """Unlink two people."""
    assert person.id is not None and other.id is not None
    row = await _relation_row(session, person.id, other.id, kind)
    if row is None:
        return None
    old = _relation_value(other, kind, row.note)
    await session.delete(row)
    return await _changed(session, person, kind.value, old, None, _relation_told(other, by))


async def _relation_row(
    session: AsyncSession, person_id: int, other_id: int, kind: RelationKind
) -> PersonRelation | None:
    low, high = sorted((person_id, other_id))
    statement = select(PersonRelation).where(
        col(PersonRelation.person_id) == low,
        col(PersonRelation.other_id) == high,
        col(PersonRelation.kind) == kind.value,
    )
    return (await session.exec(statement)).first()


# What an appeal takes over from the case it appeals. The verdict stays with that case, and
# so does the city: a higher court usually sits elsewhere (`city` says where, if known).
_CARRIED_OVER = ("tz", "charge", "lawyer")


async def start_appeal(
    *,
    session: AsyncSession,
    person: Person,
    court: str,
    stage: CaseStage,
    default_tz: str,
    by: MadeBy,
    city: str | None = None,
) -> Event | None:
    """Open an appeal (or cassation) at `court`: a new case linked to the current one
    (`appeal_of`), which becomes the person's current case, so the next hearing set is the
    appeal's. Follows are by person (or by court or city, read at fan-out time): whoever
    follows the person follows the appeal. None if the current case is already that appeal."""
    if stage not in APPEAL_STAGES:
        raise ValueError(f"not an appeal stage: {stage}")
    assert person.id is not None
    appealed = await current_case(session=session, person_id=person.id)
    if appealed is not None and appealed.court == court and appealed.stage == stage:
        return None
    fields: dict[str, Any] = (
        {name: getattr(appealed, name) for name in _CARRIED_OVER}
        if appealed is not None
        else {"tz": default_tz}
    )
    fields.update(court=court, stage=stage.value)
    if city is not None:
        fields["city"] = city
    case = await add_case(
        session=session,
        person_id=person.id,
        appeal_of=appealed.id if appealed is not None else None,
        **fields,
    )
    old = (
        None
        if appealed is None
        else {"case_id": appealed.id, "court": appealed.court, "stage": appealed.stage}
    )
    new = {"case_id": case.id, "court": court, "stage": stage.value}
    return await _changed(session, person, APPEAL, old, new, by)
