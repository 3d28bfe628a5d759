"""The outbox: due events become one delivery per subscribed chat, leased, sent, settled.

Delivery is at-least-once: a delivery is leased before it is sent and marked sent
after Telegram accepted it; a lease that expires (the process died mid-send) makes
the delivery due again.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, literal, or_, update
from sqlalchemy import select as sql_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import dialect_name, insert_or_ignore
from storage.following import change_kinds, told_of
from storage.models import (
    ChangeKind,
    Chat,
    Delivery,
    DeliveryState,
    Event,
    EventKind,
    Person,
    Subscription,
    UTCDateTime,
    Visibility,
    utcnow,
)
from storage.name_watches import watched_names, watching_chats
from storage.people import spellings_of_people
from storage.timeline import insert_ignoring_conflicts


@dataclass(frozen=True)
class Outgoing:
    """A leased delivery with what is needed to render and send it."""

    delivery: Delivery
    event: Event
    person: Person
    chat: Chat
    changes: list[Event]  # what the message tells: the event and those merged into it
    watched: str | None = None  # the chat's watched name the person just added matches
    spellings: tuple[str, ...] = ()  # every spelling of the person's name (the push shows
    # the one in the reader's script)


def _skip_locked(session: AsyncSession, statement: Any, of: Any = None) -> Any:
    """Let several processes claim rows (of `of`'s table) side by side on PostgreSQL."""
    if dialect_name(session) == "postgresql":
        return statement.with_for_update(skip_locked=True, of=of)
    return statement


async def expand_due_events(*, session: AsyncSession, now: datetime, limit: int = 100) -> int:
    """Turn events whose grace window has passed into deliveries; returns deliveries created.

    Events are claimed by one conditional update (`expanded_at IS NULL`), which races /undo's
    conditional cancel: exactly one of the two wins. A cancelled event is only retired (it
    leaves the queue) and gets no deliveries.
    """
    due = (
        select(Event.id)
        .where(col(Event.expanded_at).is_(None), col(Event.not_before) <= now)
        .order_by(col(Event.id))
        .limit(limit)
    )
    claimed = await session.exec(
        update(Event)
        .where(col(Event.id).in_(_skip_locked(session, due)), col(Event.expanded_at).is_(None))
        .values(expanded_at=now)
        .returning(col(Event.id), col(Event.cancelled))
        .execution_options(synchronize_session=False)
    )
    to_send = sorted(event_id for event_id, cancelled in claimed.all() if not cancelled)
    if not to_send:
        return 0
    events = await session.exec(
        select(Event)
        .where(col(Event.id).in_(to_send))
        .order_by(col(Event.id))
        .execution_options(populate_existing=True)
    )
    by_person: dict[int, list[Event]] = {}
    for event in events.all():
        by_person.setdefault(event.person_id, []).append(event)
    created = 0
    for changes in by_person.values():
        last = changes[-1]
        for merged in changes[:-1]:
            merged.merged_into = last.id
            session.add(merged)
        created += await _fan_out(session, changes, now)
        if any(change.kind == EventKind.PERSON_ADDED for change in changes):
            created += await queue_watch_deliveries(session=session, event=last, now=now)
    return created


async def _fan_out(session: AsyncSession, changes: list[Event], now: datetime) -> int:
    """One delivery of the last of `changes` (the message tells them all) per active chat
    that hears of the person and of any of these kinds of change (storage/following.py);
    visibility is read now: a person restricted since the change reaches editors only."""
    event = changes[-1]
    assert event.id is not None
    person = await session.get(Person, event.person_id)
    public = person is not None and person.visibility == Visibility.PUBLIC
    return await queue_deliveries(
        session=session,
        event_id=event.id,
        person_id=event.person_id,
        public=public,
        changes=change_kinds([change.kind for change in changes]),
        now=now,
    )


async def queue_deliveries(
    *,
    session: AsyncSession,
    event_id: int,
    person_id: int,
    public: bool,
    changes: Collection[ChangeKind | None],
    now: datetime,
    chats: ColumnElement[bool] | None = None,
) -> int:
    """INSERT … SELECT one pending delivery per active chat told of `changes` about the
    person (and matching `chats`, if given), in the database: one statement however many
    follow; returns how many were new."""
    told = told_of(person_id=person_id, public=public, changes=changes)
    if chats is not None:
        told = and_(told, chats)
    rows = sql_select(
        literal(event_id),
        col(Chat.id),
        literal(DeliveryState.PENDING.value),
        literal(0),
        literal(now, type_=UTCDateTime),
        literal(now, type_=UTCDateTime),
    ).where(col(Chat.active).is_(True), told)
    columns = ["event_id", "chat_id", "state", "attempts", "next_attempt_at", "created_at"]
    result = await session.exec(insert_or_ignore(session, Delivery).from_select(columns, rows))
    return int(result.rowcount or 0)


async def count_told(*, session: AsyncSession, event: Event) -> int:
    """How many active chats the push about `event` would reach, were it sent now (the same
    rule as `queue_deliveries`): what an editor's preview says."""
    person = await session.get(Person, event.person_id)
    public = person is not None and person.visibility == Visibility.PUBLIC
    told = told_of(person_id=event.person_id, public=public, changes=change_kinds([event.kind]))
    statement = select(func.count()).select_from(Chat).where(col(Chat.active).is_(True), told)
    return int((await session.exec(statement)).one())


async def queue_watch_deliveries(*, session: AsyncSession, event: Event, now: datetime) -> int:
    """One pending delivery of the event (a person added) per chat watching for a name they
    match and not already owed it; returns how many were new (at most one per watch)."""
    chat_ids = await watching_chats(session=session, person_id=event.person_id, now=now)
    rows = [
        {
            "event_id": event.id,
            "chat_id": chat_id,
            "state": DeliveryState.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for chat_id in chat_ids
    ]
    return await insert_ignoring_conflicts(session, Delivery, rows)


async def lease_deliveries(
    *, session: AsyncSession, now: datetime, lease: timedelta, limit: int = 50
) -> list[Outgoing]:
    """Claim up to `limit` due deliveries for `lease`; the caller commits before sending.

    Four statements whatever the batch size (a broadcast leases many deliveries of one
    event, whose event, person, changes and spellings are loaded once, not once per row).
    """
    due = (
        select(Delivery, Chat)
        .join(Chat, col(Delivery.chat_id) == col(Chat.id))
        .where(
            Delivery.state == DeliveryState.PENDING,
            col(Delivery.next_attempt_at) <= now,
            or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now),
        )
        .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    leased = list((await session.exec(_skip_locked(session, due, of=Delivery))).all())
    if not leased:
        return []
    # The loaded deliveries take the new values too ("evaluate"): no reload needed.
    await session.exec(
        update(Delivery)
        .where(col(Delivery.id).in_([delivery.id for delivery, _ in leased]))
        .values(lease_until=now + lease, attempts=col(Delivery.attempts) + 1)
        .execution_options(synchronize_session="evaluate")
    )
    event_ids = {delivery.event_id for delivery, _ in leased}
    told = await session.exec(
        select(Event, Person)
        .join(Person, col(Event.person_id) == col(Person.id))
        .where(or_(col(Event.id).in_(event_ids), col(Event.merged_into).in_(event_ids)))
        .order_by(col(Event.id))
        .execution_options(populate_existing=True)
    )
    events: dict[int | None, tuple[Event, Person]] = {}
    earlier: dict[int | None, list[Event]] = {}
    for event, person in told.all():
        events[event.id] = (event, person)
        if event.merged_into is not None:
            earlier.setdefault(event.merged_into, []).append(event)
    person_ids = {person.id for _, person in events.values() if person.id is not None}
    spellings = await spellings_of_people(session=session, person_ids=person_ids)
    added = [
        (chat.id, events[delivery.event_id][1].id or 0)
        for delivery, chat in leased
        if any(
            change.kind == EventKind.PERSON_ADDED
            for change in (events[delivery.event_id][0], *earlier.get(delivery.event_id, []))
        )
    ]
    watched = await watched_names(session=session, found=added, spellings=spellings, now=now)
    outgoing = []
    for delivery, chat in leased:
        event, person = events[delivery.event_id]
        changes = [*earlier.get(event.id, []), event]
        outgoing.append(
            Outgoing(
                delivery,
                event,
                person,
                chat,
                changes,
                spellings=tuple(spellings.get(person.id or 0, ())),
                watched=watched.get((chat.id, person.id or 0)),
            )
        )
    return outgoing


async def renew_leases(
    *, session: AsyncSession, delivery_ids: Sequence[int], until: datetime
) -> None:
    """Keep holding leased deliveries that are still on their way."""
    await session.exec(
        update(Delivery)
        .where(
            col(Delivery.id).in_(delivery_ids),
            col(Delivery.state) == DeliveryState.PENDING,
            col(Delivery.lease_until).is_not(None),
        )
        .values(lease_until=until)
    )


async def retry_later(
    *,
    session: AsyncSession,
    delivery_id: int,
    error: str,
    retry_at: datetime,
    parts_sent: int = 0,
) -> None:
    """A failed attempt: due again at `retry_at`, from the first part not yet accepted."""
    await session.exec(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id)
        .values(
            next_attempt_at=retry_at,
            lease_until=None,
            last_error=error[:500],
            failed_at=utcnow(),
            parts_sent=parts_sent,
        )
    )


async def postpone(*, session: AsyncSession, delivery_ids: Sequence[int], until: datetime) -> None:
    """Hold deliveries (quiet hours, a digest) without counting it as a failure."""
    await session.exec(
        update(Delivery)
        .where(col(Delivery.id).in_(delivery_ids))
        .values(next_attempt_at=until, lease_until=None)
    )


async def deactivate_chat(*, session: AsyncSession, chat_id: int, error: str) -> None:
    """The chat can no longer be reached: stop writing to it and drop what it was owed.

    Its follows are kept, for when it comes back."""
    await session.exec(
        update(Chat)
        .where(col(Chat.id) == chat_id, col(Chat.active).is_(True))
        .values(active=False, deactivated_at=utcnow())
    )
    await session.exec(
        update(Delivery)
        .where(col(Delivery.chat_id) == chat_id, col(Delivery.state) == DeliveryState.PENDING)
        .values(
            state=DeliveryState.DROPPED,
            lease_until=None,
            last_error=error[:500],
            failed_at=utcnow(),
        )
    )


async def mark_sent_many(
    *, session: AsyncSession, sent: Sequence[tuple[int, int | None]], now: datetime
) -> None:
    """Settle many deliveries at once: (delivery id, Telegram message id) each."""
    if not sent:
        return
    # One UPDATE executed for many rows, without the ORM's per-row bookkeeping.
    table = Delivery.__table__  # type: ignore[attr-defined]
    await session.exec(
        update(table)
        .where(table.c.id == bindparam("delivery_id"))
        .values(
            state=DeliveryState.SENT.value,
            message_id=bindparam("message_id"),
            sent_at=now,
            lease_until=None,
        ),
        params=[
            {"delivery_id": delivery_id, "message_id": message_id}
            for delivery_id, message_id in sent
        ],
    )


async def mark_dead(*, session: AsyncSession, delivery_id: int, error: str) -> None:
    """Give up on a delivery (the owners are told by the caller)."""
    await session.exec(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id)
        .values(
            state=DeliveryState.DEAD, lease_until=None, last_error=error[:500], failed_at=utcnow()
        )
    )


async def migrate_chat(*, session: AsyncSession, old_id: int, new_id: int) -> None:
    """A group became a supergroup: its settings, subscriptions and pending deliveries move.

    One transaction; what the new id already has is kept and the old duplicate dropped.
    """
    old = await session.get(Chat, old_id)
    if old is None:
        return
    if await session.get(Chat, new_id) is None:
        session.add(
            Chat(
                id=new_id,
                kind="supergroup",
                language=old.language,
                reminder_offsets=old.reminder_offsets,
                quiet_hours=old.quiet_hours,
                digest_hour=old.digest_hour,
            )
        )
        await session.flush()
    following = select(Subscription).where(col(Subscription.chat_id) == new_id)
    followed = {(s.scope, s.person_id, s.place) for s in (await session.exec(following)).all()}
    for subscription in (
        await session.exec(select(Subscription).where(col(Subscription.chat_id) == old_id))
    ).all():
        if (subscription.scope, subscription.person_id, subscription.place) not in followed:
            subscription.chat_id = new_id
            session.add(subscription)
    pending = col(Delivery.state) == DeliveryState.PENDING
    owed = select(Delivery.event_id).where(col(Delivery.chat_id) == new_id)
    owed_events = set((await session.exec(owed)).all())
    for delivery in (
        await session.exec(select(Delivery).where(col(Delivery.chat_id) == old_id, pending))
    ).all():
        if delivery.event_id in owed_events:
            delivery.state = DeliveryState.DROPPED
            delivery.last_error = "chat migrated; the new chat has it already"
        else:
            delivery.chat_id = new_id
            delivery.lease_until = None
            delivery.next_attempt_at = utcnow()
            delivery.parts_sent = 0  # the new chat has none of them
        session.add(delivery)
    old.active = False
    old.deactivated_at = utcnow()
    session.add(old)


@dataclass(frozen=True)
class DeliveryStats:
    pending: int
    sent_last_hour: int
    failed_last_hour: int
    sent_last_minute: int
    dead: int


async def delivery_stats(*, session: AsyncSession, now: datetime) -> DeliveryStats:
    """What /stats shows: the outbox now, and the last hour of sending."""
    hour, minute = now - timedelta(hours=1), now - timedelta(minutes=1)
    sent_at, failed_at, state = col(Delivery.sent_at), col(Delivery.failed_at), col(Delivery.state)
    return DeliveryStats(
        pending=await _count(session, state == DeliveryState.PENDING),
        sent_last_hour=await _count(session, sent_at >= hour),
        failed_last_hour=await _count(session, failed_at >= hour),
        sent_last_minute=await _count(session, sent_at >= minute),
        dead=await _count(session, state == DeliveryState.DEAD),
    )


async def _count(session: AsyncSession, condition: ColumnElement[bool]) -> int:
    return (await session.exec(select(func.count()).select_from(Delivery).where(condition))).one()
