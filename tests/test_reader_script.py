"""Every reply that names a person names them in the reader's script, where a spelling in it
is stored: Kazakh readers the Kazakh Cyrillic one, Russian readers a Cyrillic one without
Kazakh-only letters (else any Cyrillic), English readers the Latin one."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.localapi import SentMessage, User
from handlers.i18n import t
from tests.e2e import EDITOR, KAZAKH, RUSSIAN, STRANGER, Story, story

# A person with a spelling for each reader (the Latin one canonical).
SAULE = "/addperson Saule Bekova; Сәуле Бекова; Сауле Бекова"
READERS = [
    pytest.param(KAZAKH, "Қайша Ақан", "Сәуле Бекова", id="kk"),
    pytest.param(RUSSIAN, "Қайша Ақан", "Сауле Бекова", id="ru"),  # no Russian spelling stored
    pytest.param(STRANGER, "Qaisha Aqan", "Saule Bekova", id="en"),
]


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    # A grace window long enough for /undo to come before the push starts.
    async with story(database_url, notify_grace_seconds=300) as running_story:
        yield running_story


async def _add_saule(bot: Story) -> int:
    """The editor adds Saule Bekova ("Added <b>Saule Bekova</b> #5."); her id."""
    added = await bot.say(EDITOR, SAULE)
    return int((added.text or "").split("#")[1].split(".")[0])


def _labels(message: SentMessage) -> list[str]:
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    return [button["text"] for row in rows for button in row]


@pytest.mark.parametrize(("user", "qaisha", "saule"), READERS)
async def test_follows_subscriptions_and_hearings_name_people_in_the_readers_script(
    bot: Story, user: User, qaisha: str, saule: str
) -> None:
    saule_id = await _add_saule(bot)
    followed = await bot.say(user, "/subscribe Qaisha Aqan")
    said = t(user.language_code or "", "subscribe.done", person=f"<b>{qaisha}</b> #1")
    assert followed.text == said
    await bot.say(user, f"/subscribe #{saule_id}")
    listed = await bot.say(user, "/subscriptions")
    assert f"1. <b>{qaisha}</b> #1 — " in (listed.text or "")
    assert f"2. <b>{saule}</b> #{saule_id} — " in (listed.text or "")
    assert _labels(listed) == [f"⚙️ 1. {qaisha}", f"⚙️ 2. {saule}"]
    before = len(bot.api.edits)
    await bot.api.user_presses(user, listed, listed.callback_data[1])  # the second follow
    await bot.api.wait_until(lambda: len(bot.api.edits) > before)
    assert (bot.api.edits[-1].text or "").startswith(f"<b>{saule}</b> #{saule_id}\n")
    soon = datetime.now(UTC) + timedelta(days=30)
    await bot.say(EDITOR, f"/sethearing Qaisha Aqan {soon:%Y-%m-%d} 10:00")
    hearings = await bot.say(user, "/hearings")
    assert f"— <b>{qaisha}</b> #1" in (hearings.text or "")


@pytest.mark.parametrize(("user", "qaisha", "saule"), READERS)
async def test_find_shows_the_readers_spelling_then_the_one_that_matched(
    bot: Story, user: User, qaisha: str, saule: str
) -> None:
    saule_id = await _add_saule(bot)
    found = await bot.say(user, "/find Saule Bekova")
    matched = "" if saule == "Saule Bekova" else " — Saule Bekova"
    assert f"• <b>{saule}</b> #{saule_id}{matched}" in (found.text or "")
    assert _labels(found) == [f"{saule} #{saule_id}"]
    found = await bot.say(user, "/find Қайша")
    matched = "" if qaisha == "Қайша Ақан" else " — Қайша Ақан"
    assert f"• <b>{qaisha}</b> #1{matched}" in (found.text or "")
    assert _labels(found) == [f"{qaisha} #1"]


@pytest.mark.parametrize(("user", "qaisha", "saule"), READERS)
async def test_candidates_are_listed_in_the_readers_script(
    bot: Story, user: User, qaisha: str, saule: str
) -> None:
    await bot.say(EDITOR, SAULE)
    await bot.say(EDITOR, "/addperson Saule Aqan; Сәуле Ақан; Сауле Акан")
    several = await bot.say(user, "/person Saule")
    assert f"<b>{saule}</b> #" in (several.text or "")
    assert any(label.startswith(f"{saule} #") for label in _labels(several))


async def test_an_editors_replies_name_the_person_in_the_editors_script(bot: Story) -> None:
    await bot.say(EDITOR, "/lang ru")
    saved = await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")
    assert (saved.text or "").startswith("Сохранено для <b>Қайша Ақан</b> #1: ")
    undone = await bot.say(EDITOR, "/undo")
    assert (undone.text or "").startswith("Отменено для <b>Қайша Ақан</b> #1: ")
    hidden = await bot.say(EDITOR, "/setvisibility Qaisha Aqan restricted")
    assert (hidden.text or "").startswith("<b>Қайша Ақан</b> #1: ")
    added = await bot.say(EDITOR, SAULE)
    assert (added.text or "").startswith("Добавлено: <b>Сауле Бекова</b> #")
