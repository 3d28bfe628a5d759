"""End to end: the real application over HTTP against the local Bot API emulator."""

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, func, select
from telegram import Update

from handlers.context import SERVICES
from handlers.render import format_when
from storage.engine import create_engine, session_scope
from storage.models import AuditEntry, Chat, utcnow
from storage.people import add_person
from storage.reminders import queue_due_reminders
from tests.e2e import (
    BYSTANDER,
    EDITOR,
    FOLLOWER,
    GROUP,
    KAZAKH,
    RUSSIAN,
    STRANGER,
    Story,
    answer_to,
    story,
)


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url) as running_story:
        yield running_story


async def until_stored(database_url: str, statement: Any) -> None:
    """Wait until `statement` finds a row: what the bot records after Telegram answered it."""
    engine = create_engine(database_url)
    async with asyncio.timeout(5):
        while True:
            async with session_scope(engine) as session:
                if (await session.exec(statement)).first() is not None:
                    break
            await asyncio.sleep(0.01)
    await engine.dispose()


def _next_month() -> datetime:
    """A hearing date safely in the future, in Almaty time."""
    return (datetime.now(ZoneInfo("Asia/Almaty")) + timedelta(days=30)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )


async def test_follower_gets_exactly_one_push_when_editor_moves_hearing(bot: Story) -> None:
    first, moved = _next_month(), _next_month() + timedelta(days=4)
    reply = await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    assert "You now follow <b>Qaisha Aqan</b>" in (reply.text or "")
    await bot.say(BYSTANDER, "/find kaisha")  # knows the bot, follows nobody
    await bot.say(
        EDITOR, f"/sethearing Qaisha Aqan {first:%Y-%m-%d %H:%M} Zharkent district court"
    )
    await bot.api.wait_for_messages(FOLLOWER.id, 2)

    saved = await bot.say(EDITOR, f"/sethearing Кайша Акан {moved:%Y-%m-%d} 10:00")
    assert "Saved for <b>Qaisha Aqan</b>" in (saved.text or "")
    await bot.api.wait_for_messages(FOLLOWER.id, 3)
    # A later change is the marker: its push comes right after the two, nothing in between.
    await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")
    pushes = (await bot.api.wait_for_messages(FOLLOWER.id, 4))[1:]

    assert "asylum status is now <b>refugee</b>" in (pushes[2].text or "")
    push = pushes[1].text or ""
    assert f"next hearing moved to <b>{moved:%a} {moved.day} {moved:%b %Y}, 10:00" in push
    assert "Zharkent district court" in push
    assert f"(was {first:%a} {first.day} {first:%b %Y}, 10:00" in push
    assert len(bot.api.messages_to(BYSTANDER.id)) == 1  # only the /find answer


async def test_strangers_sethearing_changes_nothing_and_pushes_nothing(bot: Story) -> None:
    await bot.say(FOLLOWER, "/subscribe all")
    refused = await bot.say(STRANGER, f"/sethearing Qaisha Aqan {_next_month():%Y-%m-%d} 10:00")
    assert refused.text == "This command is for editors only."
    await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")  # the marker
    marker = (await bot.api.wait_for_messages(FOLLOWER.id, 2))[1]
    assert "asylum status is now <b>refugee</b>" in (marker.text or "")
    assert "hearing" not in (marker.text or "")
    card = await bot.say(STRANGER, "/person Qaisha Aqan")
    assert "No upcoming hearing known." in (card.text or "")


async def test_any_spelling_finds_the_person(bot: Story) -> None:
    found = await bot.say(FOLLOWER, "/find Кайша Акан")
    assert "Qaisha Aqan" in (found.text or "")
    card = await bot.say(FOLLOWER, "/person Sayragul Sauytbai")
    text = card.text or ""
    assert text.startswith("<b>Sairagul Sauytbay</b>")
    assert "granted asylum abroad" in text and "Сайрагүл Сауытбай" in text
    nobody = await bot.say(FOLLOWER, "/person Nursultan Nazarbayev")
    assert "Nobody found" in (nobody.text or "")


async def test_card_button_and_follow_button_work_and_ids_are_rechecked(bot: Story) -> None:
    found = await bot.say(FOLLOWER, "/find Qaster")
    card = await bot.press(FOLLOWER, found, found.callback_data[0])
    assert (card.text or "").startswith("<b>Qaster Musakhanuly</b>")
    followed = await bot.press(FOLLOWER, card, card.callback_data[0])
    assert "You now follow <b>Qaster Musakhanuly</b>" in (followed.text or "")
    listing = await bot.say(FOLLOWER, "/subscriptions")
    assert "Qaster Musakhanuly" in (listing.text or "")
    forged = await bot.api.user_presses(FOLLOWER, card, "card:999999", check_button=False)
    assert (
        await answer_to(bot, forged) == "This button no longer works. Send /help for the commands."
    )


async def test_bad_arguments_get_the_usage_line_and_change_nothing(bot: Story) -> None:
    reply = await bot.say(EDITOR, "/sethearing Qaisha Aqan 2026-02-30 10:00")
    assert "That date or time does not exist." in (reply.text or "")
    assert "/sethearing" in (reply.text or "")
    reply = await bot.say(EDITOR, "/setasylum Qaisha Aqan jailed")
    assert "Unknown asylum status" in (reply.text or "")
    assert "<code>asylum_seeker</code> — asylum seeker" in (reply.text or "")
    reply = await bot.say(FOLLOWER, "/subscribe")
    assert "Usage:" in (reply.text or "")
    card = await bot.say(FOLLOWER, "/person Qaisha Aqan")
    assert "Asylum: <b>asylum seeker</b>" in (card.text or "")


async def test_replies_are_in_the_users_language(bot: Story) -> None:
    russian = await bot.say(RUSSIAN, "/person Qaisha Aqan")
    kazakh = await bot.say(KAZAKH, "/person Qaisha Aqan")
    english = await bot.say(FOLLOWER, "/person Qaisha Aqan")
    assert russian.text != english.text and kazakh.text != english.text
    assert "Asylum" not in (russian.text or "") and "Asylum" not in (kazakh.text or "")


async def test_status_change_reaches_group_and_all_followers_in_their_language(
    bot: Story,
) -> None:
    bot.api.set_administrators(GROUP.id, [RUSSIAN.id])  # in a group, admins choose follows
    await bot.say(RUSSIAN, "/subscribe all", chat=GROUP)
    await bot.say(KAZAKH, "/subscribe Murager Alimuly")
    saved = await bot.say(EDITOR, "/setdetention Murager Alimuly released https://example.org/x")
    assert "Saved" in (saved.text or "")
    group_push = (await bot.api.wait_for_messages(GROUP.id, 2))[1]
    kazakh_push = (await bot.api.wait_for_messages(KAZAKH.id, 2))[1]
    # The name in the reader's script: Cyrillic for the Russian-speaking group.
    assert "Мұрагер Әлімұлы" in (group_push.text or "") and "example.org/x" in (
        group_push.text or ""
    )
    assert group_push.text != kazakh_push.text  # Russian for the group, Kazakh for her


async def test_editor_adds_a_person_who_can_then_be_found(bot: Story) -> None:
    added = await bot.say(EDITOR, "/addperson Nurlan Kokteubai; Нұрлан Көктеубай")
    assert "Added <b>Nurlan Kokteubai</b>" in (added.text or "")
    found = await bot.say(FOLLOWER, "/find Нурлан Коктеубай")
    assert "Nurlan Kokteubai" in (found.text or "")
    refused = await bot.say(STRANGER, "/addperson Someone Else")
    assert refused.text == "This command is for editors only."
    missing = await bot.say(FOLLOWER, "/find Someone Else")
    assert "Nobody found" in (missing.text or "")


async def test_blocked_follower_is_deactivated_and_not_retried(
    bot: Story, database_url: str
) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    await bot.say(BYSTANDER, "/subscribe Qaisha Aqan")
    bot.api.block(FOLLOWER.id, tell_bot=False)  # learnt from a failed send
    await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")
    await bot.api.wait_for_messages(BYSTANDER.id, 2)
    inactive = select(Chat).where(Chat.id == FOLLOWER.id, col(Chat.active).is_(False))
    await until_stored(database_url, inactive)
    await bot.say(EDITOR, "/setdetention Qaisha Aqan released")  # the marker
    await bot.api.wait_for_messages(BYSTANDER.id, 3)
    refused = [call for call in bot.api.failed if call.chat_id == FOLLOWER.id]
    assert len(refused) == 1 and refused[0].error_code == 403


async def test_person_added_by_another_process_is_found(bot: Story, database_url: str) -> None:
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        await add_person(
            session=session, name="Aidos Sadyq", other_spellings=["Айдос Садық"], actor_id=None
        )
    await engine.dispose()
    found = await bot.say(FOLLOWER, "/person Айдос Садык")
    assert (found.text or "").startswith("<b>Aidos Sadyq</b>")


async def test_follower_gets_one_reminder_in_court_time_for_a_hearing_set_at_short_notice(
    database_url: str,
) -> None:
    soon = (datetime.now(ZoneInfo("Asia/Almaty")) + timedelta(minutes=30)).replace(
        second=0, microsecond=0
    )
    async with story(database_url, reminder_scan_seconds=0.2) as bot:
        await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
        shown = await bot.say(FOLLOWER, "/remind 1h")
        assert "Hearing reminders: 1 hour before each hearing" in (shown.text or "")
        await bot.say(EDITOR, f"/sethearing Qaisha Aqan {soon:%Y-%m-%d %H:%M} Zharkent court")
        pushes = [m.text or "" for m in (await bot.api.wait_for_messages(FOLLOWER.id, 4))[2:]]
        engine = bot.application.bot_data[SERVICES].engine
        for _ in range(2):  # later scans queue nothing more
            async with session_scope(engine) as session:
                assert await queue_due_reminders(session=session, now=utcnow()) == 0
        marker = await bot.say(FOLLOWER, "/help")
        assert bot.api.messages_to(FOLLOWER.id)[4] == marker  # two replies, push, one reminder
    # In the order of the changes: the new hearing first, then the reminder about it.
    assert "hearing set for" in pushes[0]
    reminder = pushes[1]
    assert re.search(r"reminder: hearing in (29|30) minutes", reminder)
    assert f"<b>{format_when(soon, 'Asia/Almaty', 'en')}, Zharkent court</b>" in reminder


def _almaty(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("Asia/Almaty"))


async def test_hearing_moved_away_from_the_next_day_breaks_through_quiet_hours(
    bot: Story,
) -> None:
    now = _almaty(utcnow())
    soon, later = now + timedelta(hours=3), _next_month()
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    quiet = await bot.say(
        FOLLOWER, f"/quiet {now - timedelta(minutes=1):%H:%M}-{now + timedelta(hours=2):%H:%M}"
    )
    assert "Quiet hours" in (quiet.text or "")
    await bot.say(EDITOR, f"/sethearing Qaisha Aqan {soon:%Y-%m-%d %H:%M}")
    moved_in = (await bot.api.wait_for_messages(FOLLOWER.id, 3))[2]
    assert "hearing set for" in (moved_in.text or "")
    await bot.say(EDITOR, f"/sethearing Qaisha Aqan {later:%Y-%m-%d %H:%M}")
    moved_out = (await bot.api.wait_for_messages(FOLLOWER.id, 4))[3]  # not held until morning
    moved_to = f"next hearing moved to <b>{later:%a} {later.day} {later:%b %Y}"
    assert moved_to in (moved_out.text or "")


async def _editors_actions(database_url: str) -> dict[str, int]:
    """How many times the editor did each thing, by the audit log."""
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        rows = await session.exec(
            select(AuditEntry.action, func.count())
            .where(AuditEntry.actor_id == EDITOR.id)
            .group_by(col(AuditEntry.action))
        )
        counts = dict(rows.all())
    await engine.dispose()
    return counts


async def test_a_redelivered_editor_update_is_applied_once_and_not_answered_again(
    database_url: str,
) -> None:
    commands = [
        "/addperson Nurlan Kokteubai",
        f"/sethearing Nurlan Kokteubai {_next_month():%Y-%m-%d} 10:00",
        "/setasylum Nurlan Kokteubai refugee",
        "/setdetention Nurlan Kokteubai released",
        "/undo",
    ]
    async with story(database_url, notify_grace_seconds=3600) as bot:
        for command in commands:
            answered = len(bot.api.messages_to(EDITOR.id)) + 1
            sent = await bot.api.user_sends(EDITOR, None, command)
            await bot.api.wait_for_messages(EDITOR.id, answered)
            actions = await _editors_actions(database_url)
            # Telegram (or a webhook retry) hands the bot the same update again.
            await bot.application.update_queue.put(Update.de_json(sent, bot.application.bot))
            marker = await bot.say(EDITOR, "/help")
            assert bot.api.messages_to(EDITOR.id)[answered] == marker, command
            assert await _editors_actions(database_url) == actions, command
    assert actions == {
        "person_added": 1,
        "hearing_set": 1,
        "asylum_changed": 1,
        "detention_changed": 1,
        "undo": 1,
    }
