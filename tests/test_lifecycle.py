"""A chat's life with the bot: it leaves (blocked, removed), comes back with its follows, and is
forgotten 90 days after it left; one "everyone" follow per chat (SQLite and PostgreSQL)."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.lifecycle import PURGE_JOB, purge_departed
from handlers.context import SERVICES
from handlers.render import html_to_plain
from storage.chats import chat_left, chat_returned, purge_departed_chats
from storage.engine import session_scope
from storage.following import ensure_chat, subscribe, unsubscribe
from storage.models import Chat, Delivery, DeliveryState, ProcessedUpdate, Subscription
from storage.outbox import expand_due_events
from storage.people import add_person
from storage.timeline import claim_update, forget_processed_updates
from tests.e2e import BYSTANDER, EDITOR, FOLLOWER, GROUP, RUSSIAN, Story, story
from tests.factories import change_status, until_a_session_waits_for_a_lock

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


async def test_a_chat_deactivated_without_a_date_is_forgotten_90_days_after_the_purge_saw_it(
    engine: AsyncEngine,
) -> None:
    await _follower(engine, 4)
    async with session_scope(engine) as session:
        chat = await session.get(Chat, 4)
        assert chat is not None
        chat.active = False  # deactivated before departures were dated
    async with session_scope(engine) as session:
        assert await purge_departed_chats(session=session, now=NOW) == 0
    async with session_scope(engine) as session:
        chat = await session.get(Chat, 4)
        assert chat is not None and chat.deactivated_at == NOW
        later = NOW + timedelta(days=90, minutes=1)
        assert await purge_departed_chats(session=session, now=later) == 1


async def test_applied_update_ids_are_forgotten_after_two_days(engine: AsyncEngine) -> None:
    async with session_scope(engine) as session:
        assert await claim_update(session=session, update_id=41)
    claimed = await _processed_at(engine, 41)
    assert claimed is not None
    async with session_scope(engine) as session:
        assert not await claim_update(session=session, update_id=41)
        assert (
            await forget_processed_updates(session=session, now=claimed + timedelta(days=1)) == 0
        )
        assert not await claim_update(session=session, update_id=41)
    async with session_scope(engine) as session:
        assert (
            await forget_processed_updates(session=session, now=claimed + timedelta(days=3)) == 1
        )
        assert await claim_update(session=session, update_id=41)  # a new command with an old id


async def _processed_at(engine: AsyncEngine, update_id: int) -> datetime | None:
    async with session_scope(engine) as session:
        processed = await session.get(ProcessedUpdate, update_id)
        return processed.at if processed else None


async def _at_once(
    engine: AsyncEngine, change: Callable[[AsyncSession], Awaitable[bool]]
) -> tuple[bool, bool]:
    """`change` in two transactions at once: the second waits on the first's uncommitted
    row (PostgreSQL) or write lock (SQLite) until the first commits."""
    async with AsyncSession(engine) as first, AsyncSession(engine) as second:
        first_done = await change(first)
        racing = asyncio.create_task(change(second))
        try:
            await until_a_session_waits_for_a_lock(engine)
        finally:
            await first.commit()  # whatever happened, the second is let through and ends
            second_done = await racing
        await second.commit()
    return first_done, second_done


async def test_two_everyone_follows_at_once_make_one(engine: AsyncEngine) -> None:
    async with session_scope(engine) as session:
        await ensure_chat(session=session, chat_id=BIG_CHAT, kind="supergroup", language="en")

    async def follow_everyone(session: AsyncSession) -> bool:
        return await subscribe(session=session, chat_id=BIG_CHAT, person_id=None)

    assert await _at_once(engine, follow_everyone) == (True, False)
    async with session_scope(engine) as session:
        assert await _follows(session, BIG_CHAT) == 1


async def test_two_everyone_unfollows_at_once_unfollow_once(engine: AsyncEngine) -> None:
    await _follower(engine, BIG_CHAT)

    async def unfollow_everyone(session: AsyncSession) -> bool:
        return await unsubscribe(session=session, chat_id=BIG_CHAT, person_id=None)

    assert await _at_once(engine, unfollow_everyone) == (True, False)
    async with session_scope(engine) as session:
        assert await _follows(session, BIG_CHAT) == 0
        assert await subscribe(session=session, chat_id=BIG_CHAT, person_id=None)


# --- end to end: the real bot, told by Telegram (the emulator) that it was blocked or removed


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url) as running_story:
        yield running_story


async def until_chat(bot: Story, chat_id: int, *, active: bool) -> Chat:
    """Wait until the bot has recorded the chat as active (or not); returns it."""
    engine = bot.application.bot_data[SERVICES].engine
    async with asyncio.timeout(5):
        while True:  # the database has no event to wait for: polled
            async with session_scope(engine) as session:
                chat = await session.get(Chat, chat_id)
            if chat is not None and chat.active is active:
                return chat
            await asyncio.sleep(0.05)


async def change(bot: Story, status: str) -> None:
    """The editor changes Qaisha Aqan's asylum status (pushed at once: no grace window)."""
    saved = await bot.say(EDITOR, f"/setasylum Qaisha Aqan {status}")
    assert "Saved" in (saved.text or "")


def sends_to(bot: Story, chat_id: int) -> int:
    """Every send the bot tried in a chat, accepted or refused."""
    tried = [*bot.api.messages_to(chat_id), *(f for f in bot.api.failed if f.chat_id == chat_id)]
    return len(tried)


async def test_blocked_chat_is_deactivated_without_a_send_and_unblocked_gets_the_next_change(
    bot: Story,
) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    await bot.say(BYSTANDER, "/subscribe Qaisha Aqan")  # the marker: the push went out
    bot.api.block(FOLLOWER.id, tell_bot=True)
    left = await until_chat(bot, FOLLOWER.id, active=False)
    assert left.deactivated_at is not None
    await change(bot, "refugee")
    await bot.api.wait_for_messages(BYSTANDER.id, 2)
    assert sends_to(bot, FOLLOWER.id) == 1  # the /subscribe answer; no push tried

    bot.api.unblock(FOLLOWER.id, tell_bot=True)
    back = await until_chat(bot, FOLLOWER.id, active=True)
    assert back.deactivated_at is None
    await change(bot, "appeal")
    push = (await bot.api.wait_for_messages(FOLLOWER.id, 2))[1]  # still follows her
    assert "appeal" in (push.text or "")


async def test_group_removed_then_added_back_keeps_its_follows_and_says_hello(bot: Story) -> None:
    bot.api.set_administrators(GROUP.id, [RUSSIAN.id])
    await bot.say(RUSSIAN, "/subscribe Qaisha Aqan", chat=GROUP)
    await bot.say(RUSSIAN, "/quiet 03-04", chat=GROUP)
    await bot.say(BYSTANDER, "/subscribe Qaisha Aqan")
    bot.api.remove_from_group(GROUP, by=RUSSIAN)
    await until_chat(bot, GROUP.id, active=False)
    await change(bot, "refugee")
    await bot.api.wait_for_messages(BYSTANDER.id, 2)
    assert sends_to(bot, GROUP.id) == 2  # the two answers; no push tried

    bot.api.add_to_group(GROUP, by=RUSSIAN)
    hello = (await bot.api.wait_for_messages(GROUP.id, 3))[2]
    assert (hello.text or "").startswith("Здравствуйте! Я casewatch")  # the adder's language
    back = await until_chat(bot, GROUP.id, active=True)
    assert back.quiet_hours == "03:00-04:00"
    await change(bot, "appeal")
    push = (await bot.api.wait_for_messages(GROUP.id, 4))[3]
    assert "Қайша Ақан #1" in html_to_plain(push.text or "")  # the Russian group's script


async def test_start_in_a_chat_that_had_blocked_the_bot_makes_it_active_again(bot: Story) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    bot.api.block(FOLLOWER.id, tell_bot=True)
    await until_chat(bot, FOLLOWER.id, active=False)
    welcome = await bot.say(FOLLOWER, "/start")  # writing to a blocked bot unblocks it, silently
    assert "<b>casewatch</b> follows people" in (welcome.text or "")
    await until_chat(bot, FOLLOWER.id, active=True)
    await change(bot, "refugee")
    push = (await bot.api.wait_for_messages(FOLLOWER.id, 3))[2]
    assert "refugee" in (push.text or "")


async def test_the_purge_runs_daily_by_name(bot: Story) -> None:
    assert bot.application.job_queue is not None
    (job,) = bot.application.job_queue.get_jobs_by_name(PURGE_JOB)
    assert job.callback is purge_departed
    assert job.job.trigger.interval == timedelta(days=1)
