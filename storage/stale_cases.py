"""Cases nobody has touched for a long time, for the weekly "needs a check" note to editors.

A case is stale when its person has had no change for STALE_AFTER (no event but reminders,
none taken back by /undo) and the case itself is at least that old. Closed cases are left
out; restricted people are in (the note goes to editors only). Each case is listed on its own
(a person with two open cases has two lines), those untouched longest first.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case as when_then
from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Admin, Case, CaseStage, Chat, Event, EventKind, Person
from storage.visibility import KEEPERS

STALE_AFTER = timedelta(days=90)
STALE_LISTED = 30


@dataclass(frozen=True)
class StaleCase:
    case: Case
    person: Person
    last_change: datetime  # the person's last change, or the case's creation if later


@dataclass(frozen=True)
class StaleCases:
    """The stalest cases (at most the limit asked for), and how many there are in all."""

    cases: list[StaleCase]
    total: int


async def stale_cases(
    *,
    session: AsyncSession,
    now: datetime,
    after: timedelta = STALE_AFTER,
    limit: int = STALE_LISTED,
) -> StaleCases:
    """The open cases with no change since `now - after` (that moment itself included)."""
    since = now - after
    changed = (
        select(col(Event.person_id), func.max(Event.created_at).label("at"))
        .where(col(Event.kind) != EventKind.REMINDER, col(Event.cancelled).is_(False))
        .group_by(col(Event.person_id))
        .subquery()
    )
    last_change = when_then(
        (changed.c.at > col(Case.created_at), changed.c.at), else_=col(Case.created_at)
    )
    statement = (
        select(Case, Person, changed.c.at, func.count().over())
        .join(Person, col(Person.id) == col(Case.person_id))
        .join(changed, changed.c.person_id == col(Case.person_id), isouter=True)
        .where(
            col(Case.created_at) <= since,
            or_(changed.c.at.is_(None), changed.c.at <= since),
            or_(col(Case.stage).is_(None), func.lower(col(Case.stage)) != CaseStage.CLOSED),
        )
        .order_by(last_change, col(Case.id))
        .limit(limit)
    )
    rows = (await session.exec(statement)).all()
    cases = [
        StaleCase(
            case=case,
            person=person,
            last_change=max(at, case.created_at) if at else case.created_at,
        )
        for case, person, at, _ in rows
    ]
    return StaleCases(cases=cases, total=rows[0][3] if rows else 0)


async def keepers_to_tell(*, session: AsyncSession) -> list[tuple[int, Chat | None]]:
    """Each owner and editor, with their private chat if the bot has it stored; those whose
    chat is stored as gone (the bot blocked) are left out."""
    statement = (
        select(Admin.user_id, Chat)
        .join(Chat, col(Chat.id) == col(Admin.user_id), isouter=True)
        .where(col(Admin.role).in_(KEEPERS), or_(col(Chat.id).is_(None), col(Chat.active)))
        .order_by(col(Admin.user_id))
    )
    return [(user_id, chat) for user_id, chat in (await session.exec(statement)).all()]
