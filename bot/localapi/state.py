"""What Telegram holds for one bot: the state the Bot API methods (methods.py) work on.

`LocalBotApi` (emulator.py) is this state plus the side that tests and the demo drive.
The package's modules reach into the underscored parts; tests and the demo do not.
"""

import inspect
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.localapi.chats import ChatDirectory
from bot.localapi.errors import BotApiError
from bot.localapi.files import FileStore, StoredFile
from bot.localapi.limits import RateLimits
from bot.localapi.records import (
    CallbackAnswer,
    CallbackQuery,
    FailedCall,
    InlineAnswer,
    InlineQuery,
    JSONDict,
    SentMessage,
)
from bot.localapi.updates import Pulse, UpdateQueue

_LOGGER = logging.getLogger(__name__)

DEMO_TOKEN = "100000001:LOCAL-demo-token-not-valid-on-telegram"
"""A token for the demo; api.telegram.org would refuse it, which is the point."""

OnSend = Callable[[SentMessage], Awaitable[object] | object]


@dataclass
class Fault:
    """An error `fail_next` injected, for the next `remaining` matching calls."""

    method: str
    chat_id: int | None
    error: BotApiError
    remaining: int


class BotState:
    """One bot's corner of Telegram: its chats, messages, updates, files and limits."""

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
        self.inline_answers: list[InlineAnswer] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.calls: Counter[str] = Counter()
        self.failed: list[FailedCall] = []
        self.on_send: list[OnSend] = []
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.webhook: JSONDict = {}

        self._state_changed = Pulse()
        self._updates = UpdateQueue(self._state_changed)
        self._directory = ChatDirectory(self.bot_user, self._updates)
        self._files = FileStore()
        self._limits = RateLimits()
        self._callback_queries: dict[str, CallbackQuery] = {}
        self._inline_queries: dict[str, InlineQuery] = {}
        self._faults: list[Fault] = []
        self._counter = 0

    def _next_counter(self) -> int:
        self._counter += 1
        return self._counter

    def _store_file(self, filename: str, content: bytes, mime_type: str | None) -> StoredFile:
        return self._files.store(filename, content, mime_type, number=self._next_counter())

    async def _announce(self, record: SentMessage) -> None:
        for callback in list(self.on_send):
            try:
                outcome = callback(record)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                _LOGGER.exception("an on_send callback failed")


def commands_key(scope: Mapping[str, Any] | None, language_code: str) -> tuple[str, str]:
    """Where setMyCommands keeps a menu: its scope and language."""
    return json.dumps(dict(scope or {"type": "default"}), sort_keys=True), language_code
