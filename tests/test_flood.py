"""The flood limit: twenty commands a minute per person, then one "slow down" and silence."""

from collections.abc import AsyncIterator

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from handlers import flood
from handlers.flood import Admission, FloodLimit
from tests.e2e import BYSTANDER, EDITOR, FOLLOWER, RUSSIAN, Story, story

SLOW_DOWN = "Too many commands at once. Please wait a minute, then send your command again."


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_past_the_limit_one_warning_then_nothing_until_the_window_frees_up() -> None:
    clock = Clock()
    limit = FloodLimit(limit=3, window=60.0, clock=clock)

    def admit_at(*times: float) -> list[Admission]:
        admitted = []
        for now in times:
            clock.now = now
            admitted.append(limit.admit(7))
        return admitted

    act, warn, ignore = Admission.ACT, Admission.WARN, Admission.IGNORE
    assert admit_at(0.0, 1.0, 2.0, 3.0, 4.0, 59.0) == [act, act, act, warn, ignore, ignore]
    # A minute after the first command one more may go; the next is over the limit again.
    assert admit_at(60.0, 60.5) == [act, ignore]
    # Still flooding a minute after the warning: warned once more (once a window at most).
    assert admit_at(61.0, 62.0, 63.0, 63.5) == [act, act, warn, ignore]


def test_one_users_flood_does_not_count_against_another() -> None:
    limit = FloodLimit(limit=2, window=60.0, clock=Clock())
    assert [limit.admit(7) for _ in range(3)][-1] is Admission.WARN
    assert [limit.admit(8) for _ in range(2)] == [Admission.ACT, Admission.ACT]


def test_users_idle_for_a_window_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flood, "FORGET_ABOVE", 100)
    clock = Clock()
    limit = FloodLimit(limit=20, window=60.0, clock=clock)
    for user_id in range(10_000):  # a new user every tenth of a second
        clock.now = user_id / 10
        limit.admit(user_id)
    # At most those of the last minute (600), twice over between clean-ups.
    assert len(limit._users) <= 2 * 600 + 1
    assert limit.admit(0) is Admission.ACT  # forgotten, so admitted afresh


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url) as running_story:
        yield running_story


async def test_flooder_gets_twenty_answers_one_slow_down_and_nothing_more(bot: Story) -> None:
    for _ in range(25):
        await bot.api.user_sends(FOLLOWER, None, "/find kaisha")
    said = await bot.api.wait_for_messages(FOLLOWER.id, 21, timeout=60)
    assert all("Qaisha Aqan" in (message.text or "") for message in said[:20])
    assert said[20].text == SLOW_DOWN
    # A button pressed now is answered with the same line and not acted on (no card). It is
    # handled after the four ignored commands before it, which said nothing.
    await bot.api.user_presses(FOLLOWER, said[0], said[0].callback_data[0])
    await bot.api.wait_until(lambda: bool(bot.api.callback_answers))
    assert [answer.text for answer in bot.api.callback_answers] == [SLOW_DOWN]
    assert len(bot.api.messages_to(FOLLOWER.id)) == 21
    # Nobody else is limited.
    assert "Qaisha Aqan" in ((await bot.say(BYSTANDER, "/find kaisha")).text or "")


async def test_the_slow_down_is_in_the_users_language(database_url: str) -> None:
    async with story(database_url, flood_commands_per_minute=2) as bot:
        for _ in range(3):
            await bot.api.user_sends(RUSSIAN, None, "/help")
        said = await bot.api.wait_for_messages(RUSSIAN.id, 3)
    assert said[2].text == (
        "Слишком много команд подряд. Подождите минуту и отправьте команду ещё раз."
    )


async def test_editors_are_not_limited(database_url: str) -> None:
    async with story(database_url, flood_commands_per_minute=2) as bot:
        for name in ("Qaisha", "Qaster", "Sayragul", "Qaisha"):
            await bot.api.user_sends(EDITOR, None, f"/find {name}")
        said = await bot.api.wait_for_messages(EDITOR.id, 4)
    assert all((message.text or "").startswith("Found") for message in said)


async def test_a_flooders_role_is_looked_up_once_not_for_every_ignored_command(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[int] = []
    looked_up = flood.is_editor

    async def counted(session: AsyncSession, update: Update) -> bool:
        lookups.append(update.update_id)
        return await looked_up(session, update)

    monkeypatch.setattr(flood, "is_editor", counted)
    async with story(database_url, flood_commands_per_minute=2) as bot:
        for _ in range(10):
            await bot.api.user_sends(FOLLOWER, None, "/find kaisha")
        said = await bot.api.wait_for_messages(FOLLOWER.id, 3)
        # The button is handled after the ignored commands before it (one chat, in order).
        await bot.api.user_presses(FOLLOWER, said[0], said[0].callback_data[0])
        await bot.api.wait_until(lambda: bool(bot.api.callback_answers))
    assert said[2].text == SLOW_DOWN and len(bot.api.messages_to(FOLLOWER.id)) == 3
    assert len(lookups) == 1
