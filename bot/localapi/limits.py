"""Telegram's flood limits: 429 with retry_after beyond the configured sending rates."""

import math
import time
from collections import deque

from bot.localapi.errors import too_many_requests
from bot.localapi.records import Chat


class SlidingWindow:
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


class RateLimits:
    """Sliding windows over the messages the bot creates: overall, per chat, per group."""

    def __init__(self) -> None:
        self._global_window: SlidingWindow | None = None
        self._per_chat: float | None = None
        self._per_group_per_minute: float | None = None
        self._chat_windows: dict[int, SlidingWindow] = {}
        self._group_windows: dict[int, SlidingWindow] = {}

    def configure(
        self,
        per_second: float | None,
        per_chat_per_second: float | None,
        per_group_per_minute: float | None,
    ) -> None:
        """New limits (None: no limit), counted afresh."""
        self._global_window = SlidingWindow(per_second, 1.0) if per_second else None
        self._per_chat = per_chat_per_second
        self._per_group_per_minute = per_group_per_minute
        self._chat_windows.clear()
        self._group_windows.clear()

    def take_send_slot(self, chat: Chat) -> None:
        """Count one new message against the rate limits, or raise 429."""
        now = time.monotonic()
        windows = [self._global_window] if self._global_window else []
        if per_chat := self._per_chat:
            windows.append(self._chat_windows.setdefault(chat.id, SlidingWindow(per_chat, 1.0)))
        per_group = self._per_group_per_minute
        if per_group and chat.type in ("group", "supergroup"):
            window = SlidingWindow(per_group / 60.0, 60.0)
            windows.append(self._group_windows.setdefault(chat.id, window))
        wait = max((window.wait_needed(now) for window in windows), default=0.0)
        if wait > 0:
            raise too_many_requests(max(1, math.ceil(wait)))
        for window in windows:
            window.record(now)
