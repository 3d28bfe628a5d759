# ruff: noqa: RUF001  (Russian and Kazakh answers, and full-width digits, are tested here)
"""Sharing people: t.me links that open a card or follow in one tap, the card's own link,
inline mode (public cards only), and the per-user lookup limit (SQLite and PostgreSQL)."""

from collections.abc import AsyncIterator

import pytest
from sqlmodel import col, select
from telegram import Update

from bot.app import ALLOWED_UPDATES
from bot.localapi import BotApiError, LocalBotApi, User
from handlers.context import SERVICES
from handlers.deeplinks import LinkAction, StartLink, follow_link, parse_start_payload, person_link
from handlers.flood import Admission, FloodLimit, Window
from handlers.inline import CACHE_SECONDS
from handlers.parsing import Who
from storage.engine import session_scope
from storage.models import Person, Subscription
from tests.e2e import (
    BYSTANDER,
    EDITOR,
    FOLLOWER,
    GROUP,
    KAZAKH,
    RUSSIAN,
    STRANGER,
    Story,
    story,
)
from tests.test_flood import Clock

BOT = "casewatch_bot"
WELCOME_START = "<b>casewatch</b> follows"


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url) as running_story:
        running_story.api.set_administrators(GROUP.id, [FOLLOWER.id], creator=BYSTANDER.id)
        yield running_story


async def _person_id(bot: Story, name: str) -> int:
    async with session_scope(bot.application.bot_data[SERVICES].engine) as session:
        person = (await session.exec(select(Person).where(Person.name == name))).one()
    assert person.id is not None
    return person.id


async def _follows(bot: Story, chat_id: int) -> list[int | None]:
    async with session_scope(bot.application.bot_data[SERVICES].engine) as session:
        found = select(Subscription.person_id).where(col(Subscription.chat_id) == chat_id)
        return list((await session.exec(found)).all())


def _nobody(query: str) -> str:
    if query.startswith("#"):
        return f"No person has the number {query}."
    return f"Nobody found for “{query}”. Try another spelling, or part of the name."


# --- links ---------------------------------------------------------------------------------


def test_links_are_the_bots_start_links_and_read_back() -> None:
    assert person_link(BOT, 12) == "https://t.me/casewatch_bot?start=p12"
    assert follow_link(BOT, 12) == "https://t.me/casewatch_bot?start=f12"
    assert parse_start_payload("p12") == StartLink(LinkAction.OPEN, Who(person_id=12))
    assert parse_start_payload("f9223372036854775807") == StartLink(
        LinkAction.FOLLOW, Who(person_id=2**63 - 1)
    )


@pytest.mark.parametrize("payload", ["", "p", "f", "P1", "x1", "card:1", "#1", "inline"])
def test_anything_but_a_link_of_ours_is_no_link(payload: str) -> None:
    assert parse_start_payload(payload) is None


@pytest.mark.parametrize(
    "payload",
    ["p0", "p-1", "p1a", "p 1", "pQaisha", "p9223372036854775808", "f１２", "p12f12", "fSairagul"],
)
def test_a_link_of_ours_with_no_id_in_it_names_nobody_never_a_name(payload: str) -> None:
    link = parse_start_payload(payload)
    assert link is not None and link.who.person_id is None and link.who.is_id


@pytest.mark.parametrize(
    ("user", "name", "link_line"),
    [
        (FOLLOWER, "Qaisha Aqan", "Link to this card: https://t.me/casewatch_bot?start=p"),
        # The name in the reader's script: the Kazakh Cyrillic spelling is the Cyrillic one.
        (RUSSIAN, "Қайша Ақан", "Ссылка на эту карточку: https://t.me/casewatch_bot?start=p"),
        (KAZAKH, "Қайша Ақан", "Осы карточканың сілтемесі: https://t.me/casewatch_bot?start=p"),
    ],
)
async def test_a_start_link_opens_the_card_which_shows_its_own_link(
    bot: Story, user: User, name: str, link_line: str
) -> None:
    person_id = await _person_id(bot, "Qaisha Aqan")
    card = await bot.say(user, f"/start p{person_id}")
    assert (card.text or "").startswith(f"<b>{name}</b> #{person_id}")
    assert f"{link_line}{person_id}" in (card.text or "")
    # The same line on the card /person shows.
    assert f"{link_line}{person_id}" in ((await bot.say(user, "/person Qaisha")).text or "")


async def test_a_follow_link_shows_the_card_asks_and_follows_on_the_press(bot: Story) -> None:
    person_id = await _person_id(bot, "Qaisha Aqan")
    await bot.api.user_sends(STRANGER, None, f"/start f{person_id}")
    card, question = await bot.api.wait_for_messages(STRANGER.id, 2)
    assert (card.text or "").startswith(f"<b>Qaisha Aqan</b> #{person_id}")
    assert (question.text or "").startswith(f"Follow <b>Qaisha Aqan</b> #{person_id}?")
    assert await _follows(bot, STRANGER.id) == []  # nothing before the press
    (follow,) = question.callback_data
    followed = await bot.press(STRANGER, question, follow)
    assert (followed.text or "").startswith(f"You now follow <b>Qaisha Aqan</b> #{person_id}")
    assert await _follows(bot, STRANGER.id) == [person_id]
    # Opened again: the card (its button says Unfollow), and no question.
    again = await bot.say(STRANGER, f"/start f{person_id}")
    marker = await bot.say(STRANGER, "/help")
    assert (again.text or "").startswith("<b>Qaisha Aqan</b>")
    assert (marker.text or "").startswith("<b>Commands</b>")


async def test_the_follow_question_is_in_the_users_language_and_script(bot: Story) -> None:
    person_id = await _person_id(bot, "Sairagul Sauytbay")
    for user, question in (
        (RUSSIAN, f"Подписаться на <b>Сайрагүл Сауытбай</b> #{person_id}?"),
        (KAZAKH, f"<b>Сайрагүл Сауытбай</b> #{person_id} бойынша жаңалықтарға жазыласыз ба?"),
        (STRANGER, f"Follow <b>Sairagul Sauytbay</b> #{person_id}?"),
    ):
        await bot.api.user_sends(user, None, f"/start f{person_id}")
        _, asked = await bot.api.wait_for_messages(user.id, 2)
        assert (asked.text or "").startswith(question)


async def test_in_a_group_only_an_admin_follows_through_a_follow_link(bot: Story) -> None:
    person_id = await _person_id(bot, "Qaisha Aqan")
    await bot.api.user_sends(STRANGER, GROUP, f"/start@{BOT} f{person_id}")
    _, question = await bot.api.wait_for_messages(GROUP.id, 2)
    (follow,) = question.callback_data
    await bot.api.user_presses(STRANGER, question, follow)
    await bot.api.wait_until(lambda: bool(bot.api.callback_answers))
    assert (bot.api.callback_answers[-1].text or "").startswith("In a group, only its admin")
    assert await _follows(bot, GROUP.id) == []
    followed = await bot.press(FOLLOWER, question, follow)
    assert (followed.text or "").startswith("You now follow <b>Qaisha Aqan</b>")
    assert await _follows(bot, GROUP.id) == [person_id]


async def test_a_restricted_or_unknown_person_behind_a_link_is_nobody(bot: Story) -> None:
    await bot.say(EDITOR, "/setvisibility Murager Alimuly restricted")
    hidden = await _person_id(bot, "Murager Alimuly")
    for payload in (f"p{hidden}", f"f{hidden}", "p999999"):
        answer = await bot.say(STRANGER, f"/start {payload}")
        assert answer.text == _nobody(f"#{payload[1:]}"), payload
    # No follow question came after the "nobody" of the follow link.
    assert len(bot.api.messages_to(STRANGER.id)) == 3
    # In a group not even an editor opens them; in their private chat an editor does.
    in_group = await bot.say(EDITOR, f"/start@{BOT} p{hidden}", chat=GROUP)
    assert in_group.text == _nobody(f"#{hidden}")
    card = await bot.say(EDITOR, f"/start p{hidden}")
    assert (card.text or "").startswith("<b>Murager Alimuly</b>")
    assert "t.me" not in (card.text or "")  # a restricted card has no link to share


async def test_a_payload_that_is_no_link_of_ours_gets_the_greeting(bot: Story) -> None:
    for payload in ("Qaisha", "card:1", "inline"):
        answer = await bot.say(STRANGER, f"/start {payload}")
        assert (answer.text or "").startswith(WELCOME_START), payload
    # A link of ours cut short, or made up around a name, finds nobody (never by the name).
    for payload in ("pQaisha", "fQaisha", "p1%20OR%201"):
        answer = await bot.say(STRANGER, f"/start {payload}")
        assert answer.text == _nobody(f"#{payload[1:]}"), payload
    assert await _follows(bot, STRANGER.id) == []


# --- inline mode ---------------------------------------------------------------------------


def test_the_bot_asks_telegram_for_inline_queries() -> None:
    assert Update.INLINE_QUERY in ALLOWED_UPDATES


async def test_inline_mode_shares_public_cards_briefly_cached_and_personal(bot: Story) -> None:
    person_id = await _person_id(bot, "Qaisha Aqan")
    query_id = await bot.api.user_sends_inline_query(STRANGER, "qaisha")
    answer = await bot.api.inline_answer(query_id)
    assert (answer.cache_time, answer.is_personal) == (CACHE_SECONDS, True) == (30, True)
    (result,) = answer.results
    assert (result["type"], result["id"], result["title"]) == (
        "article",
        str(person_id),
        "Qaisha Aqan",
    )
    content = result["input_message_content"]
    assert content["parse_mode"] == "HTML"
    assert content["message_text"].startswith(f"<b>Qaisha Aqan</b> #{person_id}")
    assert person_link(BOT, person_id) in content["message_text"]
    (buttons,) = result["reply_markup"]["inline_keyboard"]
    assert [button["url"] for button in buttons] == [
        person_link(BOT, person_id),
        follow_link(BOT, person_id),
    ]


async def test_inline_mode_never_offers_a_restricted_person_not_even_to_an_editor(
    bot: Story,
) -> None:
    await bot.say(EDITOR, "/setvisibility Murager Alimuly restricted")
    for user in (STRANGER, EDITOR):
        answer = await bot.api.inline_answer(
            await bot.api.user_sends_inline_query(user, "Murager Alimuly")
        )
        assert answer.results == []
        assert answer.button is not None and answer.button["start_parameter"] == "inline"
    # The editor still sees them in the private chat.
    assert "Murager" in ((await bot.say(EDITOR, "/find Murager")).text or "")


async def test_inline_mode_answers_in_the_askers_language_and_hints_on_an_empty_query(
    bot: Story,
) -> None:
    answer = await bot.api.inline_answer(await bot.api.user_sends_inline_query(RUSSIAN, "Qaster"))
    (result,) = answer.results
    assert result["title"] == "Қастер Мұсаханұлы"  # the name in the reader's script
    assert "Ссылка на эту карточку" in result["input_message_content"]["message_text"]
    assert [b["text"] for b in result["reply_markup"]["inline_keyboard"][0]] == [
        "Открыть в боте",
        "🔔 Подписаться",
    ]
    empty = await bot.api.inline_answer(await bot.api.user_sends_inline_query(KAZAKH, "  "))
    assert empty.results == []
    assert empty.button == {
        "text": "Карточкамен бөлісу үшін есімді теріңіз",
        "start_parameter": "inline",
    }


def _article(result_id: str, text: str = "card") -> dict[str, object]:
    return {
        "type": "article",
        "id": result_id,
        "title": "Qaisha Aqan",
        "input_message_content": {"message_text": text, "parse_mode": "HTML"},
    }


@pytest.mark.parametrize(
    ("results", "error"),
    [
        ([_article(str(n)) for n in range(51)], "RESULTS_TOO_MUCH"),
        ([_article("1"), _article("1")], "RESULT_ID_DUPLICATE"),
        ([_article("x" * 65)], "RESULT_ID_INVALID"),
        ([_article("")], "RESULT_ID_INVALID"),
        ([_article("1", "<b>open")], "can't parse entities"),
        ([_article("1", " ")], "message text is empty"),
        ([{**_article("1"), "type": "story"}], "RESULT_TYPE_INVALID"),
    ],
)
async def test_the_emulator_checks_inline_answers_as_telegram_does(
    results: list[object], error: str
) -> None:
    api = LocalBotApi()
    query_id = await api.user_sends_inline_query(STRANGER, "q")
    with pytest.raises(BotApiError, match=error):
        await api.call("answerInlineQuery", {"inline_query_id": query_id, "results": results})
    await api.call(
        "answerInlineQuery",
        {"inline_query_id": query_id, "results": [_article(str(n)) for n in range(50)]},
    )
    (answer,) = api.inline_answers
    assert (len(answer.results), answer.cache_time, answer.is_personal) == (50, 300, False)
    with pytest.raises(BotApiError, match="query ID is invalid"):  # answered once only
        await api.call("answerInlineQuery", {"inline_query_id": query_id, "results": []})


async def test_the_emulator_refuses_a_negative_cache_time_and_a_bad_start_parameter() -> None:
    api = LocalBotApi()
    query_id = await api.user_sends_inline_query(STRANGER, "q")
    for extra, error in (
        ({"cache_time": -1}, "CACHE_TIME_INVALID"),
        ({"button": {"text": "Open", "start_parameter": "a b"}}, "START_PARAM_INVALID"),
    ):
        with pytest.raises(BotApiError, match=error):
            await api.call(
                "answerInlineQuery", {"inline_query_id": query_id, "results": [], **extra}
            )


# --- the lookup limit ----------------------------------------------------------------------


def test_a_longer_window_caps_what_the_shorter_one_lets_through() -> None:
    clock = Clock()
    limit = FloodLimit(2, 60.0, clock, also=[Window(3, 3600.0)])
    assert [limit.admit(7) for _ in range(3)] == [Admission.ACT, Admission.ACT, Admission.WARN]
    assert limit.wait_seconds(7) == 60.0
    clock.now = 61.0  # the minute is free; the hour allows one more
    assert [limit.admit(7) for _ in range(3)] == [Admission.ACT, Admission.WARN, Admission.IGNORE]
    assert limit.wait_seconds(7) == 3600.0 - 61.0
    clock.now = 200.0  # the minute is free again, but the hour is not: told nothing new
    assert limit.admit(7) is Admission.IGNORE
    clock.now = 3600.0
    assert limit.admit(7) is Admission.ACT


LIMITED = {
    "en": "Too many people looked up in a short time. Please try again in 1 minute.",
    "ru": "Слишком много запросов о людях за короткое время. Попробуйте снова через 1 минуту.",
    "kk": "Қысқа уақыт ішінде адамдар туралы сұраулар тым көп болды. "
    "1 минуттан кейін қайталап көріңіз.",
}


async def test_past_the_lookup_limit_one_answer_then_silence_and_others_unaffected(
    database_url: str,
) -> None:
    async with story(database_url, lookups_per_minute=3) as bot:
        person_id = await _person_id(bot, "Qaisha Aqan")
        for text in ("/find qaisha", "Sairagul", f"/start p{person_id}", "/person Qaster"):
            await bot.api.user_sends(FOLLOWER, None, text)
        said = await bot.api.wait_for_messages(FOLLOWER.id, 4)
        assert said[3].text == LIMITED["en"]
        # Past the limit: a lookup is ignored, a button answered with the line, an inline
        # query gets nothing; what is no lookup is answered as ever (the marker).
        await bot.api.user_sends(FOLLOWER, None, "/find qaster")
        await bot.api.user_presses(FOLLOWER, said[0], said[0].callback_data[0])
        inline = await bot.api.inline_answer(
            await bot.api.user_sends_inline_query(FOLLOWER, "qaisha")
        )
        marker = await bot.say(FOLLOWER, "/subscriptions")
        assert (marker.text or "").startswith("This chat follows nobody yet")
        assert len(bot.api.messages_to(FOLLOWER.id)) == 5
        assert [answer.text for answer in bot.api.callback_answers] == [LIMITED["en"]]
        assert inline.results == []
        # Someone else looks people up as ever; so does an editor past the limit.
        assert "Qaisha Aqan" in ((await bot.say(BYSTANDER, "/find qaisha")).text or "")
        for _ in range(5):
            await bot.api.user_sends(EDITOR, None, "/find qaisha")
        found = await bot.api.wait_for_messages(EDITOR.id, 5)
        assert all("Qaisha Aqan" in (message.text or "") for message in found)


async def test_naming_someone_by_id_in_any_command_counts_as_a_lookup(
    database_url: str,
) -> None:
    """No command walks the records past the limit: /subscribe, /calendar or /hearings with a
    name or an id count, and so does a command with its argument on the next line."""
    async with story(database_url, lookups_per_minute=4) as bot:
        for text in (
            "/subscribe #1",
            "/calendar #2",
            "/hearings week",
            "/find\nqaisha",
            "/subscribe #3",
        ):
            await bot.api.user_sends(FOLLOWER, None, text)
        said = await bot.api.wait_for_messages(FOLLOWER.id, 5)
        assert said[4].text == LIMITED["en"]
        # What names no one is no lookup, and still answered.
        marker = await bot.say(FOLLOWER, "/calendar")
        assert "Too many" not in (marker.text or "")


async def test_the_lookup_limit_answer_is_in_the_users_language(database_url: str) -> None:
    async with story(database_url, lookups_per_minute=1) as bot:
        for user in (RUSSIAN, KAZAKH, STRANGER):
            for _ in range(2):
                await bot.api.user_sends(user, None, "/find qaisha")
        for user, lang in ((RUSSIAN, "ru"), (KAZAKH, "kk"), (STRANGER, "en")):
            said = await bot.api.wait_for_messages(user.id, 2)
            assert said[1].text == LIMITED[lang]
