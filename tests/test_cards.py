"""The person card's buttons and /history, against the Bot API emulator: buttons are signed
and checked again on every press, history pages edit their message in place, and nobody sees
a restricted person's history who may not see the person."""

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.localapi import SentMessage, User
from handlers.buttons import button_data, read_button
from handlers.context import SERVICES
from handlers.i18n import t
from handlers.render import format_when
from storage.engine import session_scope
from storage.models import EventKind, utcnow
from storage.timeline import record_change
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

QAISHA = 1  # the demo records' first person: Qaisha Aqan
GONE = "This person's record is no longer available here."
REFUSAL = t("en", "group.admins_only")


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url) as running_story:
        running_story.api.set_administrators(GROUP.id, [FOLLOWER.id], creator=BYSTANDER.id)
        yield running_story


def _actions(bot: Story, message: SentMessage) -> list[tuple[str, tuple[str, ...]]]:
    """What each callback button under `message` does, read back through its signature."""
    key = bot.application.bot_data[SERVICES].button_key
    pressed = [read_button(key, data) for data in message.callback_data]
    return [(p.action, p.values) if p else ("forged", ()) for p in pressed]


def _button(message: SentMessage, action: str) -> str:
    return next(data for data in message.callback_data if data.startswith(action + ":"))


async def _edited(bot: Story, user: User, message: SentMessage, data: str) -> SentMessage:
    """`user` presses a button under `message`; the edit the bot made of it."""
    before = len(bot.api.edits)
    await bot.api.user_presses(user, message, data)
    await bot.api.wait_until(lambda: len(bot.api.edits) > before)
    return bot.api.edits[-1]


async def _notes(bot: Story, person_id: int, count: int) -> list[datetime]:
    """`count` notes on the person, a minute apart, each with its source; their dates."""
    start = utcnow()
    async with session_scope(bot.application.bot_data[SERVICES].engine) as session:
        for number in range(count):
            await record_change(
                session=session,
                person_id=person_id,
                kind=EventKind.NOTE,
                old=None,
                new={"text": f"note {number}"},
                actor_id=EDITOR.id,
                source=f"https://example.org/{number}",
                now=start + timedelta(minutes=number),
                pushed=False,
            )
    return [start + timedelta(minutes=number) for number in range(count)]


async def test_a_card_has_follow_history_hearings_calendar_and_share(bot: Story) -> None:
    card = await bot.say(STRANGER, "/person Qaisha Aqan")
    assert _actions(bot, card) == [
        ("follow", ("1",)),
        ("hist", ("1",)),
        ("hear", ("1",)),
        ("cal", ("1",)),
    ]
    rows = (card.reply_markup or {})["inline_keyboard"]
    labels = [button["text"] for row in rows for button in row]
    assert labels == ["🔔 Follow", "📜 History", "⚖️ Hearings", "📅 Calendar", "↗️ Share"]
    assert rows[-1][0]["switch_inline_query"] == "Qaisha Aqan"
    russian = await bot.say(RUSSIAN, "/person Qaisha Aqan")
    rows = (russian.reply_markup or {})["inline_keyboard"]
    assert [button["text"] for row in rows for button in row][1:] == [
        "📜 История",
        "⚖️ Заседания",
        "📅 Календарь",
        "↗️ Поделиться",
    ]


async def test_a_restricted_persons_card_is_not_offered_for_sharing(bot: Story) -> None:
    await bot.say(EDITOR, "/setvisibility Murager Alimuly restricted")
    card = await bot.say(EDITOR, "/person Murager Alimuly")
    rows = (card.reply_markup or {})["inline_keyboard"]
    assert not [button for row in rows for button in row if "switch_inline_query" in button]
    assert [action for action, _ in _actions(bot, card)] == ["follow", "hist", "hear", "cal"]


async def test_follow_and_unfollow_from_the_card(bot: Story) -> None:
    found = await bot.say(FOLLOWER, "/find Qaisha")
    card = await bot.press(FOLLOWER, found, found.callback_data[0])
    followed = await bot.press(FOLLOWER, card, _button(card, "follow"))
    assert (followed.text or "").startswith("You now follow <b>Qaisha Aqan</b> #1")
    assert _actions(bot, followed) == [("unfollow", ("1",))]
    again = await bot.say(FOLLOWER, "/person Qaisha Aqan")
    assert _actions(bot, again)[0] == ("unfollow", ("1",))
    # The old card's Follow, pressed again, changes nothing and says so.
    already = await bot.press(FOLLOWER, card, _button(card, "follow"))
    assert (already.text or "").startswith("You already follow <b>Qaisha Aqan</b>")
    unfollowed = await bot.press(FOLLOWER, again, _button(again, "unfollow"))
    assert (unfollowed.text or "").startswith("You no longer follow <b>Qaisha Aqan</b>")
    listing = await bot.say(FOLLOWER, "/subscriptions")
    assert "Qaisha" not in (listing.text or "")


async def test_a_button_whose_person_became_restricted_is_answered_and_does_nothing(
    bot: Story,
) -> None:
    card = await bot.say(STRANGER, "/person Murager Alimuly")
    await bot.say(EDITOR, "/setvisibility Murager Alimuly restricted")
    for action in ("follow", "hist", "hear"):
        pressed = await bot.api.user_presses(STRANGER, card, _button(card, action))
        assert await answer_to(bot, pressed) == GONE, action
    listing = await bot.say(STRANGER, "/subscriptions")  # also the marker: nothing else said
    assert "Murager" not in (listing.text or "")
    assert len(bot.api.messages_to(STRANGER.id)) == 2
    # The editor's own card of them still works in the editor's private chat.
    shown = await bot.say(EDITOR, "/person Murager Alimuly")
    history = await bot.press(EDITOR, shown, _button(shown, "hist"))
    assert (history.text or "").startswith("<b>History</b> of <b>Murager Alimuly</b>")


@pytest.mark.parametrize(
    ("user", "older", "newer"),
    [
        (FOLLOWER, "Next ▶️", "◀️ Previous"),
        (RUSSIAN, "Далее ▶️", "◀️ Назад"),
        (KAZAKH, "Келесі ▶️", "◀️ Алдыңғы"),
    ],
)
async def test_history_pages_edit_the_message_in_place(
    bot: Story, user: User, older: str, newer: str
) -> None:
    language = user.language_code or "en"
    dates = await _notes(bot, QAISHA, 24)  # with "added": 25 entries, pages of 10, 10, 5
    first = await bot.say(user, "/history Qaisha Aqan")
    text = first.text or ""
    # The name in the reader's script where one is stored (no Russian spelling: Kazakh).
    name = "Qaisha Aqan" if language == "en" else "Қайша Ақан"
    assert text.startswith(t(language, "history.title", person=f"<b>{name}</b> #1"))
    assert text.index("note 23") < text.index("note 22") < text.index("note 14")
    assert "note 13" not in text
    assert '<a href="https://example.org/23">' in text
    when = format_when(dates[23], "Asia/Almaty", language)
    assert f"• <b>{when}</b> — " in text
    assert _labels(first) == [older]

    second = await _edited(bot, user, first, _button(first, "hist"))
    assert second.message_id == first.message_id and second.method == "editMessageText"
    assert "note 13" in (second.text or "") and "note 14" not in (second.text or "")
    assert _labels(second) == [newer, older]
    third = await _edited(bot, user, first, _button(second, "hist:1:o"))
    assert third.message_id == first.message_id
    assert "note 0" in (third.text or "") and t(language, "event.person_added") in (
        third.text or ""
    )
    assert _labels(third) == [newer]
    back = await _edited(bot, user, first, _button(third, "hist:1:n"))
    assert back.text == second.text
    assert len(bot.api.messages_to(user.id)) == 1  # every page in the one message


def _labels(message: SentMessage) -> list[str]:
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    return [button["text"] for row in rows for button in row]


async def test_a_page_past_the_end_and_a_double_press_are_answered_politely(
    bot: Story, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    await _notes(bot, QAISHA, 10)  # 11 entries: pages of 10 and 1
    first = await bot.say(STRANGER, "/history #1")
    next_page = _button(first, "hist")
    last = await _edited(bot, STRANGER, first, next_page)
    assert _labels(last) == ["◀️ Previous"] and "added to casewatch" in (last.text or "")
    # Next pressed twice (the second press before the edit showed): already there, no error.
    twice = await bot.api.user_presses(STRANGER, first, next_page, check_button=False)
    assert await answer_to(bot, twice) is None
    key = bot.application.bot_data[SERVICES].button_key
    beyond = button_data(key, "hist", QAISHA, "o", 1)  # older than the very first event
    pressed = await bot.api.user_presses(STRANGER, first, beyond, check_button=False)
    assert await answer_to(bot, pressed) == "There are no more entries that way."
    gone = button_data(key, "hist", 999999, "o", 5)
    pressed = await bot.api.user_presses(STRANGER, first, gone, check_button=False)
    assert await answer_to(bot, pressed) == GONE
    shown = bot.api.message(STRANGER.id, first.message_id)
    assert shown is not None and shown["reply_markup"] == last.reply_markup  # left as it was
    assert not [record for record in caplog.records if record.name == "handlers.errors"]


async def test_the_cards_history_button_sends_the_first_page_as_a_new_message(
    bot: Story,
) -> None:
    await _notes(bot, QAISHA, 12)
    card = await bot.say(KAZAKH, "/person Qaisha Aqan")
    history = await bot.press(KAZAKH, card, _button(card, "hist"))
    assert history.message_id != card.message_id
    assert (history.text or "").startswith("<b>Қайша Ақан</b> #1: <b>өзгерістер тарихы</b>")
    assert "note 11" in (history.text or "") and _labels(history) == ["Келесі ▶️"]
    assert bot.api.edits == []


async def test_the_hearings_button_lists_hearings_to_come_then_those_gone_by(
    bot: Story,
) -> None:
    await bot.say(EDITOR, "/sethearing Qaisha Aqan 2028-03-07 10:00 Zharkent district court")
    at = datetime(2028, 3, 7, 5, 0, tzinfo=UTC)  # 10:00 in Almaty
    for user, gone_by, held in (
        (STRANGER, "Earlier hearings", "held"),
        (RUSSIAN, "Прошедшие заседания", "состоялось"),
        (KAZAKH, "Өткен сот отырыстары", "өткізілген"),
    ):
        language = user.language_code or "en"
        card = await bot.say(user, "/person Qaisha Aqan")
        listed = await bot.press(user, card, _button(card, "hear"))
        text = listed.text or ""
        ahead = format_when(at, "Asia/Almaty", language) + ", Zharkent district court"
        assert text.index(ahead) < text.index(gone_by) < text.index(held), text
        assert "November 12 (the article gives no year)" in text


async def test_history_without_a_name_gets_the_usage_line(bot: Story) -> None:
    for user, usage in (
        (STRANGER, "Usage: /history &lt;name or #id&gt;"),
        (RUSSIAN, "/history &lt;имя или #id&gt;"),
        (KAZAKH, "/history &lt;есім немесе #id&gt;"),
    ):
        answer = await bot.say(user, "/history")
        assert usage in (answer.text or "")


async def test_a_restricted_persons_history_is_for_editors_in_private_only(
    bot: Story,
) -> None:
    await bot.say(EDITOR, "/setvisibility Murager Alimuly restricted")
    nobody = {
        "Murager Alimuly": "Nobody found for “Murager Alimuly”. Try another spelling, or part "
        "of the name.",
        "#2": "No person has the number #2.",
    }
    for user, chat in ((STRANGER, None), (FOLLOWER, GROUP), (EDITOR, GROUP)):
        for who in ("Murager Alimuly", "#2"):
            answer = await bot.say(user, f"/history {who}", chat=chat)
            assert answer.text == nobody[who], (user, chat)
    shown = await bot.say(EDITOR, "/history Murager Alimuly")
    assert (shown.text or "").startswith("<b>History</b> of <b>Murager Alimuly</b> #2")


async def test_in_a_group_members_read_and_only_admins_follow(bot: Story) -> None:
    card = await bot.say(STRANGER, "/person Qaisha Aqan", chat=GROUP)
    refused = await bot.api.user_presses(STRANGER, card, _button(card, "follow"))
    assert await answer_to(bot, refused) == REFUSAL
    history = await bot.press(STRANGER, card, _button(card, "hist"))  # reading is for all
    assert (history.text or "").startswith("<b>History</b> of <b>Qaisha Aqan</b>")
    listed = await bot.press(STRANGER, card, _button(card, "hear"))
    assert (listed.text or "").startswith("<b>Hearings</b> of <b>Qaisha Aqan</b>")
    followed = await bot.press(FOLLOWER, card, _button(card, "follow"))  # the admin
    assert (followed.text or "").startswith("You now follow <b>Qaisha Aqan</b>")
    refused = await bot.api.user_presses(STRANGER, followed, _button(followed, "unfollow"))
    assert await answer_to(bot, refused) == REFUSAL
    still = await bot.say(FOLLOWER, "/subscriptions", chat=GROUP)
    assert "Qaisha Aqan" in (still.text or "")
