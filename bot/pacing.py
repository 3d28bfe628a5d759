"""Pacing every message the bot sends, so that Telegram never has to refuse one.

Telegram allows a bot about 30 messages a second overall, one a second in a chat and 20
a minute in a group, and answers bursts with 429s and growing waits. `Pacer` spaces sends
evenly under those ceilings and, after a 429, holds every send for its `retry_after`.
Replies to people talking to the bot are *interactive* and take the next free slot ahead
of broadcast traffic, which queues behind them; in a private chat they do not wait out the
chat's second either (a person who sends three commands gets three answers at once, and
the 1/s rule keeps spacing the pushes), while the overall and the group limits hold for all.

`PacingRateLimiter` plugs the pacer into python-telegram-bot (its `BaseRateLimiter`) for
replies; the outbox sender (bot/sender.py) asks the same pacer for its broadcast turns, so
both share one pace.
"""

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

SAFETY = 0.98
MIN_CREDIT_SECONDS = 0.005
# Chats remembered before those idle for a minute are forgotten.
FORGET_ABOVE = 100_000
# Calls that put a message in a chat (and so count against Telegram's limits).
_PACED_PREFIXES = ("send", "copy", "forward", "edit")


@dataclass(frozen=True)
class Limits:
    per_second: float = 30.0
    chat_interval: float = 1.0
    group_per_minute: int = 20


@dataclass
class _Waiter:
    chat_id: int | None
    turn: asyncio.Future[None]
    # Whether the chat's one message a second applies (the group limit always does).
    chat_interval: bool = True


class Pacer:
    """Slots for sends: evenly spaced overall, one a second per chat, 20 a minute per group.

    Waiters are served first come, first served — interactive ones before broadcast ones —
    skipping only those whose chat must still wait, so no send waits much longer than the
    queue ahead of it takes.
    """

    def __init__(
        self,
        limits: Limits,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        # 2% under the ceiling: a send reaches Telegram a little after its slot, and uneven
        # delays would otherwise crowd rate+1 sends into some second.
        self._interval = 1.0 / (limits.per_second * SAFETY)
        # A late wake-up keeps this much credit, so that lateness is not lost: half a slot
        # at Telegram's 30/s, a few slots at paid broadcast's 1,000/s.
        self._credit = max(self._interval / 2, MIN_CREDIT_SECONDS)
        # ...but never more than the rate in any window of a second and 2%: the last
        # `per_second` slots, so a send is never given out before the oldest of them is
        # that far behind, whatever credit says.
        self._window: deque[float] = deque(maxlen=max(1, int(limits.per_second)))
        self._window_seconds = 1.0 / SAFETY
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._chat_ready: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}
        self._forget_above = FORGET_ABOVE
        self._interactive: deque[_Waiter] = deque()
        self._broadcast: deque[_Waiter] = deque()
        self._dispatcher: asyncio.Task[None] | None = None

    def pause(self, seconds: float) -> None:
        """Hold every send for `seconds` (Telegram's retry_after)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def chat_ready_in(self, chat_id: int) -> float:
        """Seconds until `chat_id` may receive its next message (0: now)."""
        return max(0.0, self._chat_free_at(chat_id) - self._clock())

    async def wait_turn(
        self, chat_id: int | None, *, interactive: bool, chat_interval: bool = True
    ) -> None:
        """Return when a message to `chat_id` may be sent; interactive sends go first.

        With `chat_interval=False` the send does not wait for the chat's second since its
        last message (it still counts for the next one, and for the group limit).
        """
        waiter = _Waiter(chat_id, asyncio.get_running_loop().create_future(), chat_interval)
        (self._interactive if interactive else self._broadcast).append(waiter)
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(), name="pacer")
        await waiter.turn

    async def _dispatch(self) -> None:
        """Give out slots, one per interval (all that are due at each wake-up), while anyone
        waits."""
        while self._interactive or self._broadcast:
            now = self._clock()
            gate = self._gate()
            if gate > now:
                await self._sleep(gate - now)
                continue
            while gate <= now:
                waiter = self._next_waiter(now)
                if waiter is None:
                    break
                self._next_slot = max(gate, now - self._credit) + self._interval
                self._window.append(now)
                self._record(waiter.chat_id, now)
                waiter.turn.set_result(None)
                gate = self._gate()
            else:
                continue  # the slots due are given out: sleep until the next one
            # Everyone still waiting is held by their chat's limit (or nobody waits any more).
            held = self._drop_given_up()
            if held:
                free_at = min(self._free_at(waiter) for waiter in held)
                await self._sleep(min(free_at - now, self._interval))

    def _drop_given_up(self) -> list[_Waiter]:
        """Forget the waiters that were cancelled; the ones left, interactive first."""
        for queue in (self._interactive, self._broadcast):
            waiting = [waiter for waiter in queue if not waiter.turn.done()]
            queue.clear()
            queue.extend(waiting)
        return [*self._interactive, *self._broadcast]

    def _gate(self) -> float:
        """When the next slot may be given out."""
        gate = max(self._paused_until, self._next_slot)
        if len(self._window) == self._window.maxlen:
            gate = max(gate, self._window[0] + self._window_seconds)
        return gate

    def _next_waiter(self, now: float) -> _Waiter | None:
        """The first waiter whose chat may receive now, interactive ones first."""
        for queue in (self._interactive, self._broadcast):
            while queue and queue[0].turn.done():  # given up waiting (cancelled)
                queue.popleft()
            for index, waiter in enumerate(queue):
                if not waiter.turn.done() and self._free_at(waiter) <= now:
                    del queue[index]
                    return waiter
        return None

    def _free_at(self, waiter: _Waiter) -> float:
        return self._chat_free_at(waiter.chat_id, chat_interval=waiter.chat_interval)

    def _chat_free_at(self, chat_id: int | None, *, chat_interval: bool = True) -> float:
        if chat_id is None:
            return 0.0
        free_at = self._chat_ready.get(chat_id, 0.0) if chat_interval else 0.0
        sends = self._group_sends.get(chat_id)
        if sends and len(sends) >= self.limits.group_per_minute:
            free_at = max(free_at, sends[0] + 60.0)
        return free_at

    def _record(self, chat_id: int | None, slot: float) -> None:
        if chat_id is None:
            return
        self._chat_ready[chat_id] = slot + self.limits.chat_interval
        if chat_id < 0:  # groups and supergroups have negative ids
            sends = self._group_sends.setdefault(chat_id, deque())
            sends.append(slot)
            while sends and sends[0] <= slot - 60.0:
                sends.popleft()
        if len(self._chat_ready) > self._forget_above:
            self._forget_idle(slot)
            # Twice what is left: forgetting stays rare however many chats are recent.
            self._forget_above = max(FORGET_ABOVE, 2 * len(self._chat_ready))

    def _forget_idle(self, now: float) -> None:
        """Drop chats with no send in the last minute (they are free anyway)."""
        self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now - 60.0}
        self._group_sends = {
            c: s for c, s in self._group_sends.items() if s and s[-1] > now - 60.0
        }


class PacingRateLimiter(BaseRateLimiter[dict[str, Any]]):
    """python-telegram-bot's rate limiter interface over one `Pacer`.

    Every call through the bot is interactive (replies, alerts); the outbox sender waits
    for its broadcast turns itself. In a private chat (a positive id) a reply does not wait
    for the chat's second. A 429 pauses every send, and the call is tried once more.
    """

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if not endpoint.startswith(_PACED_PREFIXES):
            return await callback(*args, **kwargs)
        chat_id = _chat_id(data)
        private = chat_id is not None and chat_id > 0
        await self.pacer.wait_turn(chat_id, interactive=True, chat_interval=not private)
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as error:
            self.pacer.pause(retry_seconds(error))
        await self.pacer.wait_turn(chat_id, interactive=True, chat_interval=not private)
        return await callback(*args, **kwargs)


def _chat_id(data: dict[str, Any]) -> int | None:
    try:
        return int(data["chat_id"])
    except (KeyError, TypeError, ValueError):
        return None


def retry_seconds(error: RetryAfter) -> float:
    """A 429's retry_after in seconds (an int, or a timedelta with PTB_TIMEDELTA set)."""
    retry_after = error.retry_after
    return (
        retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)
    )
