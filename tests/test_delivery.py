"""The delivery engine against the emulator: Telegram's refusals, each handled as it should be."""

import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import col, select
from telegram import Update

from bot.alerts import ALERTS_JOB
from bot.localapi import Chat as TelegramChat
from bot.localapi import SentMessage, User
from handlers.alerts import AlertKind
from handlers.context import SERVICES
from storage.engine import create_engine, session_scope
from storage.models import Chat, Delivery, Event, EventKind, Subscription, utcnow
from storage.people import add_hearing, current_case
from storage.timeline import record_change
from tests.e2e import (
    BYSTANDER,
    EDITOR,
    FOLLOWER,
    GROUP,
    STRANGER,
    Story,
    eventually,
    story,
)

# Retries come fast; owner summaries only when a test runs the job itself.
FAST = {"retry_base_seconds": 0.05, "alert_interval_seconds": 3600}
SUPERGROUP = -1009999999999
QAISHA, MURAGER = 1, 2  # the seed's first two people
# A note too long for one message: 2,000 words of six characters, in at least three parts.
LONG_NOTE = " ".join(f"w{number:05}" for number in range(2000))
_PART = re.compile(r"\n\((\d+)/(\d+)\)$")


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


async def _chat(database_url: str, chat_id: int) -> Chat | None:
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        chat = await session.get(Chat, chat_id)
    await engine.dispose()
    return chat


async def _deactivated(database_url: str, chat_id: int) -> bool:
    chat = await _chat(database_url, chat_id)
    return chat is not None and chat.deactivated_at is not None


async def _nothing_pending(database_url: str) -> bool:
    """There are deliveries, and every one is settled."""
    deliveries = await _deliveries(database_url)
    return bool(deliveries) and all(delivery.state != "pending" for delivery in deliveries)


async def _record_notes(database_url: str, *notes: tuple[int, str]) -> None:
    """Changes (person id, note) made in one transaction, due at once: one outbox tick."""
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        for person_id, text in notes:
            await record_change(
                session=session,
                person_id=person_id,
                kind=EventKind.NOTE,
                old=None,
                new={"text": text},
                actor_id=EDITOR.id,
            )
    await engine.dispose()


async def _owner_summaries(bot: Story) -> None:
    """The `owner-alerts` job's turn, now (its own interval is an hour in these tests)."""
    assert bot.application.job_queue is not None
    (job,) = bot.application.job_queue.get_jobs_by_name(ALERTS_JOB)
    await job.run(bot.application)


async def _parts(bot: Story, chat_id: int, before: int) -> list[SentMessage]:
    """All parts of a split message that starts after the first `before` messages."""
    first = (await bot.api.wait_for_messages(chat_id, before + 1, timeout=10))[before]
    marker = _PART.search(first.text or "")
    assert marker is not None, (first.text or "")[-40:]
    count = int(marker[2])
    return (await bot.api.wait_for_messages(chat_id, before + count, timeout=15))[before:]


def _assert_whole_words_in_order(parts: list[SentMessage]) -> None:
    """Each part marked n/N in turn, valid HTML within the limit, and the note's words all
    there, in order, none cut."""
    words = []
    for number, part in enumerate(parts, 1):
        text = part.text or ""
        marker = _PART.search(text)
        assert marker is not None and (int(marker[1]), int(marker[2])) == (number, len(parts))
        assert part.parse_mode == "HTML" and len(text.encode("utf-16-le")) // 2 <= 4096
        words += re.findall(r"\bw\d+", text)
    assert words == LONG_NOTE.split(" ")


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
    await bot.say(BYSTANDER, "/subscribe Qaisha Aqan")
    bot.api.fail_next(
        "sendMessage",
        chat_id=FOLLOWER.id,
        error_code=400,
        description="Bad Request: chat not found",
        times=3,  # a fourth attempt would get through
    )
    await _change(bot)
    await eventually(lambda: _deactivated(database_url, FOLLOWER.id))
    await _change(bot, "appeal")
    await bot.api.wait_for_messages(BYSTANDER.id, 3, timeout=10)  # the next change went out
    assert len(bot.api.messages_to(FOLLOWER.id)) == 1  # the subscription's reply only
    assert len([f for f in bot.api.failed if f.chat_id == FOLLOWER.id]) == 3
    assert [d.state for d in await _deliveries(database_url) if d.chat_id == FOLLOWER.id] == [
        "dropped"
    ]


async def _deactivated_at_the_first_refusal(bot: Story, database_url: str) -> None:
    """FOLLOWER's chat, which blocked the bot, is deactivated at its first refused send, what
    it was owed dropped; the next change reaches BYSTANDER and nothing is tried for it."""
    await eventually(lambda: _deactivated(database_url, FOLLOWER.id))
    await _change(bot)
    await bot.api.wait_until(
        lambda: any("refugee" in (m.text or "") for m in bot.api.messages_to(BYSTANDER.id)), 10
    )  # the next change went out, and not to the blocked chat
    assert len([f for f in bot.api.failed if f.chat_id == FOLLOWER.id]) == 1
    assert {d.state for d in await _deliveries(database_url) if d.chat_id == FOLLOWER.id} == {
        "dropped"
    }


async def test_blocked_chat_is_deactivated_keeps_its_follows_and_is_sent_nothing_more(
    bot: Story, database_url: str
) -> None:
    for user, follows in ((BYSTANDER, "Qaisha Aqan"), (FOLLOWER, "all")):
        await bot.say(user, f"/subscribe {follows}")
    bot.api.block(FOLLOWER.id, tell_bot=False)  # learnt from a refused send
    await _record_notes(database_url, (QAISHA, "first note"), (MURAGER, "second note"))
    await _deactivated_at_the_first_refusal(bot, database_url)  # two owed, leased together
    chat = await _chat(database_url, FOLLOWER.id)
    assert chat is not None and not chat.active
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        follows = (
            await session.exec(select(Subscription).where(Subscription.chat_id == FOLLOWER.id))
        ).all()
    await engine.dispose()
    assert len(follows) == 1  # kept, for when the chat comes back


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


async def test_change_too_long_for_one_message_arrives_in_marked_parts(
    bot: Story, database_url: str
) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    await _record_notes(database_url, (QAISHA, LONG_NOTE))
    parts = await _parts(bot, FOLLOWER.id, 1)
    assert len(parts) >= 3
    _assert_whole_words_in_order(parts)
    assert [bool(part.reply_markup) for part in parts] == [False] * (len(parts) - 1) + [True]
    (delivery,) = await _deliveries(database_url)
    assert delivery.attempts == 1


@pytest.mark.parametrize(
    ("error_code", "retry_after", "attempts"),
    [(500, None, 2), (429, 1, 1)],  # a 429 is waited out in place: not a failed attempt
)
async def test_split_message_whose_second_part_fails_resumes_at_the_second_part(
    bot: Story, database_url: str, error_code: int, retry_after: int | None, attempts: int
) -> None:
    def refuse_the_next_part(message: SentMessage) -> None:
        if message.chat_id == FOLLOWER.id and "\n(1/" in (message.text or ""):
            bot.api.fail_next(
                "sendMessage", chat_id=FOLLOWER.id, error_code=error_code, retry_after=retry_after
            )

    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    bot.api.on_send.append(refuse_the_next_part)
    await _record_notes(database_url, (QAISHA, LONG_NOTE))
    parts = await _parts(bot, FOLLOWER.id, 1)
    _assert_whole_words_in_order(parts)  # part 1 once, then 2, 3 …: nothing sent twice
    assert [f.error_code for f in bot.api.failed] == [error_code]
    await eventually(lambda: _nothing_pending(database_url))
    (delivery,) = await _deliveries(database_url)
    assert delivery.state == "sent" and delivery.attempts == attempts


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
    await _change(bot)
    await bot.api.wait_until(lambda: any(f.chat_id == FOLLOWER.id for f in bot.api.failed), 10)
    engine = create_engine(database_url)
    async with session_scope(engine) as session:  # as if it had been failing since yesterday
        await session.exec(update(Delivery).values(created_at=utcnow() - timedelta(hours=25)))
    await engine.dispose()
    await eventually(lambda: _nothing_pending(database_url))
    (delivery,) = await _deliveries(database_url)
    assert delivery.state == "dead" and delivery.last_error == "Bad Gateway"
    assert len(bot.api.messages_to(EDITOR.id)) == 2  # no alert of its own: it waits
    await _owner_summaries(bot)
    (summary,) = bot.api.messages_to(EDITOR.id)[2:]
    assert "dead letters): 1" in (summary.text or "")
    assert f"#{delivery.id}: Bad Gateway" in (summary.text or "")


async def test_editor_update_delivered_twice_is_applied_once(
    bot: Story, database_url: str
) -> None:
    update = await bot.api.user_sends(EDITOR, None, "/setdetention Qaisha Aqan released")
    await bot.api.wait_for_messages(EDITOR.id, 1)
    application = bot.application
    await application.process_update(Update.de_json(update, application.bot))
    marker = await bot.say(EDITOR, "/help")  # the next message the editor gets
    assert "/find" in (marker.text or "")
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        changes = (
            await session.exec(select(Event).where(Event.kind == "detention_changed"))
        ).all()
    await engine.dispose()
    assert len(changes) == 1 and len(bot.api.messages_to(EDITOR.id)) == 2


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


async def test_stats_show_the_outbox_to_editors_only(bot: Story, database_url: str) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    bot.api.block(FOLLOWER.id, tell_bot=False)  # learnt from a refused send
    await bot.say(BYSTANDER, "/subscribe Qaisha Aqan")
    await _change(bot)
    await bot.api.wait_for_messages(BYSTANDER.id, 2, timeout=10)
    await eventually(lambda: _nothing_pending(database_url))
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
        marker = await bot.say(FOLLOWER, "/help")
        assert bot.api.messages_to(FOLLOWER.id)[2] == marker and "/find" in (marker.text or "")
        assert len(await _deliveries(database_url)) == 1  # the three changes: one delivery
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
        await eventually(lambda: _all_expanded(database_url))  # its window is over
        assert await _deliveries(database_url) == []
        marker = await bot.say(FOLLOWER, "/help")
        assert bot.api.messages_to(FOLLOWER.id)[1] == marker  # after the subscription reply
        card = await bot.say(FOLLOWER, "/person Qaisha Aqan")
        assert "Asylum: <b>asylum seeker</b>" in (card.text or "")
        again = await bot.say(EDITOR, "/undo")
        assert "Nothing to take back" in (again.text or "")


async def _all_expanded(database_url: str) -> bool:
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        waiting = (await session.exec(select(Event).where(col(Event.expanded_at).is_(None)))).all()
    await engine.dispose()
    return not waiting


def _in_a_month() -> str:
    return (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")


def _almaty_hours(bot: Story, hours: float) -> str:
    """`HH:MM-HH:MM` in Almaty time, from now to `hours` later."""
    start = utcnow().astimezone(ZoneInfo("Asia/Almaty"))
    end = start + timedelta(hours=hours)
    return f"{start:%H:%M}-{end:%H:%M}"


async def _held(database_url: str) -> bool:
    """A pending delivery waits for a later time (not a failure)."""
    return any(
        d.state == "pending" and d.next_attempt_at > utcnow() + timedelta(hours=1)
        for d in await _deliveries(database_url)
    )


async def test_quiet_hours_hold_pushes_but_urgent_news_breaks_through(
    bot: Story, database_url: str
) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    shown = await bot.say(FOLLOWER, f"/quiet {_almaty_hours(bot, 2)}")
    assert "Quiet hours:" in (shown.text or "")
    await _change(bot)  # asylum: not urgent, held
    await eventually(lambda: _held(database_url))
    await bot.say(EDITOR, "/setdetention Qaisha Aqan deported")  # urgent
    (_, _, push) = await bot.api.wait_for_messages(FOLLOWER.id, 3, timeout=10)
    assert "deported" in (push.text or "")
    marker = await bot.say(FOLLOWER, "/help")
    assert bot.api.messages_to(FOLLOWER.id)[3] == marker  # nothing came before it

    async def urgent_one_settled() -> bool:
        return [d.state for d in await _deliveries(database_url)] == ["pending", "sent"]

    await eventually(urgent_one_settled)
    (held, _) = await _deliveries(database_url)
    assert held.next_attempt_at > utcnow() + timedelta(hours=1)
    assert held.failed_at is None  # held, not failed


def _almaty_hour() -> int:
    return utcnow().astimezone(ZoneInfo("Asia/Almaty")).hour


async def _hold_two_changes_for_a_digest(
    bot: Story, database_url: str, user: User, chat: TelegramChat | None = None
) -> int:
    """`user`'s chat follows everyone, with a digest later today that holds two changes;
    returns the chat's id."""
    chat_id = (chat or user.private_chat).id
    await bot.say(user, "/subscribe all", chat)
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        later = (_almaty_hour() + 12) % 24
        await session.exec(update(Chat).where(col(Chat.id) == chat_id).values(digest_hour=later))
    await engine.dispose()
    await _record_notes(database_url, (QAISHA, "first note"))
    await _record_notes(database_url, (MURAGER, "second note"))

    async def both_held() -> bool:
        deliveries = [d for d in await _deliveries(database_url) if d.chat_id == chat_id]
        return len(deliveries) == 2 and all(
            d.next_attempt_at > utcnow() + timedelta(hours=1) for d in deliveries
        )

    await eventually(both_held)
    return chat_id


async def _digest_hour_now(database_url: str, chat_id: int) -> None:
    """The digest hour comes: both held changes are due at once, and leased together."""
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        await session.exec(
            update(Chat).where(col(Chat.id) == chat_id).values(digest_hour=_almaty_hour())
        )
        await session.exec(update(Delivery).values(next_attempt_at=utcnow()))
    await engine.dispose()


async def test_digest_chat_gets_the_changes_together(bot: Story, database_url: str) -> None:
    chat_id = await _hold_two_changes_for_a_digest(bot, database_url, FOLLOWER)
    await _digest_hour_now(database_url, chat_id)
    (_, digest) = await bot.api.wait_for_messages(FOLLOWER.id, 2, timeout=10)
    text = digest.text or ""
    assert "Daily digest" in text and "first note" in text and "second note" in text
    marker = await bot.say(FOLLOWER, "/help")
    assert bot.api.messages_to(FOLLOWER.id)[2] == marker  # one digest, nothing else


async def test_digest_to_a_blocked_chat_deactivates_it(bot: Story, database_url: str) -> None:
    await bot.say(BYSTANDER, "/subscribe all")
    chat_id = await _hold_two_changes_for_a_digest(bot, database_url, FOLLOWER)
    bot.api.block(FOLLOWER.id, tell_bot=False)  # learnt from a refused send
    await _digest_hour_now(database_url, chat_id)
    await _deactivated_at_the_first_refusal(bot, database_url)


async def test_digest_to_a_migrated_group_goes_to_its_new_id(
    bot: Story, database_url: str
) -> None:
    bot.api.set_administrators(GROUP.id, [STRANGER.id])  # in a group, admins choose follows
    await _hold_two_changes_for_a_digest(bot, database_url, STRANGER, GROUP)
    bot.api.migrate(GROUP.id, SUPERGROUP)
    await _digest_hour_now(database_url, GROUP.id)
    (digest,) = await bot.api.wait_for_messages(SUPERGROUP, 1, timeout=10)
    text = digest.text or ""
    assert "Daily digest" in text and "first note" in text and "second note" in text
    assert len([f for f in bot.api.failed if f.chat_id == GROUP.id]) == 1
    moved = await _chat(database_url, SUPERGROUP)
    assert moved is not None and moved.active and moved.digest_hour == _almaty_hour()


async def test_bad_quiet_hours_change_nothing(bot: Story) -> None:
    refused = await bot.say(FOLLOWER, "/quiet 25-07")
    assert "not a time of day" in (refused.text or "")
    shown = await bot.say(FOLLOWER, "/quiet")
    assert "No quiet hours" in (shown.text or "")


async def test_pushes_waiting_out_a_429_longer_than_their_lease_are_sent_once(
    database_url: str,
) -> None:
    followers = [User(id=8001 + number, first_name=f"Follower {number}") for number in range(8)]
    async with story(database_url, delivery_lease_seconds=1.0, **FAST) as bot:
        for follower in followers:
            await bot.say(follower, "/subscribe Qaisha Aqan")
        # The first push is refused for 3 s, three leases long: all wait in the process.
        bot.api.fail_next("sendMessage", chat_id=followers[0].id, error_code=429, retry_after=3)
        await _change(bot)
        for follower in followers:
            await bot.api.wait_for_messages(follower.id, 2, timeout=15)
        await eventually(lambda: _nothing_pending(database_url))
    # Each leased once, and sent is final: no second copy is on its way.
    assert [len(bot.api.messages_to(follower.id)) for follower in followers] == [2] * 8
    assert all(delivery.attempts == 1 for delivery in await _deliveries(database_url))


async def test_paid_broadcast_is_asked_for_on_pushes_only(database_url: str) -> None:
    async with story(database_url, paid_broadcast=True, **FAST) as bot:
        await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
        await _change(bot)
        reply, push = await bot.api.wait_for_messages(FOLLOWER.id, 2, timeout=10)
    assert push.params.get("allow_paid_broadcast") == "true" and "refugee" in (push.text or "")
    assert "allow_paid_broadcast" not in reply.params


async def test_unexpected_exception_is_retried_then_dead_and_never_holds_the_chat_back(
    bot: Story,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot import sender

    def broken_for_qaisha(
        changes: list[Event], person: object, language: str, spellings: object = ()
    ) -> str:
        if changes[-1].person_id == QAISHA:
            raise RuntimeError(f"a rendering bug quoting {changes[-1].new_value}")
        return render_push(changes, person, language, spellings)  # type: ignore[arg-type]

    render_push = sender.render_push
    monkeypatch.setattr(sender, "render_push", broken_for_qaisha)
    await bot.say(FOLLOWER, "/subscribe all")
    await bot.say(EDITOR, "/help")  # the owner has a chat with the bot
    caplog.set_level(logging.WARNING)
    await _record_notes(database_url, (QAISHA, "private note"), (MURAGER, "second note"))
    (_, push) = await bot.api.wait_for_messages(FOLLOWER.id, 2, timeout=10)
    assert "second note" in (push.text or "")  # the chat's next delivery was not held back
    (broken, _) = await _deliveries(database_url)

    async def retried() -> bool:
        (delivery, _) = await _deliveries(database_url)
        return delivery.attempts >= 2

    await eventually(retried)
    engine = create_engine(database_url)
    async with session_scope(engine) as session:  # as if it had been failing since yesterday
        await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == broken.id)
            .values(created_at=utcnow() - timedelta(hours=25))
        )
    await engine.dispose()
    await eventually(lambda: _nothing_pending(database_url))
    (broken, _) = await _deliveries(database_url)
    assert broken.state == "dead" and broken.last_error == "RuntimeError"
    assert f"delivery {broken.id}: unexpected RuntimeError" in caplog.text
    assert "private note" not in caplog.text
    await _owner_summaries(bot)
    summary = bot.api.messages_to(EDITOR.id)[-1].text or ""
    assert "dead letters): 1" in summary and f"#{broken.id}: RuntimeError" in summary


async def test_failed_reminder_is_retried_and_arrives_once(
    database_url: str,
) -> None:
    async with story(database_url, reminder_scan_seconds=0.2, **FAST) as bot:
        await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")  # reminded 1 day and 1 hour before
        bot.api.fail_next("sendMessage", chat_id=FOLLOWER.id, error_code=500)
        engine = create_engine(database_url)
        async with session_scope(engine) as session:  # a hearing in half an hour
            case = await current_case(session=session, person_id=QAISHA)
            assert case is not None and case.id is not None
            await add_hearing(
                session=session, case_id=case.id, starts_at=utcnow() + timedelta(minutes=30)
            )
        await engine.dispose()
        (_, reminder) = await bot.api.wait_for_messages(FOLLOWER.id, 2, timeout=10)
        assert "reminder: hearing in" in (reminder.text or "")
        assert [(f.chat_id, f.error_code) for f in bot.api.failed] == [(FOLLOWER.id, 500)]
        await eventually(lambda: _nothing_pending(database_url))
        marker = await bot.say(FOLLOWER, "/help")
        assert bot.api.messages_to(FOLLOWER.id)[2] == marker  # reminded once
    (delivery,) = await _deliveries(database_url)
    assert delivery.state == "sent" and delivery.attempts == 2


async def test_fifty_failures_make_one_owner_summary(bot: Story, database_url: str) -> None:
    followers = [User(id=8100 + number, first_name=f"Follower {number}") for number in range(50)]
    for follower in followers:
        await bot.say(follower, "/subscribe Qaisha Aqan")
        bot.api.fail_next(
            "sendMessage", chat_id=follower.id, error_code=400, description="Bad Request: odd"
        )
    await bot.say(EDITOR, "/help")  # the owner has a chat with the bot
    await _change(bot)

    alerts = bot.application.bot_data[SERVICES].alerts

    async def all_dead_and_noted() -> bool:
        # Each is noted for the owners just after its death is committed.
        noted = alerts._pending.get(EDITOR.id, {}).get(AlertKind.DEAD_LETTER)
        dead = [d.state for d in await _deliveries(database_url)] == ["dead"] * 50
        return dead and noted is not None and noted.count == 50

    await eventually(all_dead_and_noted)
    assert len(bot.api.messages_to(EDITOR.id)) == 2  # /help and "Saved": no alert yet
    await _owner_summaries(bot)
    await _owner_summaries(bot)  # nothing new since: nothing sent
    marker = await bot.say(EDITOR, "/help")
    (summary, after) = bot.api.messages_to(EDITOR.id)[2:]
    assert after == marker
    text = summary.text or ""
    assert "dead letters): 50" in text and text.count("• #") == 5  # the first five, by id


async def test_failed_update_says_nothing_was_changed_and_owners_get_one_summary(
    bot: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers import lookup

    def broken(*args: object) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(lookup, "render_matches", broken)
    await bot.say(EDITOR, "/help")  # the owner has a chat with the bot
    for _ in range(12):
        answer = await bot.say(STRANGER, "/find kaisha")
        assert "Nothing was changed" in (answer.text or "")
    assert len(bot.api.messages_to(EDITOR.id)) == 1  # no alert of its own
    await _owner_summaries(bot)
    (_, summary) = bot.api.messages_to(EDITOR.id)
    assert "Updates that failed: 12" in (summary.text or "")
    assert "RuntimeError" in (summary.text or "")


async def test_change_saved_before_its_reply_failed_is_said_to_be_saved(
    bot: Story, database_url: str
) -> None:
    await bot.say(EDITOR, "/help")
    bot.api.fail_next("sendMessage", chat_id=EDITOR.id, error_code=500)
    answer = await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")
    assert "Your change was saved" in (answer.text or "")
    assert "Nothing was changed" not in (answer.text or "")
    card = await bot.say(EDITOR, "/person Qaisha Aqan")
    assert "Asylum: <b>refugee</b>" in (card.text or "")


async def test_owner_summary_that_failed_goes_out_with_the_next_one(bot: Story) -> None:
    await bot.say(EDITOR, "/help")  # the owner has a chat with the bot
    alerts = bot.application.bot_data[SERVICES].alerts
    alerts.note(AlertKind.DEAD_LETTER, "#1: Bad Request: odd")
    bot.api.fail_next("sendMessage", chat_id=EDITOR.id, error_code=502)
    await _owner_summaries(bot)
    alerts.note(AlertKind.DEAD_LETTER, "#2: Bad Request: odd")
    await _owner_summaries(bot)
    (_, summary) = bot.api.messages_to(EDITOR.id)
    assert "dead letters): 2" in (summary.text or "") and "#1: " in (summary.text or "")
    assert [(f.chat_id, f.error_code) for f in bot.api.failed] == [(EDITOR.id, 502)]
