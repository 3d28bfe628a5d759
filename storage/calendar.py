"""The hearings a calendar file holds: of the people a chat follows, or of one person."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.following import followed_person_ids
from storage.models import Case, Hearing, HearingStatus, Person
from storage.people import HearingSlot, spellings_of_people

# A hearing stays in the file this long after it began: a cancellation or a move of a
# hearing just past still reaches the calendar apps that have it.
KEPT_AFTER = timedelta(days=30)
# At most this many hearings in one file, the earliest first.
MAX_HEARINGS = 500


@dataclass(frozen=True)
class CalendarHearings:
    """The hearings with a time, earliest first, and how many more are known only by a date
    in words (`Hearing.date_note`): a calendar cannot place those. With every spelling of
    the people in them, by person id (to show each reader the name in their script)."""

    slots: list[HearingSlot]
    undated: int
    spellings: dict[int, list[str]]


async def followed_hearings(
    *, session: AsyncSession, chat_id: int, include_restricted: bool, now: datetime
) -> CalendarHearings:
    """The hearings of everyone chat `chat_id` follows, from KEPT_AFTER before `now` on."""
    people = followed_person_ids(chat_id=chat_id, include_restricted=include_restricted)
    return await _hearings(session, col(Case.person_id).in_(people), now)


async def person_hearings(
    *, session: AsyncSession, person_id: int, now: datetime
) -> CalendarHearings:
    """One person's hearings, from KEPT_AFTER before `now` on (visibility is the caller's)."""
    return await _hearings(
        session, col(Case.person_id) == person_id, now, also=frozenset({person_id})
    )


async def _hearings(
    session: AsyncSession,
    whose: ColumnElement[bool],
    now: datetime,
    also: frozenset[int] = frozenset(),
) -> CalendarHearings:
    """The hearings of the people `whose` picks; spellings of them and of the people `also`."""
    statement = (
        select(Hearing, Case, Person)
        .join(Case, col(Hearing.case_id) == col(Case.id))
        .join(Person, col(Case.person_id) == col(Person.id))
        .where(whose, col(Hearing.starts_at) >= now - KEPT_AFTER)
        .order_by(col(Hearing.starts_at), col(Hearing.id))
        .limit(MAX_HEARINGS)
    )
    rows = (await session.exec(statement)).all()
    undated = (
        select(func.count())
        .select_from(Hearing)
        .join(Case, col(Hearing.case_id) == col(Case.id))
        .where(
            whose,
            col(Hearing.starts_at).is_(None),
            col(Hearing.status) == HearingStatus.SCHEDULED,
        )
    )
    people = also | {person.id for _, _, person in rows if person.id is not None}
    return CalendarHearings(
        slots=[HearingSlot(hearing=h, case=c, person=p) for h, c, p in rows],
        undated=(await session.exec(undated)).one(),
        spellings=await spellings_of_people(session=session, person_ids=people),
    )
