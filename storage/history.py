"""A person's history as readers see it: the timeline a page at a time, and their hearings.

History is what happened to the person: a change taken back by /undo is not history, nor is
a reminder. Pages are read by keyset on the event id (newest first) through the index on
`event.person_id`, so a page costs the same on the first page and the thousandth.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Case, Event, EventKind, Hearing, HearingStatus

HISTORY_PAGE = 10
# How many hearings of each kind (still to come, gone by) a person's list shows.
UPCOMING_HEARINGS = 10
PAST_HEARINGS = 5


@dataclass(frozen=True)
class HistoryPage:
    """One page of a person's history, newest first, and whether there is more each way."""

    events: list[Event]
    newer: bool
    older: bool


def _in_history(person_id: int) -> list[ColumnElement[bool]]:
    return [
        col(Event.person_id) == person_id,
        col(Event.cancelled).is_(False),
        col(Event.kind) != EventKind.REMINDER,
    ]


async def history_page(
    *,
    session: AsyncSession,
    person_id: int,
    before: int | None = None,
    after: int | None = None,
    size: int = HISTORY_PAGE,
) -> HistoryPage:
    """The newest entries; or, with `before`, those just older than that event; or, with
    `after`, those just newer than it. Empty when there are none that way."""
    statement = select(Event).where(*_in_history(person_id))
    if after is not None:
        rows = await session.exec(
            statement.where(col(Event.id) > after).order_by(col(Event.id)).limit(size + 1)
        )
        found = list(rows.all())
        events = found[:size][::-1]
        newer = len(found) > size
        older = bool(events) and await _any(session, person_id, older_than=events[-1].id)
        return HistoryPage(events=events, newer=newer, older=older)
    if before is not None:
        statement = statement.where(col(Event.id) < before)
    found = list(
        (await session.exec(statement.order_by(col(Event.id).desc()).limit(size + 1))).all()
    )
    events = found[:size]
    # The first page is the newest: only a page further back has newer entries.
    newer = before is not None and bool(events)
    newer = newer and await _any(session, person_id, newer_than=events[0].id)
    return HistoryPage(events=events, newer=newer, older=len(found) > size)


async def _any(
    session: AsyncSession,
    person_id: int,
    *,
    older_than: int | None = None,
    newer_than: int | None = None,
) -> bool:
    statement = select(Event.id).where(*_in_history(person_id)).limit(1)
    if older_than is not None:
        statement = statement.where(col(Event.id) < older_than)
    if newer_than is not None:
        statement = statement.where(col(Event.id) > newer_than)
    return (await session.exec(statement)).first() is not None


@dataclass(frozen=True)
class PersonHearings:
    """A person's hearings: those still to come (soonest first), and the last ones gone by
    (latest first); each with the case it belongs to."""

    upcoming: list[tuple[Hearing, Case]]
    past: list[tuple[Hearing, Case]]


async def hearings_of(
    *,
    session: AsyncSession,
    person_id: int,
    now: datetime,
    upcoming: int = UPCOMING_HEARINGS,
    past: int = PAST_HEARINGS,
) -> PersonHearings:
    """A hearing known only in words (no start time) counts as to come while it is
    scheduled or postponed, and as gone by once held or cancelled."""
    waiting = col(Hearing.status).in_([HearingStatus.SCHEDULED, HearingStatus.POSTPONED])
    to_come = or_(col(Hearing.starts_at) >= now, and_(col(Hearing.starts_at).is_(None), waiting))
    gone_by = or_(col(Hearing.starts_at) < now, and_(col(Hearing.starts_at).is_(None), ~waiting))
    statement = (
        select(Hearing, Case)
        .join(Case, col(Hearing.case_id) == col(Case.id))
        .where(col(Case.person_id) == person_id)
    )
    ahead = await session.exec(
        statement.where(to_come)
        .order_by(col(Hearing.starts_at).asc().nulls_last(), col(Hearing.id))
        .limit(upcoming)
    )
    behind = await session.exec(
        statement.where(gone_by)
        .order_by(col(Hearing.starts_at).desc().nulls_last(), col(Hearing.id).desc())
        .limit(past)
    )
    return PersonHearings(
        upcoming=[(h, c) for h, c in ahead.all()], past=[(h, c) for h, c in behind.all()]
    )
