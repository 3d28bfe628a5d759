"""The pacer: Telegram's limits kept by spacing sends, on a simulated clock."""

import asyncio
import random

from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.http import AnswerTimedOut
from bot.pacing import Limits, Pacer, PacingRateLimiter
from bot.sender import Failure, backoff, classify

GROUP = -1001


class Clock:
    """Simulated time: sleeping advances it at once."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def _pacer(clock: Clock, **limits: float) -> Pacer:
    return Pacer(Limits(**limits), clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]


async def _send_times(pacer: Pacer, clock: Clock, chats: list[int]) -> list[float]:
    times = []
    for chat in chats:
        await pacer.wait_turn(chat, interactive=False)
        times.append(clock.now)
    return times


async def _send_times_in_flight(
    pacer: Pacer, clock: Clock, sends: int, waiters: int
) -> list[float]:
    """`waiters` sending side by side, like the sender's sends in flight, to `sends` chats."""
    chats = iter(range(1, sends + 1))
    times: list[float] = []

    async def in_flight() -> None:
        for chat in chats:
            await pacer.wait_turn(chat, interactive=False)
            times.append(clock.now)

    await asyncio.gather(*(in_flight() for _ in range(waiters)))
    return times


async def test_sends_are_spaced_under_the_overall_rate() -> None:
    clock = Clock()
    times = await _send_times(_pacer(clock, per_second=30.0), clock, list(range(1, 91)))
    # 90 sends to 90 chats take about three seconds (paced 2% under the ceiling),
    # never more than 30 in any second.
    assert 3.0 < times[-1] < 3.1
    assert all(sum(1 for t in times if start <= t < start + 1.0) <= 30 for start in times)


async def test_one_chat_gets_at_most_one_message_a_second() -> None:
    clock = Clock()
    times = await _send_times(_pacer(clock, per_second=30.0), clock, [5, 5, 5])
    assert [round(t, 6) for t in times] == [0.0, 1.0, 2.0]


async def test_a_group_gets_at_most_twenty_messages_a_minute() -> None:
    clock = Clock()
    pacer = _pacer(clock, per_second=30.0, chat_interval=0.0)
    times = await _send_times(pacer, clock, [GROUP] * 21)
    assert times[19] < 1.0 and times[20] >= 60.0


async def test_replies_in_a_private_chat_are_not_held_a_second_but_pushes_still_are() -> None:
    clock = Clock()
    pacer = _pacer(clock, per_second=30.0)
    replies = []
    for _ in range(3):
        await pacer.wait_turn(5, interactive=True, chat_interval=False)
        replies.append(clock.now)
    await pacer.wait_turn(5, interactive=False)
    # Three answers at the overall pace (a thirtieth of a second apart), then the push a
    # second after the last of them.
    assert replies[-1] < 0.1
    assert 1.0 <= clock.now - replies[-1] < 1.1


async def test_replies_in_a_group_keep_twenty_a_minute() -> None:
    clock = Clock()
    pacer = _pacer(clock, per_second=30.0)
    times = []
    for _ in range(21):
        await pacer.wait_turn(GROUP, interactive=True, chat_interval=False)
        times.append(clock.now)
    assert times[20] >= 60.0


async def _limited_send_times(limiter: PacingRateLimiter, clock: Clock, chat: int) -> list[float]:
    """Two sendMessage calls to `chat` through the rate limiter: when each went."""
    times = []

    async def send() -> bool:
        times.append(clock.now)
        return True

    for _ in range(2):
        await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": chat}, None)
    return times


async def test_rate_limiter_answers_at_once_in_private_and_a_second_apart_in_groups() -> None:
    clock = Clock()
    limiter = PacingRateLimiter(_pacer(clock, per_second=30.0))
    private = await _limited_send_times(limiter, clock, 5)
    assert private[1] - private[0] < 0.1
    group = await _limited_send_times(limiter, clock, GROUP)
    assert group[1] - group[0] >= 1.0


class LateClock(Clock):
    """Every sleep ends 4 ms late, like a busy event loop at paid broadcast's pace."""

    async def sleep(self, seconds: float) -> None:
        await super().sleep(max(seconds, 0.0) + 0.004)


async def test_late_wake_ups_keep_the_pace_but_never_exceed_the_ceiling() -> None:
    clock = LateClock()
    times = await _send_times_in_flight(_pacer(clock, per_second=1000.0), clock, 3000, 64)
    # Lateness is made up by giving out the slots due at once (a few at most)...
    assert 3000 / times[-1] > 0.97 * 1000
    # ...so that no second ever holds more than the ceiling.
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= 1000


class JitteryClock(Clock):
    """Every sleep ends up to 10 ms late, at random."""

    def __init__(self) -> None:
        super().__init__()
        self.random = random.Random(7)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)  # those given a slot note the time they were given it
        self.now += max(seconds, 0.0) + self.random.uniform(0.0, 0.01)


async def test_made_up_lateness_never_crowds_a_second_beyond_the_ceiling_and_a_margin() -> None:
    clock = JitteryClock()
    times = await _send_times_in_flight(_pacer(clock, per_second=30.0), clock, 600, 32)
    assert 600 / times[-1] > 0.95 * 30
    # Any 31 sends in a row span more than a second and 2%: room for the sends' own jitter.
    assert min(times[index + 30] - times[index] for index in range(len(times) - 30)) >= 1.02


async def test_retry_after_pauses_every_send() -> None:
    clock = Clock()
    pacer = _pacer(clock, per_second=30.0)
    pacer.pause(5.0)
    times = await _send_times(pacer, clock, [1, 2])
    assert times[0] >= 5.0


async def test_reply_goes_ahead_of_waiting_broadcast() -> None:
    pacer = Pacer(Limits(per_second=50.0))  # real time: coroutines wait side by side
    order: list[str] = []

    async def broadcast(chat: int) -> None:
        await pacer.wait_turn(chat, interactive=False)
        order.append(f"broadcast {chat}")

    async def reply() -> None:
        await pacer.wait_turn(99, interactive=True)
        order.append("reply")

    await pacer.wait_turn(1, interactive=False)  # the broadcast has begun
    await asyncio.gather(*(broadcast(chat) for chat in range(2, 12)), reply())
    assert order.index("reply") == 0


async def test_busy_chat_says_how_long_until_it_is_free() -> None:
    clock = Clock()
    pacer = _pacer(clock, per_second=30.0)
    await pacer.wait_turn(7, interactive=False)
    assert 0.9 < pacer.chat_ready_in(7) <= 1.0 and pacer.chat_ready_in(8) == 0.0


def test_failures_are_sorted_by_what_to_do() -> None:
    read_timeout = AnswerTimedOut("Telegram did not answer in time")
    connect_timeout = TimedOut("no connection to Telegram in time")
    cases = {
        Failure.BLOCKED: Forbidden("Forbidden: bot was blocked by the user"),
        Failure.MIGRATED: ChatMigrated(-1002),
        Failure.FLOOD: RetryAfter(3),
        Failure.CHAT_NOT_FOUND: BadRequest("Bad Request: chat not found"),
        Failure.TOO_LONG: BadRequest("Bad Request: message is too long"),
        Failure.BAD_MARKUP: BadRequest("Bad Request: can't parse entities: bad tag"),
        Failure.PERMANENT: BadRequest("Bad Request: message text is empty"),
        Failure.MAYBE_DELIVERED: read_timeout,
        Failure.TRANSIENT: connect_timeout,
    }
    for failure, error in cases.items():
        assert classify(error) is failure, error
    assert classify(NetworkError("Bad Gateway (502)")) is Failure.TRANSIENT


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    first, later = backoff(1, rng=rng).total_seconds(), backoff(5, rng=rng).total_seconds()
    assert 1.0 <= first <= 3.0 and 16.0 <= later <= 48.0
    assert backoff(40, rng=rng).total_seconds() <= 5400.0


async def test_a_waiter_that_gave_up_does_not_keep_the_pacer_spinning() -> None:
    clock = Clock()
    pacer = _pacer(clock, per_second=30.0)
    await pacer.wait_turn(5, interactive=False)
    held = asyncio.create_task(pacer.wait_turn(5, interactive=False))  # chat 5 waits 1 s
    gave_up = asyncio.create_task(pacer.wait_turn(6, interactive=False))
    await asyncio.sleep(0)
    gave_up.cancel()
    await asyncio.wait_for(held, timeout=5)  # in real time: a spinning pacer never gets here
    assert 1.0 <= clock.now < 1.1
