# ruff: noqa: RUF001  (Russian and Kazakh answers are what is tested here)
"""Languages end to end: a chat's language is stored on first contact and changed with /lang
(in a group by its administrators only), answers and pushes come in it, command menus are
set per language and per editor, and cards speak the reader's language and script."""

from collections.abc import AsyncIterator
from contextvars import copy_context

import pytest
from telegram import InlineQuery, Update
from telegram import User as TelegramUser

from bot.localapi import User
from handlers.context import SERVICES, language, remember_language
from handlers.i18n import t
from handlers.language import parse_language
from handlers.parsing import BadArguments
from storage.engine import session_scope
from storage.models import Chat
from tests.e2e import EDITOR, FOLLOWER, GROUP, KAZAKH, RUSSIAN, STRANGER, Story, story

EDITOR_SCOPE = {"type": "chat", "chat_id": EDITOR.id}


def _update(update_id: int, language_code: str) -> Update:
    """An update from a user whose Telegram speaks `language_code` (an inline query: no chat)."""
    user = TelegramUser(RUSSIAN.id, RUSSIAN.first_name, is_bot=False, language_code=language_code)
    return Update(update_id, inline_query=InlineQuery("1", user, query="", offset=""))


def test_a_chats_language_holds_for_its_own_update_only() -> None:
    def handle() -> None:
        first, next_one = _update(1, "ru"), _update(2, "ru")
        assert language(first) == "ru"  # not loaded: Telegram's language
        remember_language(first, "kk")
        assert language(first) == "kk"
        assert language(next_one) == "ru"  # never another update's

    # In a context of its own, as each update's task has: nothing is left for other tests.
    copy_context().run(handle)


@pytest.mark.parametrize(("text", "code"), [("kk", "kk"), (" RU ", "ru"), ("en-GB", "en")])
def test_parse_language_knows_our_languages(text: str, code: str) -> None:
    assert parse_language(text) == code


@pytest.mark.parametrize("text", ["de", "russian", "k k"])
def test_parse_language_refuses_any_other(text: str) -> None:
    with pytest.raises(BadArguments):
        parse_language(text)


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url) as running_story:
        running_story.api.set_administrators(GROUP.id, [FOLLOWER.id])
        yield running_story


async def _stored_language(bot: Story, chat_id: int) -> str | None:
    async with session_scope(bot.application.bot_data[SERVICES].engine) as session:
        chat = await session.get(Chat, chat_id)
    return None if chat is None else chat.language


async def test_first_contact_stores_the_users_language_which_then_outlasts_telegrams(
    bot: Story,
) -> None:
    greeting = await bot.say(RUSSIAN, "/start")
    assert greeting.text == t("ru", "start.welcome")
    followed = await bot.say(RUSSIAN, "/subscribe Qaisha Aqan")  # the chat is stored now
    assert (followed.text or "").startswith("Вы подписались на")
    assert await _stored_language(bot, RUSSIAN.id) == "ru"
    # The same person with Telegram switched to English: the chat keeps its language.
    same_person_in_english = User(RUSSIAN.id, RUSSIAN.first_name, language_code="en")
    answer = await bot.say(same_person_in_english, "/find Nobody Known")
    assert (answer.text or "").startswith("По запросу «Nobody Known» никого не найдено")


async def test_lang_switches_the_chat_to_kazakh_and_later_pushes_arrive_in_kazakh(
    bot: Story,
) -> None:
    followed = await bot.say(RUSSIAN, "/subscribe Qaisha Aqan")
    assert (followed.text or "").startswith("Вы подписались на")
    switched = await bot.say(RUSSIAN, "/lang kk")
    assert switched.text == t("kk", "lang.changed", language="Қазақша")
    assert await _stored_language(bot, RUSSIAN.id) == "kk"
    await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")
    push = (await bot.api.wait_for_messages(RUSSIAN.id, 3))[2]
    assert (push.text or "").startswith("🔔 <b>Қайша Ақан</b> #1\n")  # in the reader's script
    assert "пана мәртебесі өзгерді: <b>босқын</b>" in (push.text or "")


async def test_lang_alone_shows_the_language_with_a_button_for_each(bot: Story) -> None:
    unknown = await bot.say(KAZAKH, "/lang de")
    assert unknown.text == t("kk", "error.usage") + " " + t("kk", "usage.lang")
    assert await _stored_language(bot, KAZAKH.id) is None
    shown = await bot.say(KAZAKH, "/lang")
    assert shown.text == t("kk", "lang.current", language="Қазақша")
    rows = (shown.reply_markup or {})["inline_keyboard"]
    assert [button["text"] for row in rows for button in row] == ["English", "Русский", "Қазақша"]
    english = shown.callback_data[0]
    changed = await bot.press(KAZAKH, shown, english)
    assert changed.text == t("en", "lang.changed", language="English")
    assert await _stored_language(bot, KAZAKH.id) == "en"
    await bot.api.user_presses(KAZAKH, shown, "lang:kk:forged", check_button=False)
    await bot.api.wait_until(lambda: len(bot.api.callback_answers) == 2)
    assert bot.api.callback_answers[-1].text == t("en", "conversation.stale_button")
    assert await _stored_language(bot, KAZAKH.id) == "en"


async def test_in_a_group_only_its_administrators_change_its_language(bot: Story) -> None:
    refused = await bot.say(STRANGER, "/lang ru", chat=GROUP)
    assert refused.text == t("en", "group.admins_only")
    shown = await bot.say(STRANGER, "/lang", chat=GROUP)  # reading is for everyone
    await bot.api.user_presses(STRANGER, shown, shown.callback_data[1])
    await bot.api.wait_until(lambda: bool(bot.api.callback_answers))
    assert bot.api.callback_answers[-1].text == t("en", "group.admins_only")
    assert await _stored_language(bot, GROUP.id) is None
    changed = await bot.say(FOLLOWER, "/lang ru", chat=GROUP)
    assert changed.text == t("ru", "lang.changed", language="Русский")
    answer = await bot.say(STRANGER, "/subscriptions", chat=GROUP)  # an English member
    assert answer.text == t("ru", "subscriptions.none")


async def test_command_menus_per_language_and_the_editors_own(bot: Story) -> None:
    menus = {code: bot.api.commands_for(language_code=code) for code in ("", "ru", "kk")}
    for code, lang in (("", "en"), ("ru", "ru"), ("kk", "kk")):
        described = {command["command"]: command["description"] for command in menus[code]}
        assert described["find"] == t(lang, "menu.find")
        assert described["lang"] == t(lang, "menu.lang")
        assert "addperson" not in described
    editors = {c["command"]: c["description"] for c in bot.api.commands_for(scope=EDITOR_SCOPE)}
    assert editors["addperson"] == t("en", "menu.addperson")
    assert editors["find"] == t("en", "menu.find")
    await bot.say(EDITOR, "/lang ru")
    editors = {c["command"]: c["description"] for c in bot.api.commands_for(scope=EDITOR_SCOPE)}
    assert editors["addperson"] == t("ru", "menu.addperson")


async def test_a_subscribers_lang_sets_that_chats_menu_without_editor_commands(
    bot: Story,
) -> None:
    scope = {"type": "chat", "chat_id": FOLLOWER.id}
    assert bot.api.commands_for(scope=scope) == []
    await bot.say(FOLLOWER, "/lang kk")
    menu = {c["command"]: c["description"] for c in bot.api.commands_for(scope=scope)}
    assert menu["find"] == t("kk", "menu.find")
    assert "addperson" not in menu


async def test_a_russian_card_speaks_russian_and_shows_the_cyrillic_name_first(
    bot: Story,
) -> None:
    card = (await bot.say(RUSSIAN, "/person Qaisha Aqan")).text or ""
    assert card.startswith("<b>Қайша Ақан</b> #1\nДругие написания: Qaisha Aqan")
    assert "Стадия: судебное разбирательство" in card
    assert "национальность: казахская" in card and "местонахождение: Казахстан" in card
    assert "Дело: illegal border crossing, court in Zharkent\n" in card  # the city said once
    kazakh = (await bot.say(KAZAKH, "/person Sairagul Sauytbay")).text or ""
    assert kazakh.startswith("<b>Сайрагүл Сауытбай</b>")
    assert "азаматтығы: Қытай" in kazakh and "Сатысы: ұстап беру (экстрадиция)" in kazakh
    english = (await bot.say(STRANGER, "/person Сайрагүл Сауытбай")).text or ""
    assert english.startswith("<b>Sairagul Sauytbay</b>")
    assert "citizenship: China" in english


async def test_found_people_are_counted_with_the_russian_plural_forms(bot: Story) -> None:
    found = await bot.say(RUSSIAN, "/find Aqan")
    assert (found.text or "").startswith("Найден 1 человек:")
    await bot.say(EDITOR, "/addperson Aqan Bek")
    found = await bot.say(RUSSIAN, "/find Aqan")
    assert (found.text or "").startswith("Найдено 2 человека:")
    for name in ("Aqan Nur", "Aqan Dos", "Aqan Er"):
        await bot.say(EDITOR, f"/addperson {name}")
    found = await bot.say(RUSSIAN, "/find Aqan")
    assert (found.text or "").startswith("Найдено 5 человек:")
