"""Updates from different chats handled side by side, each chat's own in the order they came.

python-telegram-bot hands every update to the update processor as a task of its own, in
the order getUpdates returned them; `ChatOrderedUpdateProcessor` lets it run at once
unless an earlier update of the same chat is still being handled, in which case it waits
for that one (and only that one) to finish. So one person who sends sixty commands waits
for their own answers, and nobody else waits for them.
"""

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates handled at once, across all chats. The flood guard drops a flooder's excess
# quickly, so this needs no more than the chats active at the same moment.
MAX_CONCURRENT_UPDATES = 256


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, in order within a chat.

    Memory: one lock per chat with an update in hand, dropped when its last one is done.
    Updates without a chat (none that casewatch handles today) run at once.
    """

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._chats: dict[int, _ChatTurns] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run `coroutine` once every earlier update of its chat has been handled."""
        chat_id = _chat_id(update)
        if chat_id is None:
            await coroutine
            return
        turns = self._chats.setdefault(chat_id, _ChatTurns())
        turns.waiting += 1
        try:
            async with turns.lock:
                await coroutine
        finally:
            turns.waiting -= 1
            if not turns.waiting:
                del self._chats[chat_id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to close."""


class _ChatTurns:
    """One chat's updates in hand: a lock taken in the order they arrived (asyncio's locks
    are first come, first served), and how many hold it or wait for it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0


def _chat_id(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_chat is not None:
        return update.effective_chat.id
    return None
