"""A chat's life with the bot: it leaves (blocked, removed), comes back with its follows, and is
forgotten 90 days after it left; one "everyone" follow per chat (SQLite and PostgreSQL)."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.chats import chat_left, chat_returned, purge_departed_chats
from storage.engine import session_scope
from storage.following import ensure_chat, subscribe, unsubscribe
from storage.models import Chat, Delivery, DeliveryState, Subscription, SubscriptionScope
from storage.outbox import expand_due_events
from storage.people import add_person
from tests.factories import change_status

NOW = datetime(2030, 1, 1, tzinfo=UTC)
BIG_CHAT = -1001234567890123


async def _follower(engine: AsyncEngine, chat_id: int, person_id: int | None = None) -> None:
    async with session_scope(engine) as session:
        chat = await ensure_chat(session=session, chat_id=chat_id, kind="private", language="kk")
        chat.quiet_hours = "22:00-07:00"
        await subscribe(session=session, chat_id=chat_id, person_id=person_id)


async def _left(engine: AsyncEngine, chat_id: int, when: datetime) -> None:
    async with session_scope(engine) as session:
        await chat_left(session=session, chat_id=chat_id, now=when, reason="blocked")


async def _follows(session: AsyncSession, chat_id: int) -> int:
    count = select(func.count()).select_from(Subscription).where(Subscription.chat_id == chat_id)
    return (await session.exec(count)).one()


async def _until_waiting_on_a_lock(engine: AsyncEngine) -> None:
    """On PostgreSQL, until a transaction waits for another's row; SQLite lets the waiter
    start at least (its wait for the write lock cannot be seen from outside)."""
    await asyncio.sleep(0)
    if engine.dialect.name != "postgresql":
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with engine.connect() as connection:
        async with asyncio.timeout(5):
            # Polled: the database has no event to wait for.
            while not (await connection.execute(waiting)).scalar_one():  # noqa: ASYNC110
                await asyncio.sleep(0.01)


async def test_a_chat_that_leaves_is_owed_nothing_and_keeps_the_day_it_first_left(
    engine: AsyncEngine,
) -> None:
    async with session_scope(engine) as session:
        person = await add_person(session=session, name="Qaisha Aqan", actor_id=1, pushed=False)
    await _follower(engine, 5, person.id)
    async with session_scope(engine) as session:
        await change_status(session, person)
        assert await expand_due_events(session=session, now=NOW) == 1
    await _left(engine, 5, NOW)
    await _left(engine, 5, NOW + timedelta(days=3))  # Telegram may say it again
    async with session_scope(engine) as session:
        chat = await session.get(Chat, 5)
        assert chat is not None and not chat.active and chat.deactivated_at == NOW
        (delivery,) = (await session.exec(select(Delivery))).all()
        assert delivery.state == DeliveryState.DROPPED
        assert await _follows(session, 5) == 1
        await chat_returned(session=session, chat_id=5)
    async with session_scope(engine) as session:
        chat = await session.get(Chat, 5)
        assert chat is not None and chat.active and chat.deactivated_at is None
        assert chat.quiet_hours == "22:00-07:00" and chat.language == "kk"
        assert await _follows(session, 5) == 1


async def test_purge_forgets_chats_away_longer_than_90_days_and_keeps_the_others(
    engine: AsyncEngine,
) -> None:
    async with session_scope(engine) as session:
        person = await add_person(session=session, name="Qaisha Aqan", actor_id=1, pushed=False)
    for chat_id in (1, 2, 3):
        await _follower(engine, chat_id, person.id)
        await _follower(engine, chat_id)
    async with session_scope(engine) as session:
        await change_status(session, person)
        assert await expand_due_events(session=session, now=NOW) == 3
    await _left(engine, 1, NOW)  # away 90 days and a minute at the purge
    await _left(engine, 2, NOW + timedelta(minutes=2))  # away a minute less than 90 days
    purge_at = NOW + timedelta(days=90, minutes=1)
    async with session_scope(engine) as session:
        assert await purge_departed_chats(session=session, now=purge_at) == 1
    async with session_scope(engine) as session:
        assert await session.get(Chat, 1) is None
        assert await _follows(session, 1) == 0
        deliveries = select(Delivery.chat_id).order_by(col(Delivery.chat_id))
        assert list((await session.exec(deliveries)).all()) == [2, 3]
        for kept in (2, 3):
            chat = await session.get(Chat, kept)
            assert chat is not None and chat.quiet_hours == "22:00-07:00"
            assert await _follows(session, kept) == 2
        assert await purge_departed_chats(session=session, now=purge_at) == 0


async def test_two_everyone_follows_at_once_make_one(engine: AsyncEngine) -> None:
    async with session_scope(engine) as session:
        await ensure_chat(session=session, chat_id=BIG_CHAT, kind="supergroup", language="en")
    async with AsyncSession(engine) as first, AsyncSession(engine) as second:
        assert await subscribe(session=first, chat_id=BIG_CHAT, person_id=None)
        # The second waits on the first's uncommitted row (PostgreSQL) or lock (SQLite).
        racing = asyncio.create_task(subscribe(session=second, chat_id=BIG_CHAT, person_id=None))
        await _until_waiting_on_a_lock(engine)
        await first.commit()
        assert await racing is False
        await second.commit()
    async with session_scope(engine) as session:
        everyone = select(Subscription).where(Subscription.scope == SubscriptionScope.ALL)
        assert len((await session.exec(everyone)).all()) == 1


async def test_two_everyone_unfollows_at_once_unfollow_once(engine: AsyncEngine) -> None:
    await _follower(engine, BIG_CHAT)
    async with AsyncSession(engine) as first, AsyncSession(engine) as second:
        assert await unsubscribe(session=first, chat_id=BIG_CHAT, person_id=None)
        racing = asyncio.create_task(unsubscribe(session=second, chat_id=BIG_CHAT, person_id=None))
        await _until_waiting_on_a_lock(engine)
        await first.commit()
        assert await racing is False
        await second.commit()
    async with session_scope(engine) as session:
        assert await _follows(session, BIG_CHAT) == 0
        assert await subscribe(session=session, chat_id=BIG_CHAT, person_id=None)
