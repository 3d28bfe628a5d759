"""The people, chats and records the emulator keeps: what tests build and look at."""

import time
from dataclasses import dataclass, field
from typing import Any, Literal

JSONDict = dict[str, Any]
ChatType = Literal["private", "group", "supergroup", "channel"]
MemberStatus = Literal["creator", "administrator", "member", "left", "kicked"]


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
class CallbackQuery:
    """A button press the bot has yet to answer (or has answered)."""

    user_id: int
    answered: bool = False


@dataclass
class InlineQuery:
    """An inline query the bot has yet to answer (or has answered)."""

    user_id: int
    answered: bool = False


@dataclass(frozen=True)
class InlineAnswer:
    """An answerInlineQuery call: the results the user was offered, and how to cache them."""

    inline_query_id: str
    user_id: int
    results: list[JSONDict]
    cache_time: int
    is_personal: bool
    next_offset: str
    button: JSONDict | None
