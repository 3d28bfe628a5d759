"""The updates waiting for the bot, and the long polls (getUpdates) waiting for updates."""

import asyncio
import copy

from bot.localapi.errors import conflict
from bot.localapi.records import JSONDict


class Pulse:
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


class UpdateQueue:
    """Updates in order of their ids, kept until a getUpdates offset confirms them.

    `state_changed` is fired when the bot confirms updates, for those waiting on that.
    """

    def __init__(self, state_changed: Pulse) -> None:
        self.waiting: list[JSONDict] = []
        self._last_update_id = 0
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._closing = False
        self._updates_changed = Pulse()
        self._state_changed = state_changed

    def enqueue(self, payload: JSONDict) -> JSONDict:
        """Queue an update with the next id (dropped if the bot does not want its kind)."""
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, **payload}
        kind = next(iter(payload))
        if self._allowed_updates is None or kind in self._allowed_updates:
            self.waiting.append(update)
            self._updates_changed.fire()
        return copy.deepcopy(update)

    def confirm(self, offset: int) -> None:
        """Forget the updates `offset` confirms, as getUpdates does."""
        if offset < 0:
            del self.waiting[: max(len(self.waiting) + offset, 0)]
        else:
            self.waiting = [update for update in self.waiting if update["update_id"] >= offset]
        self._state_changed.fire()

    async def poll(
        self, *, offset: int | None, limit: int, seconds: float, allowed_updates: object
    ) -> list[JSONDict]:
        """getUpdates: confirm up to `offset`, then wait up to `seconds` for updates."""
        if isinstance(allowed_updates, list):
            self._allowed_updates = frozenset(allowed_updates) or None
        if offset is not None:
            self.confirm(offset)
        # A newer getUpdates ends an older one that is still waiting, as at Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_changed.fire()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            if self._poll_generation != generation:
                raise conflict()
            batch = self.waiting[:limit]
            remaining = deadline - loop.time()
            if batch or self._closing or remaining <= 0:
                return copy.deepcopy(batch)
            await self._updates_changed.wait(remaining)

    def open(self) -> None:
        """Long polls wait again (the server is starting)."""
        self._closing = False

    def release_polls(self) -> None:
        """End every waiting getUpdates now, with no updates (the server is stopping)."""
        self._closing = True
        self._updates_changed.fire()
