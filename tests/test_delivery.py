"""The delivery engine against the emulator: Telegram's refusals, each handled as it should be."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from telegram import Update

from bot.localapi import SentMessage, User
from storage.engine import create_engine, session_scope
from storage.models import Chat, Delivery, Event, Subscription, utcnow
from tests.e2e import BYSTANDER, EDITOR, FOLLOWER, GROUP, STRANGER, Story, story

FAST = {"retry_base_seconds": 0.05}
SUPERGROUP = -1009999999999


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url, **FAST) as running_story:
        yield running_story


async def _change(bot: Story, status: str = "refugee") -> None:
    saved = await bot.say(EDITOR, f"/setasylum Qaisha Aqan {status}")
    assert "Saved" in (saved.text or "")


async def _deliveries(database_url: str) -> list[Delivery]:
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        rows = list((await session.exec(select(Delivery).order_by(Delivery.id))).all())
    await engine.dispose()
    return rows


async def test_retry_after_pauses_sending_then_the_push_arrives(bot: Story) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    bot.api.fail_next("sendMessage", chat_id=FOLLOWER.id, error_code=429, retry_after=1)
    await _change(bot)
    pushes = await bot.api.wait_for_messages(FOLLOWER.id, 2, timeout=10)
    assert "refugee" in (pushes[1].text or "")
    assert [f.error_code for f in bot.api.failed] == [429]


async def test_group_upgraded_to_supergroup_moves_and_gets_the_push(
    bot: Story, database_url: str
) -> None:
    bot.api.set_administrators(GROUP.id, [STRANGER.id])  # in a group, admins choose follows
    await bot.say(STRANGER, "/subscribe Qaisha Aqan", chat=GROUP)
    bot.api.migrate(GROUP.id, SUPERGROUP)
    await _change(bot)
    (push,) = await bot.api.wait_for_messages(SUPERGROUP, 1, timeout=10)
    assert "refugee" in (push.text or "")
    await _change(bot, "appeal")  # the next push goes straight to the new id
    await bot.api.wait_for_messages(SUPERGROUP, 2, timeout=10)
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        old = await session.get(Chat, GROUP.id)
        followers = (await session.exec(select(Subscription.chat_id))).all()
    await engine.dispose()
    assert old is not None and not old.active
    assert list(followers) == [SUPERGROUP]
    assert len([f for f in bot.api.failed if f.chat_id == GROUP.id]) == 1


async def test_chat_not_found_is_retried_then_deactivated(bot: Story, database_url: str) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    bot.api.fail_next(
        "sendMessage",
        chat_id=FOLLOWER.id,
        error_code=400,
        description="Bad Request: chat not found",
        times=10,
    )
    await _change(bot)
    await bot.api.wait_until(
        lambda: len([f for f in bot.api.failed if f.chat_id == FOLLOWER.id]) >= 3, 10
    )
    await bot.quiet_for(1.0)
    assert len([f for f in bot.api.failed if f.chat_id == FOLLOWER.id]) == 3
    (delivery,) = await _deliveries(database_url)
    assert delivery.state == "dropped"


async def _push_after_a_refusal(bot: Story, description: str) -> SentMessage:
    """The push a follower gets after Telegram refused its first send with this 400."""
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    bot.api.fail_next("sendMessage", chat_id=FOLLOWER.id, error_code=400, description=description)
    await _change(bot)
    return (await bot.api.wait_for_messages(FOLLOWER.id, 2, timeout=10))[1]


async def test_refused_markup_is_sent_again_as_plain_text(bot: Story) -> None:
    push = await _push_after_a_refusal(
        bot, "Bad Request: can't parse entities: unsupported start tag"
    )
    assert push.parse_mode is None
    assert "asylum status is now refugee" in (push.text or "") and "<b>" not in (push.text or "")


async def test_too_long_message_is_sent_again_in_parts(bot: Story) -> None:
    push = await _push_after_a_refusal(bot, "Bad Request: message is too long")
    assert "refugee" in (push.text or "") and push.parse_mode == "HTML"


async def test_server_errors_are_retried_and_other_chats_are_not_held_up(bot: Story) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    await bot.say(BYSTANDER, "/subscribe Qaisha Aqan")
    bot.api.fail_next("sendMessage", chat_id=FOLLOWER.id, error_code=502, times=2)
    await _change(bot)
    await bot.api.wait_for_messages(BYSTANDER.id, 2, timeout=10)
    pushes = await bot.api.wait_for_messages(FOLLOWER.id, 2, timeout=10)
    assert "refugee" in (pushes[1].text or "")
    assert len([f for f in bot.api.failed if f.chat_id == FOLLOWER.id]) == 2


async def test_delivery_failing_for_a_day_is_dead_and_owners_are_told(
    bot: Story, database_url: str
) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    await bot.say(EDITOR, "/help")  # the owner has a chat with the bot
    bot.api.fail_next("sendMessage", chat_id=FOLLOWER.id, error_code=502, times=100)
    engine = create_engine(database_url)
    await _change(bot)
    await bot.api.wait_until(lambda: any(f.chat_id == FOLLOWER.id for f in bot.api.failed), 10)
    async with session_scope(engine) as session:  # as if it had been failing since yesterday
        for delivery in (await session.exec(select(Delivery))).all():
            delivery.created_at = utcnow() - timedelta(hours=25)
            session.add(delivery)
    await engine.dispose()
    alert = await bot.api.wait_until(
        lambda: any("marked dead" in (m.text or "") for m in bot.api.messages_to(EDITOR.id)), 10
    )
    assert alert is None
    (delivery,) = await _deliveries(database_url)
    assert delivery.state == "dead"


async def test_editor_update_delivered_twice_is_applied_once(
    bot: Story, database_url: str
) -> None:
    update = await bot.api.user_sends(EDITOR, None, "/setdetention Qaisha Aqan released")
    await bot.api.wait_for_messages(EDITOR.id, 1)
    application = bot.application
    await application.process_update(Update.de_json(update, application.bot))
    await bot.quiet_for(0.5)
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        changes = (
            await session.exec(select(Event).where(Event.kind == "detention_changed"))
        ).all()
    await engine.dispose()
    assert len(changes) == 1 and len(bot.api.messages_to(EDITOR.id)) == 1


async def test_reply_arrives_while_a_broadcast_is_under_way(database_url: str) -> None:
    async with story(database_url, send_rate_per_second=20.0) as bot:
        await bot.say(FOLLOWER, "/subscribe all")
        for user_id in range(9000, 9060):  # sixty more followers: a three-second broadcast
            await bot.say(User(user_id, f"F{user_id}"), "/subscribe all")
        await _change(bot)
        await bot.api.wait_until(lambda: len(bot.api.sent) > 70, 10)
        reply = await bot.say(BYSTANDER, "/help")
        pushes = [m for m in bot.api.sent if "refugee" in (m.text or "")]
        await bot.api.wait_until(
            lambda: len([m for m in bot.api.sent if "refugee" in (m.text or "")]) == 61, 15
        )
        last_push = [m for m in bot.api.sent if "refugee" in (m.text or "")][-1]
        assert len(pushes) < 61 and reply.time < last_push.time
        assert not bot.api.failed


async def test_stats_show_the_outbox_to_editors_only(bot: Story) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    bot.api.block(FOLLOWER.id, tell_bot=False)  # learnt from a failed send
    await bot.say(BYSTANDER, "/subscribe Qaisha Aqan")
    await _change(bot)
    await bot.api.wait_for_messages(BYSTANDER.id, 2, timeout=10)
    await bot.quiet_for(0.5)
    stats = await bot.say(EDITOR, "/stats")
    text = stats.text or ""
    assert "Pending: 0" in text and "Sent in the last hour: 1" in text
    assert "Failed in the last hour: 1" in text and "Dead letters: 0" in text
    refused = await bot.say(STRANGER, "/stats")
    assert refused.text == "This command is for editors only."


async def test_changes_inside_the_grace_window_arrive_as_one_message(database_url: str) -> None:
    async with story(database_url, notify_grace_seconds=1.5, **FAST) as bot:
        await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
        await _change(bot)
        await bot.say(EDITOR, "/setdetention Qaisha Aqan house_arrest")
        await bot.say(EDITOR, f"/sethearing Qaisha Aqan {_in_a_month()} 10:00")
        (_, push) = await bot.api.wait_for_messages(FOLLOWER.id, 2, timeout=10)
        await bot.quiet_for(2.0)
        assert len(bot.api.messages_to(FOLLOWER.id)) == 2
        text = push.text or ""
        assert "refugee" in text and "house arrest" in text and "hearing set for" in text
        assert text.count("• ") == 3


async def test_undo_inside_the_window_takes_the_change_back_and_sends_nothing(
    database_url: str,
) -> None:
    async with story(database_url, notify_grace_seconds=1.5, **FAST) as bot:
        await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
        await _change(bot)
        undone = await bot.say(EDITOR, "/undo")
        assert "Taken back for <b>Qaisha Aqan</b>" in (undone.text or "")
        await bot.quiet_for(2.5)
        assert len(bot.api.messages_to(FOLLOWER.id)) == 1  # only the subscription reply
        card = await bot.say(FOLLOWER, "/person Qaisha Aqan")
        assert "Asylum: <b>asylum seeker</b>" in (card.text or "")
        again = await bot.say(EDITOR, "/undo")
        assert "Nothing to take back" in (again.text or "")


def _in_a_month() -> str:
    return (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")


def _almaty_hours(bot: Story, hours: float) -> str:
    """`HH:MM-HH:MM` in Almaty time, from now to `hours` later."""
    start = utcnow().astimezone(ZoneInfo("Asia/Almaty"))
    end = start + timedelta(hours=hours)
    return f"{start:%H:%M}-{end:%H:%M}"


async def test_quiet_hours_hold_pushes_but_urgent_news_breaks_through(
    bot: Story, database_url: str
) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    shown = await bot.say(FOLLOWER, f"/quiet {_almaty_hours(bot, 2)}")
    assert "Quiet hours:" in (shown.text or "")
    await _change(bot)  # asylum: not urgent, held
    for _ in range(50):
        held = [d for d in await _deliveries(database_url) if d.next_attempt_at > utcnow()]
        if held:
            break
        await bot.quiet_for(0.1)
    await bot.say(EDITOR, "/setdetention Qaisha Aqan deported")  # urgent
    (_, _, push) = await bot.api.wait_for_messages(FOLLOWER.id, 3, timeout=10)
    await bot.quiet_for(1.5)
    assert len(bot.api.messages_to(FOLLOWER.id)) == 3 and "deported" in (push.text or "")
    (held,) = [d for d in await _deliveries(database_url) if d.state == "pending"]
    assert held.next_attempt_at > utcnow() + timedelta(hours=1)
    assert held.failed_at is None  # held, not failed


async def test_digest_chat_gets_the_changes_together(bot: Story) -> None:
    await bot.say(FOLLOWER, "/subscribe all")
    hour = utcnow().astimezone(ZoneInfo("Asia/Almaty")).hour
    shown = await bot.say(FOLLOWER, f"/digest {hour}")  # inside the digest hour: goes now
    assert "Daily digest at" in (shown.text or "")
    await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")
    await bot.say(EDITOR, "/setasylum Murager Alimuly refugee")
    pushes = await bot.api.wait_for_messages(FOLLOWER.id, 3, timeout=10)
    await bot.quiet_for(1.5)
    assert len(bot.api.messages_to(FOLLOWER.id)) == 3  # subscribe, digest setting, one digest
    digest = pushes[2].text or ""
    assert "Daily digest" in digest and "Qaisha Aqan" in digest and "Murager Alimuly" in digest


async def test_bad_quiet_hours_change_nothing(bot: Story) -> None:
    refused = await bot.say(FOLLOWER, "/quiet 25-07")
    assert "not a time of day" in (refused.text or "")
    shown = await bot.say(FOLLOWER, "/quiet")
    assert "No quiet hours" in (shown.text or "")


async def test_pushes_waiting_out_a_429_longer_than_their_lease_are_sent_once(
    database_url: str,
) -> None:
    followers = [User(id=8001 + number, first_name=f"Follower {number}") for number in range(8)]
    async with story(database_url, delivery_lease_seconds=0.5, **FAST) as bot:
        for follower in followers:
            await bot.say(follower, "/subscribe Qaisha Aqan")
        # The first push is refused for 2 s, four leases long: the rest wait in the process.
        bot.api.fail_next("sendMessage", chat_id=followers[0].id, error_code=429, retry_after=2)
        await _change(bot)
        for follower in followers:
            await bot.api.wait_for_messages(follower.id, 2, timeout=15)
        await asyncio.sleep(1.0)  # time for a second copy to arrive, were one sent
    assert [len(bot.api.messages_to(follower.id)) for follower in followers] == [2] * 8
    assert all(delivery.attempts == 1 for delivery in (await _deliveries(database_url))[1:])


async def test_paid_broadcast_is_asked_for_on_pushes_only(database_url: str) -> None:
    async with story(database_url, paid_broadcast=True, **FAST) as bot:
        await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
        await _change(bot)
        reply, push = await bot.api.wait_for_messages(FOLLOWER.id, 2, timeout=10)
    assert push.params.get("allow_paid_broadcast") == "true" and "refugee" in (push.text or "")
    assert "allow_paid_broadcast" not in reply.params
