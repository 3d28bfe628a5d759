"""The hearings a calendar file holds: of the people a chat follows, or of one person."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Case,
    Hearing,
    HearingStatus,
    Person,
    Subscription,
    SubscriptionScope,
    Visibility,
)
from storage.people import HearingSlot

# A hearing stays in the file this long after it began: a cancellation or a move of a
# hearing just past still reaches the calendar apps that have it.
KEPT_AFTER = timedelta(days=30)
# At most this many hearings in one file, the earliest first.
MAX_HEARINGS = 500


@dataclass(frozen=True)
class CalendarHearings:
    """The hearings with a time, earliest first, and how many more are known only by a date
    in words (`Hearing.date_note`): a calendar cannot place those."""

    slots: list[HearingSlot]
    undated: int


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
    return await _hearings(session, col(Case.person_id) == person_id, now)


async def _hearings(
    session: AsyncSession, whose: ColumnElement[bool], now: datetime
) -> CalendarHearings:
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
    return CalendarHearings(
        slots=[HearingSlot(hearing=h, case=c, person=p) for h, c, p in rows],
        undated=(await session.exec(undated)).one(),
    )


def followed_person_ids(*, chat_id: int, include_restricted: bool) -> Select[tuple[int]]:
    """The ids of the people the chat follows, muted or not, for `IN (…)`: by name, and of
    public people also through everyone or the court or city of any of their cases.

    The same rule and signature as `followed_person_ids` of branch `follows` in
    storage/following.py: once that is in, this goes and that is imported instead.
    """
    follows = col(Subscription.chat_id) == chat_id
    by_name = select(Subscription.person_id).where(
        follows, col(Subscription.scope) == SubscriptionScope.PERSON
    )
    everyone = exists().where(follows, col(Subscription.scope) == SubscriptionScope.ALL)
    at_place = (
        select(Case.person_id)
        .join(Subscription, follows)
        .where(
            or_(
                and_(
                    col(Subscription.scope) == SubscriptionScope.COURT,
                    col(Subscription.place) == col(Case.court),
                ),
                and_(
                    col(Subscription.scope) == SubscriptionScope.CITY,
                    col(Subscription.place) == col(Case.city),
                ),
            )
        )
    )
    public = col(Person.visibility) == Visibility.PUBLIC
    statement = select(Person.id).where(
        or_(col(Person.id).in_(by_name), and_(public, or_(everyone, col(Person.id).in_(at_place))))
    )
    if not include_restricted:
        statement = statement.where(public)
    return statement  # type: ignore[return-value]
