"""The timeline: every change writes its event and its audit entry with it."""

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import delete, update
from sqlmodel import SQLModel, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import insert_or_ignore
from storage.models import (
    AuditEntry,
    Delivery,
    DeliveryState,
    Event,
    EventKind,
    ProcessedUpdate,
    utcnow,
)

# How long an applied update id is remembered (a redelivery comes within minutes).
KEEP_PROCESSED_UPDATES = timedelta(days=2)


def _dump(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def load_value(raw: str | None) -> dict[str, Any]:
    """The structured old or new value of an event (empty when there is none)."""
    return json.loads(raw) if raw else {}


# The dedup keys of the events an import writes start so: /undo does not take an import back.
IMPORTED = "import:"
# Changes told as one net change when several of them to one subject leave together (a hearing
# by id, a status), so that followers read old → final (handlers/render.py `net_changes`).
NETTED_HEARING_KINDS = (EventKind.HEARING_SET, EventKind.HEARING_MOVED)
NETTED_STATUS_KINDS = (EventKind.ASYLUM_CHANGED, EventKind.DETENTION_CHANGED)


def change_subject(kind: str, new_value: str | None) -> tuple[str, object] | None:
    """What a change changes, when later changes leaving with it net with it: one hearing (by
    id), or one status; None for anything else (each told as it is)."""
    if kind in NETTED_HEARING_KINDS:
        hearing_id = load_value(new_value).get("hearing_id")
        return None if hearing_id is None else ("hearing", hearing_id)
    if kind in NETTED_STATUS_KINDS:
        return ("status", kind)
    return None


async def insert_ignoring_conflicts(
    session: AsyncSession, model: type[SQLModel], rows: list[dict[str, Any]]
) -> int:
    """Insert the rows that do not collide with existing ones; returns how many were new."""
    if not rows:
        return 0
    result = await session.exec(insert_or_ignore(session, model).values(rows))
    return int(result.rowcount or 0)


async def claim_update(*, session: AsyncSession, update_id: int | None) -> bool:
    """Remember a Telegram update as applied; False if it was applied before.

    Called in the same transaction as the change it guards, so a redelivered
    update (after a crash or a webhook retry) changes nothing the second time.
    """
    if update_id is None:
        return True
    return (
        await insert_ignoring_conflicts(session, ProcessedUpdate, [{"update_id": update_id}]) == 1
    )


async def update_was_applied(*, session: AsyncSession, update_id: int) -> bool:
    """Whether a change made by this Telegram update was committed (see `claim_update`)."""
    return await session.get(ProcessedUpdate, update_id) is not None


async def forget_processed_updates(
    *, session: AsyncSession, now: datetime, keep: timedelta = KEEP_PROCESSED_UPDATES
) -> int:
    """Forget update ids applied longer ago than `keep`; returns how many.

    A redelivered update comes within minutes, and Telegram may start its update ids afresh
    after a week without updates: an id kept for ever could one day refuse a new command.
    """
    result = await session.exec(
        delete(ProcessedUpdate).where(col(ProcessedUpdate.at) < now - keep)
    )
    return int(result.rowcount or 0)


async def record_change(
    *,
    session: AsyncSession,
    person_id: int,
    kind: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    actor_id: int | None,
    source: str | None = None,
    verification: str | None = None,
    grace: timedelta = timedelta(0),
    now: datetime | None = None,
    pushed: bool = True,
    correction: bool = False,
    dedup_key: str | None = None,
) -> Event:
    """Write the timeline event and the audit entry of one change (no commit).

    `pushed=False` records history that is not to be sent (e.g. demo records, an import);
    `correction` is an editor's --silent fix: not sent either, and marked so in the history.
    """
    now = now or utcnow()
    subject = change_subject(kind, _dump(new))
    if correction and pushed and subject and await _waiting_about(session, person_id, subject):
        # A typo in a change still waiting to go out: the correction leaves with it, so that
        # followers are told the corrected value (once), not the typo.
        correction = False
    pushed = pushed and not correction
    event = Event(
        **event_row(
            person_id=person_id,
            kind=kind,
            old=old,
            new=new,
            actor_id=actor_id,
            source=source,
            verification=verification,
            correction=correction,
            now=now,
            not_before=now + grace,
            pushed=pushed,
            dedup_key=dedup_key or f"{kind}:{uuid4().hex}",
        )
    )
    if pushed:
        await hold_together(session, [person_id], now, event.not_before)
    session.add(event)
    session.add(
        AuditEntry(
            **audit_row(
                actor_id=actor_id,
                action=kind,
                person_id=person_id,
                old=old,
                new=new,
                source=source,
                verification=verification,
                correction=correction,
                now=now,
            )
        )
    )
    await session.flush()
    return event


def event_row(
    *,
    person_id: int | None,
    kind: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    actor_id: int | None,
    source: str | None,
    verification: str | None,
    correction: bool,
    now: datetime,
    not_before: datetime,
    pushed: bool,
    dedup_key: str,
) -> dict[str, Any]:
    """The timeline event of one change, as a row (`record_change` makes one; an import
    inserts many at once)."""
    return {
        "person_id": person_id,
        "kind": str(kind),
        "old_value": _dump(old),
        "new_value": _dump(new),
        "source": source,
        "verification": verification,
        "correction": correction,
        "effective_at": now,
        "actor_id": actor_id,
        "dedup_key": dedup_key,
        "created_at": now,
        "not_before": not_before,
        "expanded_at": None if pushed else now,
        "cancelled": False,
        "merged_into": None,
    }


def audit_row(
    *,
    actor_id: int | None,
    action: str,
    person_id: int | None,
    old: Any,
    new: Any,
    source: str | None,
    now: datetime,
    verification: str | None = None,
    correction: bool = False,
    **more: Any,
) -> dict[str, Any]:
    """The audit entry of one change, as a row: who, what, old → new, where from."""
    detail = {
        "old": old,
        "new": new,
        "source": source,
        "verification": verification,
        "correction": correction,
        **more,
    }
    return {
        "actor_id": actor_id,
        "action": str(action),
        "person_id": person_id,
        "detail": _dump(detail),
        "at": now,
    }


async def _waiting_about(
    session: AsyncSession, person_id: int, subject: tuple[str, object]
) -> bool:
    """Whether a change to `subject` of the person is still waiting to go out."""
    statement = select(Event.kind, Event.new_value).where(
        col(Event.person_id) == person_id,
        col(Event.expanded_at).is_(None),
        col(Event.cancelled).is_(False),
        col(Event.kind).in_((*NETTED_HEARING_KINDS, *NETTED_STATUS_KINDS)),
    )
    waiting = (await session.exec(statement)).all()
    return any(change_subject(kind, value) == subject for kind, value in waiting)


async def hold_together(
    session: AsyncSession, person_ids: Collection[int], now: datetime, not_before: datetime
) -> None:
    """A change inside another's grace window extends that window to its own end,
    so that all the changes of the window leave together, as one message."""
    await session.exec(
        update(Event)
        .where(
            col(Event.person_id).in_(person_ids),
            col(Event.expanded_at).is_(None),
            col(Event.not_before) > now,
        )
        .values(not_before=not_before)
    )


async def latest_event(*, session: AsyncSession, person_id: int) -> Event | None:
    statement = (
        select(Event)
        .where(
            Event.person_id == person_id,
            col(Event.cancelled).is_(False),
            col(Event.kind) != EventKind.REMINDER,  # a reminder is not a change
        )
        .order_by(col(Event.effective_at).desc(), col(Event.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


@dataclass(frozen=True)
class PushProgress:
    """How far the push about a change has gone."""

    told: int  # chats Telegram accepted it for
    waiting: int  # chats it is still on its way to


async def push_progress(*, session: AsyncSession, event: Event) -> PushProgress:
    """The chats told, and still to be told, about `event` (or the change it went out with)."""
    statement = (
        select(Delivery.state, func.count())
        .where(col(Delivery.event_id) == (event.merged_into or event.id))
        .group_by(col(Delivery.state))
    )
    counts = dict((await session.exec(statement)).all())
    return PushProgress(
        told=counts.get(DeliveryState.SENT, 0), waiting=counts.get(DeliveryState.PENDING, 0)
    )
