# ruff: noqa: RUF001  (Russian answers, and Arabic-Indic digits, are what is tested here)
"""The conversation: nobody waits for someone else's flood, nothing a person sends goes
unanswered in a private chat, ids are strict, and groups hear the bot only when they ask."""

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from telegram import Chat as TelegramChat
from telegram import Message, Update
from telegram import User as TelegramUser
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.localapi import Chat, User
from bot.updates import ChatOrderedUpdateProcessor
from handlers.buttons import button_data
from handlers.context import SERVICES, CaseContext
from handlers.replies import reply
from tests.e2e import (
    BYSTANDER,
    EDITOR,
    FOLLOWER,
    GROUP,
    RUSSIAN,
    STRANGER,
    Story,
    answer_to,
    story,
)

HELP_HEADER = "<b>Commands</b>"
UNKNOWN_COMMAND = "I do not know that command. /help lists the ones I do."
NOT_RUN_AGAIN = "Edited messages are not run again. To run a command, send it as a new message."
STALE_BUTTON = "This button no longer works. Send /help for the commands."
HINT = "Send me a person's name to look them up, or /help for the commands."


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url) as running_story:
        yield running_story


async def said_since(bot: Story, user: User, since: int, chat: Chat | None = None) -> list[str]:
    """`user` sends /help as a marker: what the bot said in the chat from its message number
    `since` until the marker's answer.

    A chat's updates are handled in order, so once /help is answered, everything sent before
    it has been handled too.
    """
    chat_id = (chat or user.private_chat).id
    await bot.api.user_sends(user, chat, "/help")
    await bot.api.wait_until(
        lambda: any(
            (m.text or "").startswith(HELP_HEADER) for m in bot.api.messages_to(chat_id)[since:]
        )
    )
    said = [m.text or "" for m in bot.api.messages_to(chat_id)[since:]]
    assert said[-1].startswith(HELP_HEADER)
    return said[:-1]


async def answers_before_marker(
    bot: Story, user: User, texts: list[str], chat: Chat | None = None
) -> list[str]:
    """`user` sends `texts`, then /help as a marker: what the bot said in between."""
    before = len(bot.api.messages_to((chat or user.private_chat).id))
    for text in texts:
        await bot.api.user_sends(user, chat, text)
    return await said_since(bot, user, before, chat)


# ---- concurrency ------------------------------------------------------------------------


def _update(update_id: int, chat_id: int) -> Update:
    user = TelegramUser(chat_id, "Someone", is_bot=False)
    chat = TelegramChat(chat_id, TelegramChat.PRIVATE)
    return Update(update_id, message=Message(update_id, datetime.now(UTC), chat, from_user=user))


async def test_a_chat_waits_for_its_own_earlier_update_and_no_other_chat_does() -> None:
    processor = ChatOrderedUpdateProcessor()
    first_may_finish = asyncio.Event()
    done: list[str] = []

    async def handle(name: str, wait: asyncio.Event | None = None) -> None:
        if wait is not None:
            await wait.wait()
        done.append(name)

    first = asyncio.create_task(
        processor.process_update(_update(1, 5), handle("chat 5, first", first_may_finish))
    )
    second = asyncio.create_task(processor.process_update(_update(2, 5), handle("chat 5, second")))
    other = asyncio.create_task(processor.process_update(_update(3, 6), handle("chat 6")))
    await other
    assert done == ["chat 6"]  # chat 6 did not wait for chat 5's slow update...
    first_may_finish.set()
    await asyncio.gather(first, second)
    assert done == ["chat 6", "chat 5, first", "chat 5, second"]  # ...chat 5's second did
    assert not processor._chats  # nothing kept for chats with nothing in hand


async def test_a_flood_from_one_user_does_not_hold_up_another_users_answer(bot: Story) -> None:
    for _ in range(60):
        await bot.api.user_sends(FOLLOWER, None, "/find kaisha")
    answer = await bot.say(BYSTANDER, "/find Qaster")
    flood = await bot.api.wait_for_messages(FOLLOWER.id, 21, timeout=60)
    assert "Qaster Musakhanuly" in (answer.text or "")
    # Answered while the flooder was still being answered: before the flooder's tenth
    # answer (handled one after another, each as long as the unloaded /find above).
    assert answer.time < flood[9].time


async def test_a_chats_messages_are_answered_in_the_order_they_were_sent(bot: Story) -> None:
    names = ["Qaisha Aqan", "Qaster Musakhanuly", "Sairagul Sauytbay", "Qaisha Aqan"]
    said = await answers_before_marker(bot, FOLLOWER, [f"/find {name}" for name in names])
    assert len(said) == len(names)
    assert all(name in text for name, text in zip(names, said, strict=True))


# ---- strict ids -------------------------------------------------------------------------


async def test_ids_that_cannot_be_are_nobody_and_alert_no_one(
    bot: Story, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    texts = [
        "/person #²",
        "/person #١",  # Arabic-Indic 1: person 1 exists, but this is not how ids are written
        "/person #" + "1" * 25,
        "/subscribe #-1",
        "/start p²",
        "/start p" + "9" * 25,
    ]
    said = await answers_before_marker(bot, STRANGER, texts)
    labels = ["#²", "#١", "#" + "1" * 25, "#-1", "#²", "#" + "9" * 25]
    assert said == [f"No person has the number {label}." for label in labels]
    assert not [record for record in caplog.records if record.name == "handlers.errors"]


async def test_forged_button_data_is_answered_does_nothing_and_alerts_no_one(
    bot: Story, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    found = await bot.say(STRANGER, "/find Qaster")
    key = bot.application.bot_data[SERVICES].button_key
    forged = ["card:²", "follow:" + "1" * 25, "unfollow:-3", "card:0x1", "card:3", "hist:3:o:9"]
    for data in [*forged, button_data(key, "card", 3).replace("3", "4", 1)]:
        pressed = await bot.api.user_presses(STRANGER, found, data, check_button=False)
        assert await answer_to(bot, pressed) == STALE_BUTTON, data
    for data in (button_data(key, "card", 999999), button_data(key, "follow", "x")):
        pressed = await bot.api.user_presses(STRANGER, found, data, check_button=False)
        assert await answer_to(bot, pressed) == "This person's record is no longer available here."
    assert await said_since(bot, STRANGER, 1) == []
    assert not [record for record in caplog.records if record.name == "handlers.errors"]


async def test_a_button_no_handler_knows_is_answered(bot: Story) -> None:
    found = await bot.say(STRANGER, "/find Qaster")
    await bot.api.user_presses(STRANGER, found, "vote:1", check_button=False)
    await bot.api.wait_until(lambda: bool(bot.api.callback_answers))
    assert bot.api.callback_answers[-1].text == STALE_BUTTON


# ---- never silent in private ----------------------------------------------------------------


async def test_unknown_commands_point_to_help(bot: Story) -> None:
    said = await answers_before_marker(bot, STRANGER, ["/foo", "/verdicts Qaisha"])
    assert said == [UNKNOWN_COMMAND, UNKNOWN_COMMAND]


async def test_plain_text_in_private_is_a_find(bot: Story) -> None:
    found = await bot.say(STRANGER, "Qaisha")
    key = bot.application.bot_data[SERVICES].button_key
    assert "Qaisha Aqan" in (found.text or "")
    assert found.callback_data == [button_data(key, "card", 1)]
    nobody = await bot.say(STRANGER, "hello")
    assert nobody.text == (
        "Nobody found for “hello”. Try another spelling, or part of the name.\n" + HINT
    )
    russian = await bot.say(RUSSIAN, "привет")
    assert russian.text == (
        "По запросу «привет» никого не найдено. Попробуйте другое написание или часть имени.\n"
        "Отправьте имя человека, чтобы найти его, или /help — список команд."
    )


async def test_a_command_or_button_added_after_the_fallbacks_is_not_taken_for_unknown(
    bot: Story,
) -> None:
    async def later(update: Update, context: CaseContext) -> None:
        await reply(update, "later")

    async def later_pressed(update: Update, context: CaseContext) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("pressed")

    bot.application.add_handler(CommandHandler("later", later))
    bot.application.add_handler(CallbackQueryHandler(later_pressed, pattern="^later:"))
    found = await bot.say(STRANGER, "/find Qaster")
    await bot.api.user_presses(STRANGER, found, "later:1", check_button=False)
    assert await answers_before_marker(bot, STRANGER, ["/later"]) == ["later"]
    assert [answer.text for answer in bot.api.callback_answers] == ["pressed"]


async def test_a_file_or_sticker_in_private_gets_a_hint(bot: Story) -> None:
    before = len(bot.api.messages_to(STRANGER.id))
    await bot.api.user_sends_document(STRANGER, None, "photo.jpg", b"\xff\xd8", None)
    hint = (await bot.api.wait_for_messages(STRANGER.id, before + 1))[before]
    assert hint.text == HINT


# ---- edited messages ------------------------------------------------------------------------


async def test_an_edited_editor_command_is_not_run_again(bot: Story) -> None:
    sent = await bot.api.user_sends(EDITOR, None, "/setdetention Qaisha Aqan released")
    saved = (await bot.api.wait_for_messages(EDITOR.id, 1))[0]
    assert "Saved for <b>Qaisha Aqan</b>" in (saved.text or "")
    await bot.api.user_edits(EDITOR, None, sent, "/setdetention Qaisha Aqan deported")
    assert await said_since(bot, EDITOR, 1) == [NOT_RUN_AGAIN]
    card = await bot.say(EDITOR, "/person Qaisha Aqan")
    assert "released" in (card.text or "") and "deported" not in (card.text or "")


async def test_an_edit_that_turns_text_into_a_command_runs_nothing(bot: Story) -> None:
    sent = await bot.api.user_sends(EDITOR, None, "Qaisha")
    await bot.api.wait_for_messages(EDITOR.id, 1)
    await bot.api.user_edits(EDITOR, None, sent, "/addperson Nobody Atall")
    assert await said_since(bot, EDITOR, 1) == [NOT_RUN_AGAIN]
    nobody = await bot.say(EDITOR, "/find Nobody Atall")
    assert (nobody.text or "").startswith("Nobody found")


async def test_in_a_group_an_edit_gets_no_answer(bot: Story) -> None:
    sent = await bot.api.user_sends(FOLLOWER, GROUP, "/find Qaisha")
    await bot.api.wait_for_messages(GROUP.id, 1)
    await bot.api.user_edits(FOLLOWER, GROUP, sent, "/find Qaster")
    assert await said_since(bot, FOLLOWER, 1, GROUP) == []  # neither run again, nor a word


# ---- groups: quiet unless addressed -------------------------------------------------------


async def test_in_a_group_the_bot_answers_only_when_addressed(bot: Story) -> None:
    said = await answers_before_marker(
        bot, FOLLOWER, ["hello everyone", "Qaisha", "/foo", "/find@other_bot Qaisha"], GROUP
    )
    assert said == []
    said = await answers_before_marker(
        bot, FOLLOWER, ["/foo@casewatch_bot", "@casewatch_bot Qaster", "@CaseWatch_Bot"], GROUP
    )
    assert said[0] == UNKNOWN_COMMAND
    assert "Qaster Musakhanuly" in said[1]
    assert said[2] == HINT


async def test_in_a_group_a_reply_to_the_bot_is_a_find(bot: Story) -> None:
    found = await bot.say(FOLLOWER, "/find Qaisha", GROUP)
    before = len(bot.api.messages_to(GROUP.id))
    await bot.api.user_sends(FOLLOWER, GROUP, "Sayragul", reply_to=found)
    answer = (await bot.api.wait_for_messages(GROUP.id, before + 1))[before]
    assert "Sairagul Sauytbay" in (answer.text or "")
