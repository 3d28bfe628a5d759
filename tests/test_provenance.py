"""End to end: every change says where it comes from, in the push, the card and the history;
the changes of one grace window reach followers as their net change; an id nobody has and an
unknown status are said as such."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from handlers.context import SERVICES
from storage.engine import session_scope
from storage.models import Delivery, DeliveryState, Event, utcnow
from tests.e2e import EDITOR, FOLLOWER, RUSSIAN, Story, eventually, story

SOURCE = "https://example.org/ruling?id=7&lang=ru"
SOURCE_SHOWN = "https://example.org/ruling?id=7&amp;lang=ru"


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url) as running_story:
        yield running_story


def _day(days: int) -> datetime:
    """10:00 in Almaty, `days` from today."""
    return (datetime.now(ZoneInfo("Asia/Almaty")) + timedelta(days=days)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )


def _shown(moment: datetime) -> str:
    """A hearing's moment as an English message shows it: `Thu 3 Dec 2026, 10:00`."""
    return f"{moment:%a} {moment.day} {moment:%b %Y}, {moment:%H:%M}"


async def _push(bot: Story, user_id: int, number: int) -> str:
    """The `number`th message (from 1) the bot sent to `user_id`."""
    return (await bot.api.wait_for_messages(user_id, number))[number - 1].text or ""


async def test_push_and_card_say_the_source_and_how_it_is_verified(bot: Story) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    await bot.say(RUSSIAN, "/subscribe Qaisha Aqan")
    saved = await bot.say(EDITOR, f"/setasylum Qaisha Aqan refugee {SOURCE} document")
    assert "Saved for <b>Qaisha Aqan</b>" in (saved.text or "")

    push = await _push(bot, FOLLOWER.id, 2)
    assert "asylum status is now <b>refugee</b>" in push
    assert f'Source: <a href="{SOURCE_SHOWN}">{SOURCE_SHOWN}</a> · confirmed by a document' in push
    russian = await _push(bot, RUSSIAN.id, 2)
    assert f'Источник: <a href="{SOURCE_SHOWN}">' in russian
    assert "подтверждено документом" in russian

    card = (await bot.say(FOLLOWER, "/person Qaisha Aqan")).text or ""
    assert "Last change: asylum status is now <b>refugee</b>" in card
    assert f"{SOURCE_SHOWN}</a> · confirmed by a document" in card
    assert card.count(f"{SOURCE_SHOWN}</a>") == 1  # not again among the person's sources


async def test_a_change_without_a_source_says_so_in_push_card_and_history(bot: Story) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    await bot.say(EDITOR, "/setdetention Qaisha Aqan house arrest lawyer")

    push = await _push(bot, FOLLOWER.id, 2)
    assert "detention status is now <b>house arrest</b>" in push
    assert push.endswith("No source given · confirmed by a relative or the lawyer")
    card = (await bot.say(FOLLOWER, "/person Qaisha Aqan")).text or ""
    assert "No source given · confirmed by a relative or the lawyer" in card
    history = (await bot.say(FOLLOWER, "/history Qaisha Aqan")).text or ""
    assert "house arrest" in history and "No source given" in history


async def test_a_hearing_keeps_its_source_and_level(bot: Story) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    when = _day(30)
    await bot.say(
        EDITOR, f"/sethearing Qaisha Aqan {when:%d.%m.%Y} 10:00 court in Zharkent {SOURCE} media"
    )
    push = await _push(bot, FOLLOWER.id, 2)
    assert f"hearing set for <b>{_shown(when)}, court in Zharkent</b>" in push
    assert f"{SOURCE_SHOWN}</a> · reported by the media" in push


async def test_a_correction_is_marked_in_history_and_told_to_nobody(bot: Story) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    await bot.say(EDITOR, f"/setasylum Qaisha Aqan applied {SOURCE} document --silent")
    await bot.say(EDITOR, "/setdetention Qaisha Aqan released")  # the marker
    marker = await _push(bot, FOLLOWER.id, 2)
    assert "released" in marker and "applied" not in marker  # the correction was not told

    history = (await bot.say(FOLLOWER, "/history Qaisha Aqan")).text or ""
    lines = history.split("\n")
    corrected = next(number for number, line in enumerate(lines) if "applied for asylum" in line)
    assert lines[corrected].endswith("<i>(correction, followers were not told)</i>")
    assert lines[corrected + 1].endswith("· confirmed by a document")
    released = next(number for number, line in enumerate(lines) if "released" in line)
    assert "correction" not in lines[released]


async def _close_the_window(bot: Story) -> None:
    """The grace window of every change still waiting ends now."""
    engine = bot.application.bot_data[SERVICES].engine
    async with session_scope(engine) as session:
        await session.exec(
            update(Event).where(col(Event.expanded_at).is_(None)).values(not_before=utcnow())
        )


async def _deliveries_to(bot: Story, chat_id: int) -> list[Delivery]:
    engine = bot.application.bot_data[SERVICES].engine
    async with session_scope(engine) as session:
        return list(
            (await session.exec(select(Delivery).where(Delivery.chat_id == chat_id))).all()
        )


async def test_changes_inside_one_grace_window_reach_followers_as_their_net_change(
    database_url: str,
) -> None:
    first, second, moved, final = _day(20), _day(21), _day(25), _day(27)
    async with story(database_url, notify_grace_seconds=3600) as bot:
        await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
        # Set, then moved before anyone was told: told as set, at its final time.
        await bot.say(EDITOR, f"/sethearing Qaisha Aqan {first:%Y-%m-%d} 10:00")
        await bot.say(EDITOR, f"/sethearing Qaisha Aqan {second:%Y-%m-%d} 10:00")
        await _close_the_window(bot)
        told = await _push(bot, FOLLOWER.id, 2)
        assert f"hearing set for <b>{_shown(second)}" in told
        assert _shown(first) not in told and "moved" not in told

        # Moved twice and a status changed twice inside one window: one message, one line
        # each, from the old value before the window to the last one.
        for when in (moved, final):
            await bot.say(EDITOR, f"/sethearing Qaisha Aqan {when:%Y-%m-%d} 10:00 {SOURCE}")
        await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")
        await bot.say(EDITOR, "/setasylum Qaisha Aqan rejected document")
        await _close_the_window(bot)
        net = await _push(bot, FOLLOWER.id, 3)

        lines = net.split("\n")
        assert lines[1] == (
            f"• next hearing moved to <b>{_shown(final)}, court in Zharkent</b> "
            f"(was {_shown(second)}, court in Zharkent)."
        )
        assert lines[2].startswith(f'Source: <a href="{SOURCE_SHOWN}">')
        assert lines[3] == "• asylum status is now <b>asylum rejected</b> (was asylum seeker)."
        assert lines[4] == "No source given · confirmed by a document"
        assert len(lines) == 5
        assert _shown(moved) not in net and "<b>refugee</b>" not in net

        async def both_sent() -> bool:
            deliveries = await _deliveries_to(bot, FOLLOWER.id)
            return [delivery.state for delivery in deliveries] == [DeliveryState.SENT] * 2

        await eventually(both_sent)
        assert len(bot.api.messages_to(FOLLOWER.id)) == 3


async def test_an_id_nobody_has_is_said_as_such_by_every_command(bot: Story) -> None:
    for command in (
        "/person #999",
        "/history #999",
        "/subscribe #999",
        "/setasylum #999 refugee",
        f"/sethearing #999 {_day(10):%Y-%m-%d} 10:00",
    ):
        answer = await bot.say(EDITOR, command)
        assert answer.text == "No person has the number #999.", command
    russian = await bot.say(RUSSIAN, "/person #999")
    assert russian.text == "Нет лица с номером #999."  # noqa: RUF001


async def test_an_unknown_status_lists_the_statuses_of_that_command(bot: Story) -> None:
    asylum = (await bot.say(EDITOR, "/setasylum Qaisha Aqan jailed")).text or ""
    assert asylum.startswith("Unknown asylum status. Write one of these:\n")
    assert "• <code>asylum_seeker</code> — asylum seeker\n" in asylum
    assert "house_arrest" not in asylum
    assert "Usage: /setasylum" in asylum
    detention = (await bot.say(EDITOR, "/setdetention Qaisha Aqan refugee")).text or ""
    assert detention.startswith("Unknown detention status. Write one of these:\n")
    assert "• <code>house_arrest</code> — house arrest\n" in detention
    assert "asylum_seeker" not in detention
    card = (await bot.say(EDITOR, "/person Qaisha Aqan")).text or ""
    assert "Asylum: <b>asylum seeker</b>" in card  # nothing changed


async def test_a_silent_correction_of_a_change_still_waiting_leaves_with_it(
    database_url: str,
) -> None:
    typo, meant = _day(20), _day(20).replace(hour=11)
    async with story(database_url, notify_grace_seconds=3600) as bot:
        await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
        await bot.say(EDITOR, f"/sethearing Qaisha Aqan {typo:%d.%m.%Y} 10:00")
        fixed = await bot.say(EDITOR, f"/sethearing Qaisha Aqan {meant:%d.%m.%Y} 11:00 --silent")
        # Nobody was told of the typo yet: the correction goes with it, not instead of it.
        assert "📣 1 chat will be told at" in (fixed.text or "")
        await _close_the_window(bot)
        told = await _push(bot, FOLLOWER.id, 2)
        assert f"hearing set for <b>{_shown(meant)}" in told and _shown(typo) not in told
        # Once the push went, a --silent fix is a correction nobody is told of.
        later = await bot.say(EDITOR, f"/sethearing Qaisha Aqan {meant:%d.%m.%Y} 11:30 --silent")
        assert "A correction" in (later.text or "")
        await _close_the_window(bot)
        assert len(await _deliveries_to(bot, FOLLOWER.id)) == 1
