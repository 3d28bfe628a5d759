"""The local Bot API emulator, driven over HTTP by python-telegram-bot's real `telegram.Bot`."""

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import (
    Bot,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest, RequestData

from bot.localapi import Chat, LocalBotApi, User, serve_local_api

TOKEN = "123456:TEST-token-for-the-local-bot-api"
ALICE = User(id=1001, first_name="Alice", username="alice")
BOB = User(id=1002, first_name="Bob", language_code="ru")
GROUP = Chat(id=-500, type="group", title="Monitors")


class RecordingRequest(HTTPXRequest):
    """An HTTPXRequest that keeps every response body the bot received."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = HTTPXRequest.DEFAULT_NONE,
        write_timeout: object = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: object = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: object = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, body = await super().do_request(
            url,
            method,
            request_data,
            read_timeout,  # type: ignore[arg-type]
            write_timeout,  # type: ignore[arg-type]
            connect_timeout,  # type: ignore[arg-type]
            pool_timeout,  # type: ignore[arg-type]
        )
        self.bodies.append(body)
        return code, body


# PTB 22.2+ warns, even while building RetryAfter, that its int retry_after is going away.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)


def retry_after_seconds(error: RetryAfter) -> float:
    """The error's retry_after in seconds, whether PTB gives an int or (soon) a timedelta."""
    value = error.retry_after
    return value if isinstance(value, int) else value.total_seconds()


@pytest.fixture
def api() -> LocalBotApi:
    return LocalBotApi(TOKEN, username="casewatch_test_bot")


@pytest.fixture
async def url(api: LocalBotApi) -> AsyncIterator[str]:
    async with serve_local_api(api) as base_url:
        yield base_url


@pytest.fixture
def recorder() -> RecordingRequest:
    return RecordingRequest()


@pytest.fixture
async def bot(url: str, recorder: RecordingRequest) -> AsyncIterator[Bot]:
    bot = Bot(
        TOKEN,
        base_url=f"{url}/bot",
        base_file_url=f"{url}/file/bot",
        request=recorder,
        get_updates_request=HTTPXRequest(),
    )
    async with bot:
        yield bot


async def test_get_me_describes_the_emulated_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "casewatch_test_bot", True)


async def test_user_message_arrives_through_long_polling(api: LocalBotApi, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()

    started = time.monotonic()
    await api.user_sends(ALICE, None, "/start@casewatch_test_bot hello")
    updates = await poll

    assert time.monotonic() - started < 1
    [update] = updates
    assert update.message is not None
    assert update.message.text == "/start@casewatch_test_bot hello"
    assert update.message.chat.id == ALICE.id
    [entity] = update.message.entities
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 25)

    # The next poll's offset confirms it; nothing is left.
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert api.pending_updates == []


async def test_poll_with_nothing_waiting_returns_empty_after_its_timeout(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 < time.monotonic() - started < 3


async def test_update_ids_increase_and_limit_is_honoured(api: LocalBotApi, bot: Bot) -> None:
    for text in ("one", "two", "three"):
        await api.user_sends(BOB, GROUP, text)
    first = await bot.get_updates(limit=2)
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in (*first, *rest) if u.message] == ["one", "two", "three"]
    assert [u.update_id for u in (*first, *rest)] == [1, 2, 3]


async def test_sent_message_is_stored_with_its_reply_markup(api: LocalBotApi, bot: Bot) -> None:
    await api.user_sends(ALICE, None, "/start")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Follow", callback_data="follow:7")]])

    message = await bot.send_message(
        ALICE.id, "<b>Hearing</b> moved", parse_mode="HTML", reply_markup=keyboard
    )

    assert message.message_id == 2  # the user's /start was message 1 in this chat
    assert message.text == "Hearing moved"
    assert message.entities[0].type == "bold"
    assert message.reply_markup == keyboard
    [record] = api.messages_to(ALICE.id)
    assert (record.method, record.text, record.parse_mode) == (
        "sendMessage",
        "<b>Hearing</b> moved",
        "HTML",
    )
    assert record.callback_data == ["follow:7"]
    assert record.message_id == message.message_id


async def test_over_long_and_empty_texts_are_rejected(api: LocalBotApi, bot: Bot) -> None:
    await api.user_sends(ALICE, None, "hi")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(ALICE.id, "x" * 4097)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(ALICE.id, "   ")
    await bot.send_message(ALICE.id, "x" * 4096)
    assert api.calls["sendMessage"] == 3
    assert len(api.sent) == 1


async def test_malformed_html_is_rejected(api: LocalBotApi, bot: Bot) -> None:
    await api.user_sends(ALICE, None, "hi")
    for text in ("<b>open", "a < b", "Tom & Jerry", "<b><i>x</b></i>", "<br>"):
        with pytest.raises(BadRequest, match="Can't parse entities"):
            await bot.send_message(ALICE.id, text, parse_mode="HTML")
    await bot.send_message(
        ALICE.id, "Tom &amp; Jerry &lt;3 <a href='https://x.kz'>src</a>", "HTML"
    )
    assert api.sent[0].text is not None


async def test_unknown_chat_is_not_found(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hello")


async def test_injected_429_raises_retry_after(api: LocalBotApi, bot: Bot) -> None:
    await api.user_sends(ALICE, None, "hi")
    api.fail_next("sendMessage", chat_id=ALICE.id, error_code=429, retry_after=7)

    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(ALICE.id, "first")
    assert retry_after_seconds(raised.value) == 7

    await bot.send_message(ALICE.id, "second")
    assert [record.text for record in api.sent] == ["second"]
    assert api.calls["sendMessage"] == 2
    assert api.failed[0].error_code == 429


async def test_rate_limit_answers_429_beyond_the_window(api: LocalBotApi, bot: Bot) -> None:
    await api.user_sends(ALICE, None, "hi")
    api.rate_limit(per_second=3)
    for n in range(3):
        await bot.send_message(ALICE.id, f"message {n}")
    with pytest.raises(RetryAfter):
        await bot.send_message(ALICE.id, "one too many")


async def test_blocked_chat_raises_forbidden_until_unblocked(api: LocalBotApi, bot: Bot) -> None:
    await api.user_sends(ALICE, None, "/start")
    api.block(ALICE.id)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ALICE.id, "news")
    api.unblock(ALICE.id)
    await bot.send_message(ALICE.id, "news")
    assert len(api.messages_to(ALICE.id)) == 1


async def test_migrated_group_raises_chat_migrated(api: LocalBotApi, bot: Bot) -> None:
    await api.user_sends(BOB, GROUP, "/subscribe all")
    supergroup = api.migrate(GROUP.id, -1001234567890)

    with pytest.raises(ChatMigrated) as raised:
        await bot.send_message(GROUP.id, "news")
    assert raised.value.new_chat_id == supergroup.id

    await bot.send_message(supergroup.id, "news")
    assert [record.chat_id for record in api.sent] == [supergroup.id]


async def test_button_press_arrives_and_is_answered(api: LocalBotApi, bot: Bot) -> None:
    await api.user_sends(ALICE, None, "/person 7")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Follow", callback_data="follow:7")]])
    await bot.send_message(ALICE.id, "Person #7", reply_markup=keyboard)
    [sent] = await api.wait_for_messages(ALICE.id, 1, timeout=1)

    await api.user_presses(ALICE, sent, "follow:7")
    updates = await bot.get_updates(offset=2)

    query = updates[-1].callback_query
    assert query is not None and query.message is not None
    assert (query.data, query.from_user.id, query.message.message_id) == (
        "follow:7",
        ALICE.id,
        sent.message_id,
    )
    assert await query.answer("Followed")
    assert api.callback_answers[0].text == "Followed"
    with pytest.raises(BadRequest, match="Query is too old"):
        await query.answer("again")
    with pytest.raises(ValueError, match="no button"):
        await api.user_presses(ALICE, sent, "admin:delete")


async def test_edit_replaces_text_and_refuses_no_change(api: LocalBotApi, bot: Bot) -> None:
    await api.user_sends(ALICE, None, "hi")
    message = await bot.send_message(ALICE.id, "Hearing on Monday")
    edited = await bot.edit_message_text("Hearing on Tuesday", ALICE.id, message.message_id)
    assert isinstance(edited, object) and api.message(ALICE.id, message.message_id) is not None
    assert api.edits[0].text == "Hearing on Tuesday"
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("Hearing on Tuesday", ALICE.id, message.message_id)


async def test_sent_document_keeps_its_bytes(api: LocalBotApi, bot: Bot) -> None:
    await api.user_sends(ALICE, None, "/export")
    message = await bot.send_document(
        ALICE.id, b'{"people": []}', filename="export.json", caption="All records"
    )
    assert message.document is not None and message.document.file_name == "export.json"
    [record] = api.messages_to(ALICE.id)
    assert (record.method, record.document, record.document_filename, record.text) == (
        "sendDocument",
        b'{"people": []}',
        "export.json",
        "All records",
    )


async def test_user_document_can_be_downloaded(api: LocalBotApi, bot: Bot) -> None:
    content = "\n".join(["имя,год рождения", "Нурлан,1983"]).encode()
    update = await api.user_sends_document(ALICE, None, "people.csv", content, caption="/import")
    file_id = update["message"]["document"]["file_id"]

    file = await bot.get_file(file_id)
    assert bytes(await file.download_as_bytearray()) == content
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("no-such-file")


async def test_command_menus_are_kept_per_language(api: LocalBotApi, bot: Bot) -> None:
    await bot.set_my_commands([("find", "Find a person")])
    await bot.set_my_commands([("find", "Найти человека")], language_code="ru")
    assert [c.description for c in await bot.get_my_commands(language_code="ru")] == [
        "Найти человека"
    ]
    assert api.commands_for()[0]["description"] == "Find a person"
    await bot.delete_my_commands(language_code="ru")
    assert await bot.get_my_commands(language_code="ru") == ()


async def test_wrong_token_and_unknown_method_answer_like_telegram(url: str) -> None:
    async with httpx.AsyncClient() as client:
        unauthorized = await client.post(f"{url}/bot999:wrong/getMe")
        malformed = await client.post(f"{url}/botnot-a-token/getMe")
        unknown = await client.post(f"{url}/bot{TOKEN}/sendTelepathy")
        json_body = await client.post(f"{url}/bot{TOKEN}/getMe", json={})
    assert (unauthorized.status_code, unauthorized.json()["description"]) == (401, "Unauthorized")
    assert (malformed.status_code, unknown.status_code) == (404, 404)
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert json_body.json()["result"]["username"] == "casewatch_test_bot"

    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=f"{url}/bot"):
            pass


async def test_wait_for_messages_times_out(api: LocalBotApi, bot: Bot) -> None:
    with pytest.raises(TimeoutError, match="expected 1 messages"):
        await api.wait_for_messages(ALICE.id, 1, timeout=0.2)


async def test_token_never_appears_in_a_response_body(
    api: LocalBotApi, bot: Bot, recorder: RecordingRequest
) -> None:
    update = await api.user_sends_document(ALICE, None, "a.txt", b"a")
    await bot.send_message(ALICE.id, "hello")
    await bot.send_document(ALICE.id, b"b", filename="b.txt")
    file = await bot.get_file(update["message"]["document"]["file_id"])
    await file.download_as_bytearray()
    with pytest.raises(BadRequest):
        await bot.send_message(777, "nobody")
    await bot.get_webhook_info()

    assert len(recorder.bodies) >= 6
    secret = TOKEN.partition(":")[2]
    assert not [body for body in recorder.bodies if secret.encode() in body]


async def test_a_polling_application_answers_a_command(api: LocalBotApi, url: str) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Greet, with the name Telegram gives."""
        assert update.effective_message is not None and update.effective_user is not None
        await update.effective_message.reply_text(f"Hello, {update.effective_user.first_name}")

    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{url}/bot")
        .base_file_url(f"{url}/file/bot")
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(timeout=5)
        await application.start()
        await api.user_sends(ALICE, None, "/start")
        [reply] = await api.wait_for_messages(ALICE.id, 1)
        await application.updater.stop()
        await application.stop()

    assert reply.text == "Hello, Alice"
    assert api.pending_updates == []


async def test_on_send_hooks_see_sends_and_edits(api: LocalBotApi, bot: Bot) -> None:
    seen: list[tuple[str, str | None]] = []
    api.on_send.append(lambda record: seen.append((record.method, record.text)))
    await api.user_sends(BOB, GROUP, "/hearings")

    await bot.send_chat_action(GROUP.id, "typing")
    message = await bot.send_message(GROUP.id, "No hearings today")
    await bot.edit_message_text("No hearings this week", GROUP.id, message.message_id)
    assert await bot.delete_message(GROUP.id, message.message_id)

    assert seen == [
        ("sendMessage", "No hearings today"),
        ("editMessageText", "No hearings this week"),
    ]
    assert api.chat_actions == [(GROUP.id, "typing")]
    assert api.deleted == [(GROUP.id, message.message_id)]
    assert api.message(GROUP.id, message.message_id) is None
    chat = await bot.get_chat(GROUP.id)
    assert (chat.type, chat.title) == ("group", "Monitors")


async def test_user_edit_arrives_as_edited_message_with_fresh_entities(
    api: LocalBotApi, bot: Bot
) -> None:
    sent = await api.user_sends(ALICE, None, "Kokteubai")
    reply = await bot.send_message(ALICE.id, "Nobody found")

    edited = await api.user_edits(ALICE, None, sent, "/find Kokteubai")
    *_, update = await bot.get_updates()

    assert update.update_id == edited["update_id"] and update.message is None
    message = update.edited_message
    assert message is not None and message.edit_date is not None
    assert (message.message_id, message.text) == (sent["message"]["message_id"], "/find Kokteubai")
    [entity] = message.entities
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 5)
    await api.user_edits(ALICE, None, message.message_id, "Kokteubai again")
    assert "entities" not in api.pending_updates[-1]["edited_message"]
    with pytest.raises(ValueError, match="not a text Alice sent"):
        await api.user_edits(ALICE, None, reply.message_id, "/start")
    with pytest.raises(LookupError):
        await api.user_edits(ALICE, None, 99, "/start")


async def test_chat_members_follow_the_administrators_set(api: LocalBotApi, bot: Bot) -> None:
    carol = User(id=1003, first_name="Carol")
    for user in (ALICE, carol):
        await api.user_sends(user, GROUP, "hello")
    api.set_administrators(GROUP.id, [BOB.id], creator=ALICE.id)

    owner, admin, member, stranger, me = [
        await bot.get_chat_member(GROUP.id, user_id)
        for user_id in (ALICE.id, BOB.id, carol.id, 4242, bot.id)
    ]
    assert isinstance(owner, ChatMemberOwner) and owner.user.first_name == "Alice"
    assert isinstance(admin, ChatMemberAdministrator) and admin.can_restrict_members
    assert isinstance(member, ChatMemberMember) and member.user.id == carol.id
    assert isinstance(stranger, ChatMemberLeft)
    assert isinstance(me, ChatMemberMember) and me.user.is_bot
    assert [m.status for m in await bot.get_chat_administrators(GROUP.id)] == [
        "creator",
        "administrator",
    ]
    assert (api.calls["getChatMember"], api.calls["getChatAdministrators"]) == (5, 1)

    api.set_administrators(GROUP.id, [bot.id])
    assert (await bot.get_chat_member(GROUP.id, bot.id)).status == "administrator"
    assert (await bot.get_chat_member(GROUP.id, BOB.id)).status == "left"
    await api.user_sends(carol, None, "/start")
    with pytest.raises(BadRequest, match="no administrators in the private chat"):
        await bot.get_chat_administrators(carol.id)


async def test_blocking_and_unblocking_tell_the_bot(api: LocalBotApi, bot: Bot) -> None:
    await api.user_sends(ALICE, None, "/start")
    api.block(ALICE.id)
    assert api.block(ALICE.id) is None  # blocked already: Telegram says nothing more
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ALICE.id, "news")
    api.unblock(ALICE.id)
    await bot.send_message(ALICE.id, "news")

    _, blocked, unblocked = await bot.get_updates()
    for update, old, new in ((blocked, "member", "kicked"), (unblocked, "kicked", "member")):
        change = update.my_chat_member
        assert change is not None and change.from_user.id == ALICE.id
        assert (change.chat.id, change.chat.type) == (ALICE.id, "private")
        assert change.new_chat_member.user.id == bot.id
        assert (change.old_chat_member.status, change.new_chat_member.status) == (old, new)
    assert isinstance(blocked.my_chat_member.new_chat_member, ChatMemberBanned)  # type: ignore[union-attr]

    api.block(ALICE.id, tell_bot=False)
    with pytest.raises(Forbidden):
        await bot.send_message(ALICE.id, "news")
    assert [u for u in api.pending_updates if u["update_id"] > unblocked.update_id] == []


@pytest.mark.parametrize(
    ("chat", "status", "refusal"),
    [
        (Chat(-1001500, "supergroup", "Monitors"), "kicked", "bot was kicked from the supergroup"),
        (GROUP, "left", "bot is not a member of the group chat"),
    ],
)
async def test_group_removal_tells_the_bot_and_refuses_sends(
    api: LocalBotApi, bot: Bot, chat: Chat, status: str, refusal: str
) -> None:
    api.add_to_group(chat, by=BOB)
    await bot.send_message(chat.id, "Hello, group")
    api.remove_from_group(chat, by=BOB)

    with pytest.raises(Forbidden, match=refusal):
        await bot.send_message(chat.id, "news")
    assert (await bot.get_chat_member(chat.id, bot.id)).status == status
    with pytest.raises(ValueError, match="not in chat"):
        await api.user_sends(BOB, chat, "/help")
    added, removed = await bot.get_updates()
    for update, old, new in ((added, "left", "member"), (removed, "member", status)):
        change = update.my_chat_member
        assert change is not None and change.from_user.id == BOB.id
        assert (change.chat.id, change.chat.title) == (chat.id, "Monitors")
        assert (change.old_chat_member.status, change.new_chat_member.status) == (old, new)

    api.add_to_group(chat, by=BOB)
    await bot.send_message(chat.id, "Back")
    assert [m.text for m in api.messages_to(chat.id)] == ["Hello, group", "Back"]
