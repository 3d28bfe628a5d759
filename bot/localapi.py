"""A local Telegram Bot API: what `casewatch demo` talks to, and the end-to-end tests too.

`LocalBotApi` holds the state of one bot's corner of Telegram: the chats it knows, the
messages in them, the updates waiting for `getUpdates`, the files. `build_app` serves it
over HTTP at `/bot{token}/{method}` and `/file/bot{token}/{path}` exactly as
api.telegram.org does, so python-telegram-bot is simply pointed at it::

    api = LocalBotApi(TOKEN)
    async with serve_local_api(api) as url:
        application = (
            ApplicationBuilder().token(TOKEN)
            .base_url(f"{url}/bot").base_file_url(f"{url}/file/bot").build()
        )

The user side (`user_sends`, `user_edits`, `user_presses`, `user_sends_document`, `block`,
`unblock`, `add_to_group`, `remove_from_group`) is what a person does in a Telegram client;
`set_administrators` says who runs a group; `sent`, `messages_to`, `calls` and
`wait_for_messages` show what the bot did; `fail_next`, `migrate`, `rate_limit` and
`latency` make Telegram misbehave the way it does in production. Errors carry Telegram's
own status codes, descriptions and `parameters`, so the bot sees the same exceptions it
would see for real.

This module imports nothing of ours.
"""

import asyncio
import contextlib
import copy
import inspect
import json
import logging
import math
import mimetypes
import re
import socket
import time
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = [
    "DEMO_TOKEN",
    "BotApiError",
    "CallbackAnswer",
    "Chat",
    "FailedCall",
    "LocalBotApi",
    "SentMessage",
    "UploadedFile",
    "User",
    "build_app",
    "serve_local_api",
]

_LOGGER = logging.getLogger(__name__)

JSONDict = dict[str, Any]
ChatType = Literal["private", "group", "supergroup", "channel"]
MemberStatus = Literal["creator", "administrator", "member", "left", "kicked"]

DEMO_TOKEN = "100000001:LOCAL-demo-token-not-valid-on-telegram"
"""A token for the demo; api.telegram.org would refuse it, which is the point."""

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_UPDATES_LIMIT = 100

# Telegram answers 401 to a token that looks right but is not a bot's, and 404 otherwise.
_WELL_FORMED_TOKEN = re.compile(r"^\d+:[\w-]+$")
# A bot command as Telegram's clients mark it: "/cmd" or "/cmd@botname", not inside a word.
_BOT_COMMAND = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


# --------------------------------------------------------------------------------------------
# Errors


class BotApiError(Exception):
    """A Bot API failure, answered as Telegram does: HTTP status = `error_code`."""

    def __init__(
        self, error_code: int, description: str, parameters: JSONDict | None = None
    ) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = int(error_code)
        self.description = description
        self.parameters = parameters or {}

    def to_json(self) -> JSONDict:
        """The body Telegram sends with this error."""
        body: JSONDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(detail: str) -> BotApiError:
    return BotApiError(HTTPStatus.BAD_REQUEST, f"Bad Request: {detail}")


def _too_many_requests(retry_after: int) -> BotApiError:
    return BotApiError(
        HTTPStatus.TOO_MANY_REQUESTS,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


def _chat_migrated(new_chat_id: int) -> BotApiError:
    return BotApiError(
        HTTPStatus.BAD_REQUEST,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": new_chat_id},
    )


def _not_found() -> BotApiError:
    return BotApiError(HTTPStatus.NOT_FOUND, "Not Found")


_DEFAULT_DESCRIPTIONS: dict[int, str] = {
    HTTPStatus.BAD_REQUEST: "Bad Request",
    HTTPStatus.UNAUTHORIZED: "Unauthorized",
    HTTPStatus.FORBIDDEN: "Forbidden: bot was blocked by the user",
    HTTPStatus.NOT_FOUND: "Not Found",
    HTTPStatus.CONFLICT: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    HTTPStatus.INTERNAL_SERVER_ERROR: "Internal Server Error",
    HTTPStatus.BAD_GATEWAY: "Bad Gateway",
}


def _default_description(error_code: int, retry_after: int | None, migrated: bool) -> str:
    if retry_after is not None:
        return f"Too Many Requests: retry after {retry_after}"
    if migrated:
        return "Bad Request: group chat was upgraded to a supergroup chat"
    try:
        return _DEFAULT_DESCRIPTIONS.get(error_code) or HTTPStatus(error_code).phrase
    except ValueError:
        return "Unknown Error"


# --------------------------------------------------------------------------------------------
# People and records


@dataclass(frozen=True)
class User:
    """A person with a Telegram account."""

    id: int
    first_name: str
    language_code: str = "en"
    username: str | None = None

    @property
    def private_chat(self) -> "Chat":
        """The chat between this person and the bot (its id is the person's id)."""
        return Chat(self.id, "private")

    def to_json(self) -> JSONDict:
        """The Bot API `User` object."""
        data: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class Chat:
    """A chat the bot is in: a person's private chat, a group or a supergroup."""

    id: int
    type: ChatType = "private"
    title: str | None = None


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    mime_type: str | None = None


@dataclass
class SentMessage:
    """One successful send (or edit) by the bot, as the emulator recorded it.

    `text` is what the bot sent, markup included (a document's caption for sendDocument);
    `time` is `time.monotonic()` when the emulator accepted it; `params` holds every
    parameter of the call as received.
    """

    method: str
    chat_id: int
    message_id: int
    text: str | None
    parse_mode: str | None
    reply_markup: JSONDict | None
    document: bytes | None = None
    document_filename: str | None = None
    time: float = field(default_factory=time.monotonic)
    params: JSONDict = field(default_factory=dict)

    @property
    def callback_data(self) -> list[str]:
        """The callback data of every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            button["callback_data"] for row in rows for button in row if "callback_data" in button
        ]


@dataclass(frozen=True)
class CallbackAnswer:
    """An answerCallbackQuery call: what the pressing user saw."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None


@dataclass(frozen=True)
class FailedCall:
    """A call the emulator answered with an error."""

    method: str
    chat_id: int | None
    error_code: int
    description: str
    time: float


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    file_name: str
    mime_type: str
    content: bytes

    def document_json(self) -> JSONDict:
        return {
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
        }


@dataclass
class _Fault:
    method: str
    chat_id: int | None
    error: BotApiError
    remaining: int


@dataclass
class _CallbackQuery:
    user_id: int
    answered: bool = False


# --------------------------------------------------------------------------------------------
# Telegram's HTML parse mode


class _EntityError(Exception):
    """Text Telegram cannot parse in the requested parse mode."""


_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_REFERENCE = re.compile(r"&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,7})|([a-zA-Z]+));")
_ATTRIBUTE = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_reference(match: re.Match[str]) -> str | None:
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return _NAMED_REFERENCES.get(name)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
        return chr(code)
    return None


def _tag_end(text: str, start: int) -> int:
    """Index of the '>' closing the tag opened at `start` (quotes respected), or -1."""
    quote: str | None = None
    for index in range(start + 1, len(text)):
        char = text[index]
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == ">":
            return index
    return -1


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[JSONDict]]:
    """The visible text and the entities Telegram makes of `text` in HTML parse mode.

    Raises `_EntityError` with Telegram's wording for unsupported, unclosed or misnested
    tags and a bare '<'. Telegram itself keeps a bare '&' as it is; with `strict` (the
    default) the emulator refuses it, so a stored value that was not HTML-escaped fails
    loudly in tests instead of by chance in production.
    """
    visible: list[str] = []
    position = 0  # in UTF-16 code units, as entity offsets are
    open_tags: list[tuple[str, int, dict[str, str]]] = []
    entities: list[JSONDict] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "&":
            match = _REFERENCE.match(text, index)
            decoded = _decode_reference(match) if match else None
            if decoded is None:
                if strict:
                    offset = _byte_offset(text, index)
                    raise _EntityError(f'Unescaped "&" at byte offset {offset}')
                decoded, end = "&", index + 1
            else:
                assert match is not None
                end = match.end()
            visible.append(decoded)
            position += _utf16_length(decoded)
            index = end
            continue
        if char != "<":
            visible.append(char)
            position += _utf16_length(char)
            index += 1
            continue
        end = _tag_end(text, index)
        offset = _byte_offset(text, index)
        if end < 0:
            raise _EntityError(f"Unclosed start tag at byte offset {offset}")
        inner = text[index + 1 : end]
        if inner.startswith("/"):
            _close_tag(inner[1:].strip().lower(), offset, open_tags, entities, position)
        else:
            name, _, rest = inner.strip().partition(" ")
            name = name.lower()
            if name not in _ENTITY_TYPES:
                raise _EntityError(f'Unsupported start tag "{name}" at byte offset {offset}')
            attributes = {
                match[1].lower(): next(value for value in match.groups()[1:] if value is not None)
                for match in _ATTRIBUTE.finditer(rest)
            }
            open_tags.append((name, position, attributes))
        index = end + 1
    if open_tags:
        raise _EntityError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"')
    entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(visible), entities


def _close_tag(
    name: str,
    offset: int,
    open_tags: list[tuple[str, int, dict[str, str]]],
    entities: list[JSONDict],
    position: int,
) -> None:
    if not open_tags:
        raise _EntityError(f"Unexpected end tag at byte offset {offset}")
    open_name, start, attributes = open_tags.pop()
    if name != open_name:
        raise _EntityError(
            f'Unmatched end tag at byte offset {offset}, expected "</{open_name}>", '
            f'found "</{name}>"'
        )
    language = attributes.get("class", "")
    in_pre = bool(open_tags) and open_tags[-1][0] == "pre"
    if open_name == "code" and in_pre and language.startswith("language-"):
        # <pre><code class="language-x"> makes one pre entity with a language.
        open_tags[-1][2]["language"] = language.removeprefix("language-")
        return
    if position == start:
        return
    entity: JSONDict = {
        "type": _ENTITY_TYPES[open_name],
        "offset": start,
        "length": position - start,
    }
    if open_name == "a":
        if not attributes.get("href"):
            return
        entity["url"] = attributes["href"]
    elif open_name == "pre" and attributes.get("language"):
        entity["language"] = attributes["language"]
    elif open_name == "blockquote" and "expandable" in attributes:
        entity["type"] = "expandable_blockquote"
    elif open_name == "tg-emoji":
        entity["custom_emoji_id"] = attributes.get("emoji-id", "")
    entities.append(entity)


def _command_entities(text: str) -> list[JSONDict]:
    """The bot_command entities a Telegram client adds to `text`."""
    return [
        {
            "type": "bot_command",
            "offset": _utf16_length(text[: match.start()]),
            "length": _utf16_length(match.group()),
        }
        for match in _BOT_COMMAND.finditer(text)
    ]


# --------------------------------------------------------------------------------------------
# Chat members

# What an administrator appointed in a Telegram client may do by default.
_ADMINISTRATOR_RIGHTS: JSONDict = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": True,
    "can_edit_stories": True,
    "can_delete_stories": True,
    "can_pin_messages": True,
    "can_manage_topics": False,
}


def _chat_member_json(status: MemberStatus, user: JSONDict) -> JSONDict:
    """The Bot API `ChatMember` object of each kind, with the fields its kind requires."""
    member: JSONDict = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(_ADMINISTRATOR_RIGHTS)
    elif status == "kicked":
        member["until_date"] = 0  # for ever
    return member


# --------------------------------------------------------------------------------------------
# Request parameters


class _Params:
    """One call's parameters, from a query string, a form or a JSON body.

    Form values arrive as strings, JSON-encoded when the client's value was not a string
    (python-telegram-bot sends `chat_id` as "123" and `reply_markup` as a JSON object).
    """

    def __init__(self, values: Mapping[str, Any], files: Mapping[str, UploadedFile]) -> None:
        self.values = dict(values)
        self.files = dict(files)

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, dict | list) else str(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(value)
        raise _bad_request(f"invalid {name} specified")

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _bad_request(f"invalid {name} specified") from None

    def boolean(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def json(self, name: str) -> Any:
        """A JSON-typed parameter (an object, array, number…), decoded; None when absent."""
        value = self.values.get(name)
        if isinstance(value, str):
            if not value:
                return None
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def chat_id(self) -> int:
        """The `chat_id` parameter; "@username" names no chat this emulator has."""
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise _bad_request("chat_id is empty")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad_request("chat not found") from None

    def loose_chat_id(self) -> int | None:
        """The `chat_id` if there is one and it is a number; for matching injected faults."""
        try:
            return self.chat_id()
        except BotApiError:
            return None


async def _read_params(request: Request) -> _Params:
    values: dict[str, Any] = dict(request.query_params)
    files: dict[str, UploadedFile] = {}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.body()
        if body.strip():
            try:
                data = json.loads(body)
            except ValueError:
                raise _bad_request("can't parse JSON object") from None
            if not isinstance(data, dict):
                raise _bad_request("can't parse JSON object")
            values.update(data)
    elif content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        async with request.form(max_part_size=16 * 1024 * 1024) as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files[key] = UploadedFile(
                        filename=value.filename or key,
                        content=await value.read(),
                        mime_type=value.content_type,
                    )
                else:
                    values[key] = value
    return _Params(values, files)


# --------------------------------------------------------------------------------------------
# Waiting and pacing


class _Pulse:
    """A broadcast wake-up: `fire()` wakes everyone waiting at that moment.

    Unlike `asyncio.Condition`, firing needs no lock, so plain (sync) code can fire it.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> bool:
        """Wait for the next `fire()`, at most `seconds`; False if none came."""
        event = self._event
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await event.wait()
        except TimeoutError:
            return False
        return True


class _SlidingWindow:
    """At most `count` events in any `period` seconds."""

    def __init__(self, per_second: float, base_period: float) -> None:
        if per_second <= 0:
            raise ValueError("a rate limit must be positive")
        self.count = max(1, round(per_second * base_period))
        self.period = self.count / per_second
        self._times: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        """Seconds until one more event fits (0 if it fits now)."""
        while self._times and self._times[0] <= now - self.period:
            self._times.popleft()
        if len(self._times) < self.count:
            return 0.0
        return self._times[0] + self.period - now

    def record(self, now: float) -> None:
        self._times.append(now)


# --------------------------------------------------------------------------------------------
# The emulator's state


OnSend = Callable[[SentMessage], Awaitable[object] | object]


class LocalBotApi:
    """One bot's view of Telegram, driven from both sides.

    The bot talks to it over HTTP (see `serve_local_api`); tests and the demo play the
    people (`user_sends`, `user_edits`, `user_presses`, `user_sends_document`, `block`,
    `unblock`, `add_to_group`, `remove_from_group`, `set_administrators`), look at what the
    bot did (`sent`, `messages_to`, `calls`, `wait_for_messages`, `on_send`) and inject faults
    (`fail_next`, `migrate`, `rate_limit`, `latency`).
    """

    def __init__(
        self,
        token: str = DEMO_TOKEN,
        *,
        username: str = "casewatch_bot",
        first_name: str = "casewatch",
    ) -> None:
        bot_id, separator, _ = token.partition(":")
        if not separator or not bot_id.isdigit():
            raise ValueError("a bot token looks like '123456:secret'")
        self.token = token
        self.bot_user: JSONDict = {
            "id": int(bot_id),
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.latency = 0.0
        """Seconds each call waits before it is handled, like a network round trip."""
        self.strict_html = True
        """Refuse a bare '&' in HTML text (Telegram keeps it); see `parse_html`."""

        self.sent: list[SentMessage] = []
        self.edits: list[SentMessage] = []
        self.deleted: list[tuple[int, int]] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.calls: Counter[str] = Counter()
        self.failed: list[FailedCall] = []
        self.on_send: list[OnSend] = []
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.webhook: JSONDict = {}

        self._users: dict[int, User] = {}
        self._chats: dict[int, Chat] = {}
        # Chats the bot is not in (any more): blocked by the user, left or removed.
        self._bot_absent: dict[int, Literal["left", "kicked"]] = {}
        self._creators: dict[int, int] = {}
        self._administrators: dict[int, tuple[int, ...]] = {}
        self._members: dict[int, set[int]] = defaultdict(set)
        self._migrated: dict[int, int] = {}
        self._messages: dict[int, dict[int, JSONDict]] = defaultdict(dict)
        self._last_message_id: dict[int, int] = defaultdict(int)
        self._files: dict[str, _StoredFile] = {}
        self._callback_queries: dict[str, _CallbackQuery] = {}
        self._faults: list[_Fault] = []
        self._rate_limits: dict[str, float | None] = {}
        self._global_window: _SlidingWindow | None = None
        self._chat_windows: dict[int, _SlidingWindow] = {}
        self._group_windows: dict[int, _SlidingWindow] = {}

        self._updates: list[JSONDict] = []
        self._last_update_id = 0
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._closing = False
        self._updates_changed = _Pulse()
        self._state_changed = _Pulse()
        self._counter = 0

    # ---- the user side --------------------------------------------------------------------

    def register_user(self, user: User) -> None:
        """Make `user` known (done by every user_* method)."""
        self._users[user.id] = user

    def register_chat(self, chat: Chat) -> None:
        """Make `chat` known, so the bot may send to it (done by every user_* method)."""
        if chat.type == "private" and chat.id < 0:
            raise ValueError("a private chat's id is its user's id, a positive number")
        self._chats[chat.id] = chat

    async def user_sends(
        self, user: User, chat: Chat | None, text: str, *, reply_to: SentMessage | None = None
    ) -> JSONDict:
        """`user` writes `text` in `chat` (their private chat if None); returns the update.

        Commands get their bot_command entities as a Telegram client adds them. The new
        message's id is `update["message"]["message_id"]`; `user_edits` takes the update itself.
        """
        message = self._user_message(user, chat)
        message["text"] = text
        if entities := _command_entities(text):
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = self._require_message(
                reply_to.chat_id, reply_to.message_id
            )
        return self._enqueue({"message": self._store_message(message)})

    async def user_edits(
        self,
        user: User,
        chat: Chat | None,
        message_id: int | Mapping[str, Any],
        new_text: str,
    ) -> JSONDict:
        """`user` edits a text message they sent in `chat` (their private chat if None).

        `message_id` is the message's id or the update `user_sends` returned. The bot gets an
        `edited_message` update: the same message id and date, the new text with its
        bot_command entities found afresh, and an `edit_date`. Returns the update.
        """
        chat = chat or user.private_chat
        if isinstance(message_id, Mapping):
            message_id = int(message_id.get("message", message_id)["message_id"])
        self._require_bot_in(chat)
        message = self._messages.get(chat.id, {}).get(message_id)
        if message is None:
            raise LookupError(f"no message {message_id} in chat {chat.id}")
        if message["from"].get("id") != user.id or "text" not in message:
            raise ValueError(f"message {message_id} is not a text {user.first_name} sent")
        message["text"] = new_text
        message.pop("entities", None)
        if entities := _command_entities(new_text):
            message["entities"] = entities
        message["edit_date"] = int(time.time())
        return self._enqueue({"edited_message": copy.deepcopy(message)})

    async def user_sends_document(
        self,
        user: User,
        chat: Chat | None,
        filename: str,
        content: bytes,
        caption: str | None = None,
        *,
        mime_type: str | None = None,
    ) -> JSONDict:
        """`user` sends a file to `chat`; the bot can fetch it with getFile. Returns the update."""
        message = self._user_message(user, chat)
        stored = self._store_file(filename, content, mime_type)
        message["document"] = stored.document_json()
        if caption is not None:
            message["caption"] = caption
            if entities := _command_entities(caption):
                message["caption_entities"] = entities
        return self._enqueue({"message": self._store_message(message)})

    async def user_presses(
        self,
        user: User,
        message: SentMessage | Mapping[str, Any],
        callback_data: str,
        *,
        check_button: bool = True,
    ) -> JSONDict:
        """`user` presses the button with `callback_data` under a bot message; returns the update.

        `message` is a `SentMessage` or a Bot API Message object. With `check_button=False`
        the data need not be on the message: a forged press, as a modified client can make.
        """
        if isinstance(message, SentMessage):
            chat_id, message_id = message.chat_id, message.message_id
        else:
            chat_id, message_id = int(message["chat"]["id"]), int(message["message_id"])
        current = self.message(chat_id, message_id)
        if current is None:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        if check_button:
            rows = (current.get("reply_markup") or {}).get("inline_keyboard") or []
            offered = [button.get("callback_data") for row in rows for button in row]
            if callback_data not in offered:
                raise ValueError(
                    f"message {message_id} has no button {callback_data!r}: {offered}"
                )
        self.register_user(user)
        self._members[chat_id].add(user.id)
        query_id = str(self._next_counter() + 4_000_000_000_000_000_000)
        self._callback_queries[query_id] = _CallbackQuery(user_id=user.id)
        query = {
            "id": query_id,
            "from": user.to_json(),
            "message": current,
            "chat_instance": str(abs(chat_id) * 7 + 1_000_003),
            "data": callback_data,
        }
        return self._enqueue({"callback_query": query})

    # ---- observing the bot ----------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Every message the bot sent to `chat_id`, in order (edits are in `edits`)."""
        return [record for record in self.sent if record.chat_id == chat_id]

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """A message as it stands now (after edits) as a Bot API object; None if deleted."""
        stored = self._messages.get(chat_id, {}).get(message_id)
        return copy.deepcopy(stored) if stored is not None else None

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates the bot has not confirmed yet."""
        return copy.deepcopy(self._updates)

    def commands_for(
        self, *, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        """The command menu set for `scope` (default scope if None) and `language_code`."""
        return list(self.commands.get(_commands_key(scope, language_code), []))

    async def wait_until(self, condition: Callable[[], bool], seconds: float = 5.0) -> None:
        """Wait until `condition()` holds; it is checked after each call the bot makes.

        Raises TimeoutError after `seconds`.
        """
        deadline = asyncio.get_running_loop().time() + seconds
        while not condition():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {seconds} s")
            await self._state_changed.wait(remaining)

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109  (the name is the emulator's contract)
    ) -> list[SentMessage]:
        """Wait until the bot has sent `count` messages to `chat_id`; returns them all.

        Raises TimeoutError, naming what did arrive, if they do not come within `timeout`.
        """
        try:
            await self.wait_until(lambda: len(self.messages_to(chat_id)) >= count, timeout)
        except TimeoutError:
            texts = [record.text for record in self.messages_to(chat_id)]
            raise TimeoutError(
                f"expected {count} messages to chat {chat_id} within {timeout} s, got {texts}"
            ) from None
        return self.messages_to(chat_id)

    # ---- making Telegram misbehave ---------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` (to `chat_id`, if given) fail like this.

        The description defaults to Telegram's wording for the code (or for `retry_after`,
        `migrate_to_chat_id`); those two go into the error's `parameters` as Telegram does.
        """
        spec = _METHODS.get(method.lower())
        if spec is None:
            raise ValueError(f"unknown Bot API method {method!r}")
        parameters: JSONDict = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        if description is None:
            description = _default_description(
                error_code, retry_after, migrated=migrate_to_chat_id is not None
            )
        error = BotApiError(error_code, description, parameters)
        self._faults.append(_Fault(spec.name, chat_id, error, times))

    def block(self, chat_id: int, *, tell_bot: bool = True) -> JSONDict | None:
        """The user of private chat `chat_id` blocks the bot: sends there fail 403.

        With `tell_bot`, the bot gets the `my_chat_member` update Telegram sends (its status
        member → kicked), which is returned; without, it learns only from a failed send.
        Nothing happens if the bot is blocked already. Without `tell_bot`, a group's id is
        allowed too (the bot was kicked); to tell the bot, use `remove_from_group`.
        """
        return self._set_bot_status(chat_id, "kicked", tell_bot=tell_bot)

    def unblock(self, chat_id: int, *, tell_bot: bool = True) -> JSONDict | None:
        """Undo `block`: the bot's status goes kicked → member, with the update if `tell_bot`.

        (A user who writes to the bot unblocks it too, silently: call this first to have
        Telegram tell the bot, as a client's "Restart" does.)
        """
        return self._set_bot_status(chat_id, "member", tell_bot=tell_bot)

    def add_to_group(self, chat: Chat, *, by: User) -> JSONDict:
        """`by` adds the bot to group `chat`: its status left (or kicked) → member.

        The bot gets the `my_chat_member` update, which is returned; `by` becomes a member.
        """
        if chat.type not in ("group", "supergroup"):
            raise ValueError("only a group or supergroup can add the bot")
        if chat.id in self._migrated:
            raise ValueError(f"chat {chat.id} became supergroup {self._migrated[chat.id]}")
        old = self._bot_status(chat.id)
        if old in ("member", "administrator"):
            raise ValueError(f"the bot is in chat {chat.id} already")
        self.register_user(by)
        self.register_chat(chat)
        self._members[chat.id].add(by.id)
        self._bot_absent.pop(chat.id, None)
        return self._tell_bot_status(chat, by, old)

    def remove_from_group(self, chat: Chat, *, by: User) -> JSONDict:
        """`by` removes the bot from group `chat`; sends there fail 403 afterwards.

        As at Telegram, removal from a supergroup bans the bot (status kicked) and from a
        basic group leaves it out (status left). Returns the `my_chat_member` update.
        """
        if chat.type not in ("group", "supergroup"):
            raise ValueError("the bot is removed from a group or supergroup; use block()")
        old = self._bot_status(chat.id)
        if old not in ("member", "administrator"):
            raise ValueError(f"the bot is not in chat {chat.id}")
        self.register_user(by)
        self._bot_absent[chat.id] = "kicked" if chat.type == "supergroup" else "left"
        return self._tell_bot_status(chat, by, old)

    def set_administrators(
        self, chat_id: int, user_ids: Iterable[int], creator: int | None = None
    ) -> None:
        """Who runs group `chat_id`: `creator` (the owner) and the administrators `user_ids`.

        getChatMember and getChatAdministrators answer from this; the bot's own id among
        `user_ids` makes the bot an administrator. It replaces what was set before, and no
        update is sent. Anyone else who wrote in the chat is a plain member.
        """
        if chat_id >= 0:
            raise ValueError("only a group (a negative chat id) has administrators")
        self._administrators[chat_id] = tuple(dict.fromkeys(user_ids))
        if creator is None:
            self._creators.pop(chat_id, None)
        else:
            self._creators[chat_id] = creator

    def migrate(self, chat_id: int, new_chat_id: int) -> Chat:
        """A group becomes a supergroup: sends to `chat_id` fail with migrate_to_chat_id."""
        old = self._chats.get(chat_id)
        new_chat = Chat(new_chat_id, "supergroup", old.title if old else None)
        self._migrated[chat_id] = new_chat_id
        self._chats[new_chat_id] = new_chat
        return new_chat

    def rate_limit(
        self,
        per_second: float | None = 30.0,
        *,
        per_chat_per_second: float | None = None,
        per_group_per_minute: float | None = None,
    ) -> None:
        """Answer 429 with retry_after to sends beyond these rates (None: no limit).

        Each is a sliding window over the messages the bot created (sendMessage and
        sendDocument): overall, per chat, and per group or supergroup.
        """
        self._global_window = _SlidingWindow(per_second, 1.0) if per_second else None
        self._rate_limits = {"chat": per_chat_per_second, "group": per_group_per_minute}
        self._chat_windows.clear()
        self._group_windows.clear()

    # ---- calls ---------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, UploadedFile] | None = None,
    ) -> Any:
        """Run one Bot API method as the HTTP endpoint does; raises BotApiError on failure."""
        spec = _METHODS.get(method.lower())
        if spec is None:
            self.calls[method] += 1
            raise _not_found()
        self.calls[spec.name] += 1
        args = _Params(params or {}, files or {})
        try:
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            self._raise_injected_fault(spec.name, args)
            result = await spec.handler(self, args)
        except BotApiError as error:
            self.failed.append(
                FailedCall(
                    spec.name,
                    args.loose_chat_id(),
                    error.error_code,
                    error.description,
                    time.monotonic(),
                )
            )
            self._state_changed.fire()
            raise
        self._state_changed.fire()
        return result

    def _raise_injected_fault(self, method: str, params: _Params) -> None:
        chat_id = params.loose_chat_id()
        for fault in self._faults:
            if fault.method == method and fault.chat_id in (None, chat_id):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                raise BotApiError(
                    fault.error.error_code, fault.error.description, dict(fault.error.parameters)
                )

    # ---- internals used by the methods ---------------------------------------------------

    def _next_counter(self) -> int:
        self._counter += 1
        return self._counter

    def _chat_json(self, chat: Chat) -> JSONDict:
        data: JSONDict = {"id": chat.id, "type": chat.type}
        if chat.type == "private":
            user = self._users.get(chat.id)
            data["first_name"] = user.first_name if user else f"User {chat.id}"
            if user and user.username:
                data["username"] = user.username
        else:
            data["title"] = chat.title or f"Chat {chat.id}"
        return data

    def _user(self, user_id: int) -> User:
        """A known user, or a stand-in for one the emulator has only heard the id of."""
        return self._users.get(user_id) or User(user_id, f"User {user_id}")

    def _user_json(self, user_id: int) -> JSONDict:
        if user_id == self.bot_user["id"]:
            return dict(self.bot_user)
        return self._user(user_id).to_json()

    def _bot_status(self, chat_id: int) -> MemberStatus:
        if chat_id in self._bot_absent:
            return self._bot_absent[chat_id]
        if chat_id not in self._chats:
            return "left"
        if self.bot_user["id"] in self._administrators.get(chat_id, ()):
            return "administrator"
        return "member"

    def _member_status(self, chat_id: int, user_id: int) -> MemberStatus:
        if user_id == self.bot_user["id"]:
            return self._bot_status(chat_id)
        if self._creators.get(chat_id) == user_id:
            return "creator"
        if user_id in self._administrators.get(chat_id, ()):
            return "administrator"
        return "member" if user_id in self._members.get(chat_id, ()) else "left"

    def _set_bot_status(
        self, chat_id: int, status: Literal["member", "kicked"], *, tell_bot: bool
    ) -> JSONDict | None:
        """Block (kicked) or unblock (member) the bot in a private chat, as its user does."""
        chat = self._chats.get(chat_id) or Chat(chat_id, "private")
        if tell_bot and chat.type != "private":
            raise ValueError("a group removes or adds the bot: use remove_from_group/add_to_group")
        old: MemberStatus = self._bot_absent.get(chat_id, "member")  # private: no "left"
        if old == status:
            return None
        if status == "kicked":
            self._bot_absent[chat_id] = "kicked"
        else:
            self._bot_absent.pop(chat_id, None)
        if not tell_bot:
            return None
        return self._tell_bot_status(chat, self._user(chat_id), old)

    def _tell_bot_status(self, chat: Chat, by: User, old: MemberStatus) -> JSONDict:
        """Queue the `my_chat_member` update for a change of the bot's status in `chat`."""
        bot = dict(self.bot_user)
        change = {
            "chat": self._chat_json(chat),
            "from": by.to_json(),
            "date": int(time.time()),
            "old_chat_member": _chat_member_json(old, bot),
            "new_chat_member": _chat_member_json(self._bot_status(chat.id), bot),
        }
        return self._enqueue({"my_chat_member": change})

    def _absence_error(self, chat_id: int, chat: Chat | None) -> BotApiError | None:
        """Telegram's 403 for a chat the bot is not in (blocked, left, kicked), or None."""
        status = self._bot_absent.get(chat_id)
        if status is None:
            return None
        kind = chat.type if chat else "private"
        if kind == "private":
            reason = "bot was blocked by the user"
        elif status == "kicked":
            reason = f"bot was kicked from the {kind} chat"
        else:
            reason = f"bot is not a member of the {kind} chat"
        return BotApiError(HTTPStatus.FORBIDDEN, f"Forbidden: {reason}")

    def _require_bot_in(self, chat: Chat) -> None:
        """A group the bot is not in sends it nothing: refuse to play a user there."""
        if chat.type != "private" and chat.id in self._bot_absent:
            raise ValueError(f"the bot is not in chat {chat.id}; add_to_group() first")

    def _resolve_chat(self, chat_id: int, *, sending: bool) -> Chat:
        """The chat the bot addresses, or Telegram's error for why it cannot.

        `sending` means the bot must be in the chat (not blocked, left or kicked).
        """
        if chat_id in self._migrated:
            raise _chat_migrated(self._migrated[chat_id])
        chat = self._chats.get(chat_id)
        if sending and (absent := self._absence_error(chat_id, chat)) is not None:
            raise absent
        if chat is None:
            if sending and chat_id in self._users:
                raise BotApiError(
                    HTTPStatus.FORBIDDEN, "Forbidden: bot can't initiate conversation with a user"
                )
            raise _bad_request("chat not found")
        return chat

    def _user_message(self, user: User, chat: Chat | None) -> JSONDict:
        chat = chat or user.private_chat
        if chat.id in self._migrated:
            raise ValueError(f"chat {chat.id} became supergroup {self._migrated[chat.id]}")
        if chat.type == "private":
            if chat.id != user.id:
                raise ValueError("a private chat's id is its user's id")
            self._bot_absent.pop(chat.id, None)  # writing to a bot you blocked unblocks it
        self._require_bot_in(chat)
        self.register_user(user)
        self.register_chat(chat)
        self._members[chat.id].add(user.id)
        return {
            "message_id": self._next_message_id(chat.id),
            "from": user.to_json(),
            "chat": self._chat_json(chat),
            "date": int(time.time()),
        }

    def _next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def _store_message(self, message: JSONDict) -> JSONDict:
        self._messages[message["chat"]["id"]][message["message_id"]] = message
        return copy.deepcopy(message)

    def _require_message(self, chat_id: int, message_id: int) -> JSONDict:
        stored = self.message(chat_id, message_id)
        if stored is None:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        stored.pop("reply_to_message", None)
        return stored

    def _store_file(self, filename: str, content: bytes, mime_type: str | None) -> _StoredFile:
        number = self._next_counter()
        extension = filename.rpartition(".")[2] if "." in filename else "bin"
        stored = _StoredFile(
            file_id=f"BQACAgLocal{number:06d}",
            file_unique_id=f"AgADLocal{number:06d}",
            file_path=f"documents/file_{number}.{extension}",
            file_name=filename,
            mime_type=mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream",
            content=content,
        )
        self._files[stored.file_id] = stored
        return stored

    def _enqueue(self, payload: JSONDict) -> JSONDict:
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, **payload}
        kind = next(iter(payload))
        if self._allowed_updates is None or kind in self._allowed_updates:
            self._updates.append(update)
            self._updates_changed.fire()
        return copy.deepcopy(update)

    def _confirm(self, offset: int) -> None:
        """Forget the updates `offset` confirms, as getUpdates does."""
        if offset < 0:
            del self._updates[: max(len(self._updates) + offset, 0)]
        else:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]
        self._state_changed.fire()

    def _take_send_slot(self, chat: Chat) -> None:
        """Count one new message against the rate limits, or raise 429."""
        now = time.monotonic()
        windows = [self._global_window] if self._global_window else []
        if per_chat := self._rate_limits.get("chat"):
            windows.append(self._chat_windows.setdefault(chat.id, _SlidingWindow(per_chat, 1.0)))
        per_group = self._rate_limits.get("group")
        if per_group and chat.type in ("group", "supergroup"):
            window = _SlidingWindow(per_group / 60.0, 60.0)
            windows.append(self._group_windows.setdefault(chat.id, window))
        wait = max((window.wait_needed(now) for window in windows), default=0.0)
        if wait > 0:
            raise _too_many_requests(max(1, math.ceil(wait)))
        for window in windows:
            window.record(now)

    async def _announce(self, record: SentMessage) -> None:
        for callback in list(self.on_send):
            try:
                outcome = callback(record)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                _LOGGER.exception("an on_send callback failed")

    def _start_serving(self) -> None:
        self._closing = False

    def _release_polls(self) -> None:
        """End every waiting getUpdates now, with no updates (the server is stopping)."""
        self._closing = True
        self._updates_changed.fire()


def _commands_key(scope: Mapping[str, Any] | None, language_code: str) -> tuple[str, str]:
    return json.dumps(dict(scope or {"type": "default"}), sort_keys=True), language_code


# --------------------------------------------------------------------------------------------
# The Bot API methods
#
# One small function per method, registered by name. They are this module's own, so they
# reach into LocalBotApi's underscored state directly.


MethodHandler = Callable[[LocalBotApi, _Params], Awaitable[Any]]


@dataclass(frozen=True)
class _Method:
    name: str
    handler: MethodHandler


_METHODS: dict[str, _Method] = {}


def _bot_method(name: str) -> Callable[[MethodHandler], MethodHandler]:
    """Register a handler under its Bot API name (names are case-insensitive, as at Telegram)."""

    def register(handler: MethodHandler) -> MethodHandler:
        _METHODS[name.lower()] = _Method(name, handler)
        return handler

    return register


def _check_text(
    api: LocalBotApi, text: str | None, parse_mode: str | None, *, caption: bool = False
) -> tuple[str, list[JSONDict]]:
    """The visible text and entities of a message text or caption, validated as Telegram does."""
    text = text or ""
    entities: list[JSONDict] = []
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            text, entities = parse_html(text, strict=api.strict_html)
        except _EntityError as error:
            raise _bad_request(f"can't parse entities: {error}") from None
    elif mode not in ("", "markdown", "markdownv2"):
        raise _bad_request("unsupported parse_mode")
    if caption:
        if len(text) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
    elif not text.strip():
        raise _bad_request("message text is empty")
    elif len(text) > MAX_TEXT_LENGTH:
        raise _bad_request("message is too long")
    return text, entities


def _reply_markup(params: _Params) -> JSONDict | None:
    if not params.has("reply_markup"):
        return None
    markup = params.json("reply_markup")
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            data = button.get("callback_data")
            too_long = data is not None and len(str(data).encode()) > MAX_CALLBACK_DATA_BYTES
            if too_long or data == "":
                raise _bad_request("BUTTON_DATA_INVALID")
    return markup


def _reply_target(api: LocalBotApi, chat_id: int, params: _Params) -> JSONDict | None:
    """The message a send replies to, if any; Telegram's error if it does not exist."""
    reply = params.json("reply_parameters")
    if isinstance(reply, dict):
        message_id, allow_missing = (
            reply.get("message_id"),
            bool(reply.get("allow_sending_without_reply")),
        )
    else:
        message_id = params.integer("reply_to_message_id")
        allow_missing = params.boolean("allow_sending_without_reply")
    if message_id is None:
        return None
    target = api.message(chat_id, int(message_id))
    if target is None and not allow_missing:
        raise _bad_request("message to be replied not found")
    if target is not None:
        target.pop("reply_to_message", None)
    return target


async def _create_message(
    api: LocalBotApi, params: _Params, chat: Chat, fields: JSONDict, record: SentMessage
) -> JSONDict:
    """Store a new bot message in `chat`, record the send and tell the on_send hooks."""
    target = _reply_target(api, chat.id, params)
    api._take_send_slot(chat)
    message: JSONDict = {
        "message_id": api._next_message_id(chat.id),
        "from": dict(api.bot_user),
        "chat": api._chat_json(chat),
        "date": int(time.time()),
        **fields,
    }
    if target is not None:
        message["reply_to_message"] = target
    markup = record.reply_markup
    if markup and "inline_keyboard" in markup:  # only inline keyboards belong to the message
        message["reply_markup"] = markup
    result = api._store_message(message)
    record.message_id = message["message_id"]
    api.sent.append(record)
    await api._announce(record)
    return result


@_bot_method("getMe")
async def _get_me(api: LocalBotApi, params: _Params) -> JSONDict:
    return {
        **api.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@_bot_method("getUpdates")
async def _get_updates(api: LocalBotApi, params: _Params) -> list[JSONDict]:
    if api.webhook.get("url"):
        raise BotApiError(
            HTTPStatus.CONFLICT,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    offset = params.integer("offset")
    limit = min(max(params.integer("limit") or MAX_UPDATES_LIMIT, 1), MAX_UPDATES_LIMIT)
    allowed = params.json("allowed_updates")
    if isinstance(allowed, list):
        api._allowed_updates = frozenset(allowed) or None
    if offset is not None:
        api._confirm(offset)
    # A newer getUpdates ends an older one that is still waiting, as at Telegram.
    api._poll_generation += 1
    generation = api._poll_generation
    api._updates_changed.fire()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(params.number("timeout") or 0.0, 0.0)
    while True:
        if api._poll_generation != generation:
            raise BotApiError(HTTPStatus.CONFLICT, _DEFAULT_DESCRIPTIONS[HTTPStatus.CONFLICT])
        batch = api._updates[:limit]
        remaining = deadline - loop.time()
        if batch or api._closing or remaining <= 0:
            return copy.deepcopy(batch)
        await api._updates_changed.wait(remaining)


@_bot_method("setWebhook")
async def _set_webhook(api: LocalBotApi, params: _Params) -> bool:
    """Stored only: the emulator does not push updates to the webhook."""
    if params.boolean("drop_pending_updates"):
        api._updates.clear()
    url = params.text("url") or ""
    api.webhook = {"url": url, "secret_token": params.text("secret_token")} if url else {}
    return True


@_bot_method("deleteWebhook")
async def _delete_webhook(api: LocalBotApi, params: _Params) -> bool:
    if params.boolean("drop_pending_updates"):
        api._updates.clear()
    api.webhook = {}
    return True


@_bot_method("getWebhookInfo")
async def _get_webhook_info(api: LocalBotApi, params: _Params) -> JSONDict:
    info: JSONDict = {
        "url": api.webhook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": len(api._updates),
    }
    if info["url"]:
        info["max_connections"] = 40
    return info


@_bot_method("setMyCommands")
async def _set_my_commands(api: LocalBotApi, params: _Params) -> bool:
    commands = params.json("commands")
    if not isinstance(commands, list):
        raise _bad_request("can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND_NAME.match(str(command.get("command"))):
            raise _bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description") or "")) <= 256:
            raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    key = _commands_key(params.json("scope"), params.text("language_code") or "")
    api.commands[key] = [
        {"command": command["command"], "description": command["description"]}
        for command in commands
    ]
    return True


@_bot_method("getMyCommands")
async def _get_my_commands(api: LocalBotApi, params: _Params) -> list[JSONDict]:
    key = _commands_key(params.json("scope"), params.text("language_code") or "")
    return list(api.commands.get(key, []))


@_bot_method("deleteMyCommands")
async def _delete_my_commands(api: LocalBotApi, params: _Params) -> bool:
    api.commands.pop(_commands_key(params.json("scope"), params.text("language_code") or ""), None)
    return True


@_bot_method("sendMessage")
async def _send_message(api: LocalBotApi, params: _Params) -> JSONDict:
    chat = api._resolve_chat(params.chat_id(), sending=True)
    raw_text, parse_mode = params.text("text"), params.text("parse_mode")
    text, entities = _check_text(api, raw_text, parse_mode)
    fields: JSONDict = {"text": text}
    if entities:
        fields["entities"] = entities
    record = SentMessage(
        method="sendMessage",
        chat_id=chat.id,
        message_id=0,
        text=raw_text,
        parse_mode=parse_mode,
        reply_markup=_reply_markup(params),
        params=dict(params.values),
    )
    return await _create_message(api, params, chat, fields, record)


def _document_upload(api: LocalBotApi, params: _Params) -> _StoredFile:
    """The file a sendDocument call carries: uploaded, attach://-referenced or a file_id."""
    upload = params.files.get("document")
    reference = params.text("document") or ""
    if upload is None and reference.startswith("attach://"):
        upload = params.files.get(reference.removeprefix("attach://"))
    if upload is not None:
        return api._store_file(upload.filename, upload.content, upload.mime_type)
    if not reference:
        raise _bad_request("there is no document in the request")
    if reference.startswith(("http://", "https://")):
        raise _bad_request("failed to get HTTP URL content")  # no network here
    known = api._files.get(reference)
    if known is None:
        raise _bad_request("wrong file identifier/HTTP URL specified")
    return known


@_bot_method("sendDocument")
async def _send_document(api: LocalBotApi, params: _Params) -> JSONDict:
    chat = api._resolve_chat(params.chat_id(), sending=True)
    raw_caption, parse_mode = params.text("caption"), params.text("parse_mode")
    caption, entities = _check_text(api, raw_caption, parse_mode, caption=True)
    stored = _document_upload(api, params)
    fields: JSONDict = {"document": stored.document_json()}
    if caption:
        fields["caption"] = caption
    if entities:
        fields["caption_entities"] = entities
    record = SentMessage(
        method="sendDocument",
        chat_id=chat.id,
        message_id=0,
        text=raw_caption,
        parse_mode=parse_mode,
        reply_markup=_reply_markup(params),
        document=stored.content,
        document_filename=stored.file_name,
        params=dict(params.values),
    )
    return await _create_message(api, params, chat, fields, record)


def _message_to_edit(api: LocalBotApi, params: _Params) -> tuple[Chat, JSONDict]:
    if params.has("inline_message_id"):
        raise _bad_request("MESSAGE_ID_INVALID")  # no inline mode here
    chat = api._resolve_chat(params.chat_id(), sending=True)
    message_id = params.integer("message_id")
    if message_id is None:
        raise _bad_request("message identifier is not specified")
    message = api._messages[chat.id].get(message_id)
    if message is None:
        raise _bad_request("message to edit not found")
    if message["from"].get("id") != api.bot_user["id"]:
        raise _bad_request("message can't be edited")
    return chat, message


async def _apply_edit(
    api: LocalBotApi, method: str, params: _Params, message: JSONDict, changes: JSONDict
) -> JSONDict:
    """Change a stored bot message, refusing an edit that changes nothing, as Telegram does."""
    if all(message.get(key) == value for key, value in changes.items()):
        raise _bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    message["edit_date"] = int(time.time())
    record = SentMessage(
        method=method,
        chat_id=message["chat"]["id"],
        message_id=message["message_id"],
        text=params.text("text"),
        parse_mode=params.text("parse_mode"),
        reply_markup=changes.get("reply_markup"),
        params=dict(params.values),
    )
    api.edits.append(record)
    await api._announce(record)
    return copy.deepcopy(message)


def _inline_markup(params: _Params) -> JSONDict | None:
    markup = _reply_markup(params)
    return markup if markup and "inline_keyboard" in markup else None


@_bot_method("editMessageText")
async def _edit_message_text(api: LocalBotApi, params: _Params) -> JSONDict:
    _, message = _message_to_edit(api, params)
    if "text" not in message:
        raise _bad_request("there is no text in the message to edit")
    text, entities = _check_text(api, params.text("text"), params.text("parse_mode"))
    # Without reply_markup, Telegram removes the message's inline keyboard.
    changes = {"text": text, "entities": entities or None, "reply_markup": _inline_markup(params)}
    return await _apply_edit(api, "editMessageText", params, message, changes)


@_bot_method("editMessageReplyMarkup")
async def _edit_message_reply_markup(api: LocalBotApi, params: _Params) -> JSONDict:
    _, message = _message_to_edit(api, params)
    changes = {"reply_markup": _inline_markup(params)}
    return await _apply_edit(api, "editMessageReplyMarkup", params, message, changes)


@_bot_method("deleteMessage")
async def _delete_message(api: LocalBotApi, params: _Params) -> bool:
    chat = api._resolve_chat(params.chat_id(), sending=True)
    message_id = params.integer("message_id")
    if message_id is None or api._messages[chat.id].pop(message_id, None) is None:
        raise _bad_request("message to delete not found")
    api.deleted.append((chat.id, message_id))
    return True


@_bot_method("answerCallbackQuery")
async def _answer_callback_query(api: LocalBotApi, params: _Params) -> bool:
    query_id = params.text("callback_query_id") or ""
    query = api._callback_queries.get(query_id)
    if query is None or query.answered:
        raise _bad_request("query is too old and response timeout expired or query ID is invalid")
    text = params.text("text")
    if text is not None and len(text) > 200:
        raise _bad_request("MESSAGE_TOO_LONG")
    query.answered = True
    answer = CallbackAnswer(query_id, text, params.boolean("show_alert"), params.text("url"))
    api.callback_answers.append(answer)
    return True


@_bot_method("sendChatAction")
async def _send_chat_action(api: LocalBotApi, params: _Params) -> bool:
    chat = api._resolve_chat(params.chat_id(), sending=True)
    action = params.text("action") or ""
    if action not in _CHAT_ACTIONS:
        raise _bad_request("wrong parameter action in request")
    api.chat_actions.append((chat.id, action))
    return True


@_bot_method("getChat")
async def _get_chat(api: LocalBotApi, params: _Params) -> JSONDict:
    chat = api._resolve_chat(params.chat_id(), sending=False)
    gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
    return {
        **api._chat_json(chat),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {name: False for name in (*gifts, "gifts_from_channels")},
    }


@_bot_method("getChatMember")
async def _get_chat_member(api: LocalBotApi, params: _Params) -> JSONDict:
    """A user's status in a chat; the bot may ask about itself even where it is not."""
    user_id = params.integer("user_id")
    if user_id is None:
        raise _bad_request("invalid user_id specified")
    chat = api._resolve_chat(params.chat_id(), sending=user_id != api.bot_user["id"])
    return _chat_member_json(api._member_status(chat.id, user_id), api._user_json(user_id))


@_bot_method("getChatAdministrators")
async def _get_chat_administrators(api: LocalBotApi, params: _Params) -> list[JSONDict]:
    """The creator first, then the administrators, in the order `set_administrators` got."""
    chat = api._resolve_chat(params.chat_id(), sending=True)
    if chat.type == "private":
        raise _bad_request("there are no administrators in the private chat")
    creator = api._creators.get(chat.id)
    user_ids = [*([creator] if creator is not None else []), *api._administrators.get(chat.id, ())]
    return [
        _chat_member_json(api._member_status(chat.id, user_id), api._user_json(user_id))
        for user_id in dict.fromkeys(user_ids)
    ]


@_bot_method("getFile")
async def _get_file(api: LocalBotApi, params: _Params) -> JSONDict:
    stored = api._files.get(params.text("file_id") or "")
    if stored is None:
        raise _bad_request("invalid file_id")
    if len(stored.content) > MAX_DOWNLOAD_BYTES:
        raise _bad_request("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.content),
        "file_path": stored.file_path,
    }


@_bot_method("close")
async def _close(api: LocalBotApi, params: _Params) -> bool:
    return True


@_bot_method("logOut")
async def _log_out(api: LocalBotApi, params: _Params) -> bool:
    return True


# --------------------------------------------------------------------------------------------
# HTTP


def _error_response(error: BotApiError) -> JSONResponse:
    return JSONResponse(error.to_json(), status_code=error.error_code)


def _token_error(api: LocalBotApi, token: str) -> JSONResponse | None:
    """Telegram's answer to a token that is not this bot's, or None if it is."""
    if token == api.token:
        return None
    if _WELL_FORMED_TOKEN.match(token):
        return _error_response(BotApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized"))
    return _error_response(_not_found())


async def _method_endpoint(request: Request) -> Response:
    """`/bot{token}/{method}`: one Bot API call."""
    api: LocalBotApi = request.app.state.api
    if (refused := _token_error(api, request.path_params["token"])) is not None:
        return refused
    try:
        params = await _read_params(request)
        result = await api.call(request.path_params["method"], params.values, files=params.files)
    except BotApiError as error:
        return _error_response(error)
    except Exception:
        _LOGGER.exception("the local Bot API failed on %s", request.path_params["method"])
        return _error_response(
            BotApiError(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")
        )
    return JSONResponse({"ok": True, "result": result})


async def _file_endpoint(request: Request) -> Response:
    """`/file/bot{token}/{file_path}`: download a file getFile pointed to."""
    api: LocalBotApi = request.app.state.api
    if (refused := _token_error(api, request.path_params["token"])) is not None:
        return refused
    path = request.path_params["file_path"]
    stored = next((file for file in api._files.values() if file.file_path == path), None)
    if stored is None:
        return _error_response(_not_found())
    return Response(stored.content, media_type=stored.mime_type)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and malformed requests, answered in Telegram's JSON shape."""
    status = (
        exc.status_code if isinstance(exc, HTTPException) else HTTPStatus.INTERNAL_SERVER_ERROR
    )
    description = HTTPStatus(status).phrase if status != HTTPStatus.BAD_REQUEST else "Bad Request"
    return _error_response(BotApiError(status, description))


def build_app(api: LocalBotApi) -> Starlette:
    """The Starlette app serving `api` at Telegram's URLs."""
    app = Starlette(
        routes=[
            Route("/bot{token}/{method}", _method_endpoint, methods=["GET", "POST"]),
            Route("/file/bot{token}/{file_path:path}", _file_endpoint, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.api = api
    return app


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves Ctrl+C and SIGTERM to the program it runs in."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def _bind(host: str, port: int) -> socket.socket:
    loop = asyncio.get_running_loop()
    family, kind, proto, _, address = (
        await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.asynccontextmanager
async def serve_local_api(
    api: LocalBotApi, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve `api` over HTTP in this event loop; yields its base URL, e.g. http://127.0.0.1:43125.

    Port 0 picks a free port. On exit, waiting long polls are released and the server stops.
    """
    sock = await _bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(
        build_app(api),
        host=host,
        port=bound_port,
        lifespan="off",
        log_level="warning",
        log_config=None,  # leave logging to the program we run in
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = _EmbeddedServer(config)
    api._start_serving()
    task = asyncio.create_task(server.serve(sockets=[sock]), name="local-bot-api")
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the local Bot API stopped while starting")
            await asyncio.sleep(0.01)
        url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        yield f"http://{url_host}:{bound_port}"
    finally:
        api._release_polls()
        server.should_exit = True
        await task
