"""How the delivery engine sends: `.venv/bin/python benchmarks/bench_delivery.py`.

Three measurements of the real outbox (storage/outbox.py) and sender (bot/sender.py,
bot/pacing.py), each against the local Bot API emulator (bot/localapi/) served from a
separate process, so that its CPU is not charged to the bot:

1. pacing: a broadcast to --chats chats (default 10,000) against an emulator that allows
   30 messages/s in any one-second window and answers 429 beyond it, with --latency
   (default 50 ms) per call. casewatch (migrated SQLite, chats subscribed to `all`, one
   event expanded by expand_due_events, the Sender behind PacingRateLimiter at 30/s) and,
   in the same run, a plain python-telegram-bot sender (AIORateLimiter, the same messages,
   the same number in flight). Sustained rate = messages / (last - first accepted send).
   First, the Pacer alone (--pacer-slots slots, --concurrency waiters, at 30/s and at
   1,000/s): the pace it keeps and the longest any one send waits for its slot.
2. throughput: limits lifted (no rate limit in the emulator, --fast-latency, Pacer at
   100,000/s, paid broadcast) for --fast-chats chats (default 10,000): messages per second
   for a few Sender concurrencies, with the CPU per message of both processes, the outbox
   transactions, and a cProfile of one run; then, as references without the outbox, plain
   python-telegram-bot send_message over aiohttp (as casewatch sends) and over PTB's
   default HTTPXRequest, against the same emulator.
3. memory: peak RSS of a fresh process expanding one event for 10k, 50k and 100k
   subscribers, then leasing and sending all of them to a no-latency emulator.
4. replies: the whole bot (`build_application`, long polling) broadcasting to --chats chats
   against the strict 30/s emulator while --askers other users send --questions /find
   commands, one a second: from each user's message to the bot's answer, p50 and p95.

Pick scenarios with --scenarios; shrink with --chats, --fast-chats, --memory-sizes.
All defaults take about 40 minutes on 2 cores; a quick look (about 4 minutes):
`--chats 1000 --pacer-slots 300 --fast-chats 2000 --memory-sizes 2000,10000`.
Temporary databases live in a temporary folder that is removed at the end; the emulator
processes are stopped; all traffic stays on 127.0.0.1.
"""

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import logging
import multiprocessing
import os
import platform
import pstats
import resource
import signal
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from telegram import InlineKeyboardMarkup
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, ApplicationBuilder, BaseRateLimiter, ExtBot

import bot.sender
from bot.app import build_application, connected_builder, polling
from bot.http import AiohttpRequest
from bot.localapi import DEMO_TOKEN, Chat, LocalBotApi, User, serve_local_api
from bot.pacing import Limits, Pacer, PacingRateLimiter
from bot.sender import Sender, SenderSettings
from bot.settings import Settings
from storage.engine import create_engine, session_scope
from storage.migrate import upgrade_database
from storage.models import Chat as ChatRecord
from storage.models import Delivery, Subscription, SubscriptionScope, utcnow
from storage.outbox import expand_due_events
from storage.people import add_person, set_status

TOKEN = DEMO_TOKEN
FIRST_CHAT_ID = 5_000_000_000  # private chats: positive 64-bit ids
CEILING = 30.0  # Telegram's messages per second for a bot
UNLIMITED = 100_000.0  # the pacer's rate when limits are lifted
INSERT_CHUNK = 5_000
POLL_SECONDS = 0.1
REPLY_TIMEOUT = 30.0
ASKER_FIRST_ID = 9_000_000_000  # users who ask during a broadcast (none of them subscribed)
ASK_EVERY_SECONDS = 1.0
SPAWN = multiprocessing.get_context("spawn")


# --------------------------------------------------------------------------------------------
# The emulator, in its own process


@dataclass(frozen=True)
class EmulatorConfig:
    chats: int
    latency: float
    per_second: float | None  # None: no rate limit


@dataclass(frozen=True)
class EmulatorReport:
    """What the emulator saw: accepted sends, refusals, and how the sends were spread."""

    sent: int
    chats_reached: int
    duplicates: int  # messages beyond the first in a chat
    missing: int  # registered chats that got nothing
    flood_429: int
    other_failures: int
    first: float  # time.monotonic() of the first accepted send
    last: float
    max_in_one_second: int  # most accepted sends in any one-second window
    cpu_seconds: float  # the emulator process's CPU time so far

    @property
    def span(self) -> float:
        return self.last - self.first

    @property
    def sustained_rate(self) -> float:
        """Messages per second between the first and the last accepted send."""
        return self.sent / self.span if self.span > 0 else 0.0


def chat_ids(count: int) -> range:
    return range(FIRST_CHAT_ID, FIRST_CHAT_ID + count)


def _emulator_process(conn: Connection, config: EmulatorConfig) -> None:
    """Entry point of the emulator process."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve_emulator(conn, config))


async def _serve_emulator(conn: Connection, config: EmulatorConfig) -> None:
    """Serve LocalBotApi on 127.0.0.1 and answer the parent's questions over `conn`."""
    api = LocalBotApi(TOKEN)
    api.latency = config.latency
    if config.per_second is not None:
        api.rate_limit(per_second=config.per_second)
    for chat_id in chat_ids(config.chats):
        api.register_chat(Chat(chat_id, "private"))
    # Telegram does not stop to collect garbage: a full collection here (~40 ms once 10,000
    # messages are kept) would hold arriving sends back and then count them all at once.
    gc.freeze()
    gc.disable()
    async with serve_local_api(api, host="127.0.0.1") as url:
        conn.send(url)
        while True:
            command = await asyncio.to_thread(conn.recv)
            if command == "count":
                conn.send(len(api.sent))
            elif command == "cpu":
                conn.send(time.process_time())
            elif command == "report":
                conn.send(_summarize(api, config.chats))
            elif command == "sample":
                first = api.sent[0] if api.sent else None
                conn.send((first.text, first.reply_markup) if first else ("", None))
            elif isinstance(command, tuple) and command[0] == "ask":
                conn.send(await _ask(api, user_id=command[1], text=command[2]))
            else:
                break


async def _ask(api: LocalBotApi, *, user_id: int, text: str) -> float | None:
    """A user writes `text` to the bot: seconds until its answer arrived (None: no answer)."""
    user = User(user_id, f"Asker {user_id}", language_code="en")
    before = len(api.messages_to(user_id))
    started = time.monotonic()
    await api.user_sends(user, None, text)
    try:
        answers = await api.wait_for_messages(user_id, before + 1, timeout=REPLY_TIMEOUT)
    except TimeoutError:
        return None
    return answers[before].time - started


def _summarize(api: LocalBotApi, chats: int) -> EmulatorReport:
    times = sorted(message.time for message in api.sent)
    per_chat = Counter(message.chat_id for message in api.sent)
    flood = sum(1 for failure in api.failed if failure.error_code == 429)
    return EmulatorReport(
        sent=len(times),
        chats_reached=len(per_chat),
        duplicates=sum(count - 1 for count in per_chat.values()),
        missing=sum(1 for chat_id in chat_ids(chats) if chat_id not in per_chat),
        flood_429=flood,
        other_failures=len(api.failed) - flood,
        first=times[0] if times else 0.0,
        last=times[-1] if times else 0.0,
        max_in_one_second=_max_in_window(times, 1.0),
        cpu_seconds=time.process_time(),
    )


def _max_in_window(times: list[float], period: float) -> int:
    """The most events in any half-open window of `period` seconds (times sorted)."""
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= period:
            start += 1
        best = max(best, end - start + 1)
    return best


class Emulator:
    """The emulator process: start it with `with Emulator(config) as emulator:`."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._conn, child = SPAWN.Pipe()
        self._process = SPAWN.Process(
            target=_emulator_process, args=(child, config), name="bot-api-emulator", daemon=True
        )
        self.url = ""

    def __enter__(self) -> "Emulator":
        self._process.start()
        if not self._conn.poll(60):
            self._stop()
            raise RuntimeError("the emulator did not start")
        self.url = self._conn.recv()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop()

    def _stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        self._conn.close()

    def ask(self, command: object) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    async def count(self) -> int:
        """Accepted sends so far."""
        return int(await asyncio.to_thread(self.ask, "count"))

    async def cpu(self) -> float:
        return float(await asyncio.to_thread(self.ask, "cpu"))

    async def sample(self) -> tuple[str, InlineKeyboardMarkup | None]:
        """The text and buttons of the first message accepted."""
        text, markup = await asyncio.to_thread(self.ask, "sample")
        return text, InlineKeyboardMarkup.de_json(markup, None) if markup else None

    async def report(self) -> EmulatorReport:
        report: EmulatorReport = await asyncio.to_thread(self.ask, "report")
        return report

    async def reply_seconds(self, user_id: int, text: str) -> float | None:
        """Seconds from a user's message to the bot's answer (None: none came)."""
        answer: float | None = await asyncio.to_thread(self.ask, ("ask", user_id, text))
        return answer

    async def wait_for(self, sends: int, seconds: float) -> bool:
        """Wait until `sends` messages were accepted; False after `seconds`."""
        deadline = time.monotonic() + seconds
        while await self.count() < sends:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(POLL_SECONDS)
        return True


# --------------------------------------------------------------------------------------------
# The database: N chats following everyone, one person, one push


def sqlite_url(folder: Path, name: str) -> str:
    return f"sqlite:///{folder / name}.db"


async def add_subscribers(engine: AsyncEngine, chats: int) -> None:
    """Bulk insert `chats` private chats, each subscribed to `all`."""
    now = utcnow()
    ids = list(chat_ids(chats))
    for start in range(0, chats, INSERT_CHUNK):
        chunk = ids[start : start + INSERT_CHUNK]
        async with session_scope(engine) as session:
            await session.exec(
                insert(ChatRecord),
                params=[
                    {"id": chat_id, "kind": "private", "created_at": now} for chat_id in chunk
                ],
            )
            await session.exec(
                insert(Subscription),
                params=[
                    {"chat_id": chat_id, "scope": SubscriptionScope.ALL, "created_at": now}
                    for chat_id in chunk
                ],
            )


async def record_push(engine: AsyncEngine) -> None:
    """One public person whose asylum status changes: one event, due now."""
    async with session_scope(engine) as session:
        person = await add_person(
            session=session,
            name="Qaisha Aqan",
            other_spellings=["Қайша Ақан", "Кайша Акан"],
            actor_id=None,
            pushed=False,
        )
        await set_status(
            session=session,
            person=person,
            field="asylum",
            status="asylum_seeker",
            since=None,
            source="https://example.org/asylum-ruling",
            actor_id=None,
            grace=timedelta(0),
        )


def build_database(database_url: str, chats: int) -> None:
    """A migrated SQLite database with `chats` subscribers and one due push (not expanded)."""
    upgrade_database(database_url)

    async def fill() -> None:
        engine = create_engine(database_url)
        try:
            await add_subscribers(engine, chats)
            await record_push(engine)
        finally:
            await engine.dispose()

    asyncio.run(fill())


async def expand(engine: AsyncEngine) -> tuple[int, float]:
    """expand_due_events once; returns the deliveries created and the seconds it took."""
    started = time.perf_counter()
    async with session_scope(engine) as session:
        created = await expand_due_events(session=session, now=utcnow())
    return created, time.perf_counter() - started


async def delivery_states(engine: AsyncEngine) -> dict[str, int]:
    async with session_scope(engine) as session:
        rows = await session.exec(
            select(Delivery.state, func.count()).group_by(col(Delivery.state))
        )
        return {state: count for state, count in rows.all()}


# --------------------------------------------------------------------------------------------
# Senders under test


def make_bot(url: str, rate_limiter: BaseRateLimiter[Any] | None) -> ExtBot[Any]:
    """A bot built the way bot/app.py builds it (aiohttp, defaults), with `rate_limiter`."""
    builder = connected_builder(Settings(telegram_bot_token=TOKEN, telegram_api_url=url))
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    return builder.build().bot


@dataclass
class OutboxCounters:
    """Lease and settle transactions, counted by wrapping the sender's storage calls."""

    leases: int = 0
    leased: int = 0
    lease_sizes: Counter[int] = field(default_factory=Counter)
    settles: int = 0
    settles_cancelled: int = 0  # mark_sent_many interrupted by Sender.close()
    settled_rows_cancelled: int = 0
    commits: int = 0

    @property
    def mean_lease(self) -> float:
        return self.leased / self.leases if self.leases else 0.0


@contextlib.contextmanager
def counting_outbox(engine: AsyncEngine) -> Iterator[OutboxCounters]:
    """Count the sender's leases (and their sizes), settles and database commits.

    Measurement only: wraps the names bot/sender.py imported, restores them after.
    """
    counters = OutboxCounters()
    lease, settle = bot.sender.lease_deliveries, bot.sender.mark_sent_many

    async def counted_lease(**kwargs: Any) -> Any:
        batch = await lease(**kwargs)
        if batch:
            counters.leases += 1
            counters.leased += len(batch)
            counters.lease_sizes[len(batch)] += 1
        return batch

    async def counted_settle(**kwargs: Any) -> None:
        counters.settles += 1
        try:
            await settle(**kwargs)
        except asyncio.CancelledError:
            counters.settles_cancelled += 1
            counters.settled_rows_cancelled += len(kwargs["sent"])
            raise

    def on_commit(_connection: Any) -> None:
        counters.commits += 1

    bot.sender.lease_deliveries = counted_lease  # type: ignore[assignment]
    bot.sender.mark_sent_many = counted_settle  # type: ignore[assignment]
    event.listen(engine.sync_engine, "commit", on_commit)
    try:
        yield counters
    finally:
        bot.sender.lease_deliveries = lease
        bot.sender.mark_sent_many = settle
        event.remove(engine.sync_engine, "commit", on_commit)


@dataclass
class SendRun:
    """One broadcast, as the emulator and the sending process saw it."""

    label: str
    emulator: EmulatorReport
    finished: bool
    wall_seconds: float
    cpu_seconds: float  # the sending process, all threads
    main_thread_cpu_seconds: float  # the event loop's thread
    emulator_cpu_seconds: float
    states: dict[str, int] = field(default_factory=dict)
    outbox: OutboxCounters | None = None
    profile: str = ""
    close_error: str = ""  # what Sender.close() raised, if anything


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Stopwatch:
    """Wall, process CPU, event-loop-thread CPU and emulator CPU, from start to stop."""

    emulator: Emulator
    started: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    elapsed: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    async def start(self) -> None:
        cpu = await self.emulator.cpu()
        self.started = (time.perf_counter(), process_cpu(), time.thread_time(), cpu)

    async def stop(self) -> None:
        cpu = await self.emulator.cpu()
        now = (time.perf_counter(), process_cpu(), time.thread_time(), cpu)
        wall, process, thread, emulator = (b - a for a, b in zip(self.started, now, strict=True))
        self.elapsed = (wall, process, thread, emulator)

    def run(self, label: str, report: EmulatorReport, *, finished: bool, **extra: Any) -> SendRun:
        wall, process, thread, emulator = self.elapsed
        return SendRun(label, report, finished, wall, process, thread, emulator, **extra)


async def run_casewatch(
    emulator: Emulator,
    engine: AsyncEngine,
    *,
    label: str,
    chats: int,
    rate: float,
    concurrency: int,
    paid: bool,
    profile: bool = False,
) -> SendRun:
    """Send every pending delivery with the real Sender; stop when all are accepted."""
    pacer = Pacer(Limits(per_second=rate))
    sending_bot = make_bot(emulator.url, PacingRateLimiter(pacer))
    await sending_bot.initialize()
    sender = Sender(
        bot=sending_bot,
        request=AiohttpRequest(pool_size=concurrency),
        engine=engine,
        pacer=pacer,
        settings=SenderSettings(concurrency=concurrency, paid_broadcast=paid),
        owner_ids=frozenset(),
    )
    gc.freeze()  # as bot/app.py does once started
    profiler = cProfile.Profile() if profile else None
    stopwatch = Stopwatch(emulator)
    with counting_outbox(engine) as counters:
        await stopwatch.start()
        if profiler:
            profiler.enable()
        await sender.start()
        finished = await emulator.wait_for(chats, seconds=120 + chats / min(rate, 50))
        try:
            await sender.close()
        except Exception as error:  # reported in the results, not hidden
            close_error = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        else:
            close_error = ""
        if profiler:
            profiler.disable()
        await stopwatch.stop()
    await sending_bot.shutdown()
    return stopwatch.run(
        label,
        await emulator.report(),
        finished=finished,
        states=await delivery_states(engine),
        outbox=counters,
        profile=summarize_profile(profiler, chats) if profiler else "",
        close_error=close_error,
    )


async def run_workers(
    emulator: Emulator,
    label: str,
    send: Callable[[int], Awaitable[object]],
    *,
    chats: int,
    concurrency: int,
) -> SendRun:
    """`concurrency` workers calling `send(chat_id)` for every chat: no database, no outbox."""
    pending = iter(chat_ids(chats))
    failed = 0

    async def worker() -> None:
        nonlocal failed
        for chat_id in pending:
            try:
                await send(chat_id)
            except TelegramError:
                failed += 1

    stopwatch = Stopwatch(emulator)
    await stopwatch.start()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await stopwatch.stop()
    report = await emulator.report()
    return stopwatch.run(label, report, finished=failed == 0, states={"gave up": failed})


async def run_ptb(
    emulator: Emulator,
    *,
    rate_limiter: BaseRateLimiter[Any] | None,
    label: str,
    chats: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
    concurrency: int,
    ptb_http: bool = False,
) -> SendRun:
    """A plain python-telegram-bot broadcast: send_message per chat, `concurrency` in flight.

    What a typical bot does: a worker pool over the chat ids, the rate limiter (if any)
    doing the pacing and the retrying, no outbox. HTTP over aiohttp as casewatch does, or
    with `ptb_http` over PTB's own default (HTTPXRequest, a pool of `concurrency`).
    """
    if ptb_http:
        sending_bot = (
            ApplicationBuilder()
            .token(TOKEN)
            .base_url(f"{emulator.url}/bot")
            .connection_pool_size(concurrency)
            .build()
            .bot
        )
    else:
        sending_bot = make_bot(emulator.url, rate_limiter)
    await sending_bot.initialize()
    gc.freeze()  # the same start as casewatch's
    try:
        return await run_workers(
            emulator,
            label,
            lambda chat_id: sending_bot.send_message(chat_id, text, reply_markup=markup),
            chats=chats,
            concurrency=concurrency,
        )
    finally:
        await sending_bot.shutdown()


# --------------------------------------------------------------------------------------------
# Profile summary

REPOSITORY = Path(__file__).resolve().parent.parent
LAYERS = {
    "aiohttp": "HTTP client (aiohttp)",
    "yarl": "HTTP client (aiohttp)",
    "multidict": "HTTP client (aiohttp)",
    "httpx": "HTTP client (httpx, httpcore, h11, anyio)",
    "httpcore": "HTTP client (httpx, httpcore, h11, anyio)",
    "h11": "HTTP client (httpx, httpcore, h11, anyio)",
    "anyio": "HTTP client (httpx, httpcore, h11, anyio)",
    "telegram": "python-telegram-bot",
    "sqlalchemy": "database (SQLAlchemy, SQLModel, aiosqlite)",
    "sqlmodel": "database (SQLAlchemy, SQLModel, aiosqlite)",
    "aiosqlite": "database (SQLAlchemy, SQLModel, aiosqlite)",
}
IDLE = "idle: waiting in epoll"


def _layer(filename: str) -> str:
    """Which library (or casewatch itself) a profiled function belongs to."""
    if filename.startswith("<frozen importlib"):
        return "import machinery (failed imports at run time)"
    path = Path(filename)
    if "site-packages" in path.parts:
        package = path.parts[path.parts.index("site-packages") + 1].removesuffix(".py")
        return LAYERS.get(package, package)
    if path.is_relative_to(REPOSITORY):
        return "casewatch (bot/, storage/, handlers/)"
    if path.parent.name == "asyncio":
        return "asyncio event loop"
    if filename == "~":
        return "C built-ins"
    return "stdlib (other)"


def _time_by_layer(raw: dict[Any, Any]) -> Counter[str]:
    """Own time per layer; a C built-in is charged to the layers of its callers."""
    layers: Counter[str] = Counter()
    for (filename, _line, name), (_cc, _calls, own, _cumulative, callers) in raw.items():
        if "epoll" in name:
            layers[IDLE] += own
        elif filename != "~" or not callers:
            layers[_layer(filename)] += own
        else:
            edges = {caller: edge[2] for caller, edge in callers.items()}
            total = sum(edges.values()) or 1.0
            for (caller_file, _caller_line, _caller_name), edge_own in edges.items():
                layers[_layer(caller_file)] += own * edge_own / total
    return layers


def summarize_profile(profiler: cProfile.Profile, messages: int, top: int = 12) -> str:
    """Time per layer (and per message), then the functions with the most own time."""
    stats = pstats.Stats(profiler, stream=io.StringIO())
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    layers = _time_by_layer(raw)
    total = sum(layers.values()) or 1.0
    lines = [f"    profile (event-loop thread, wall clock, {total:.1f} s):"]
    lines += [
        f"      {seconds / total:6.1%} {seconds * 1000 / messages:6.2f} ms/msg  {name}"
        for name, seconds in layers.most_common()
        if seconds / total >= 0.005
    ]
    lines.append("    functions with the most own time:")
    ranked = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    for (filename, line, name), (_cc, calls, own, _cumulative, _callers) in ranked:
        where = f" ({Path(filename).name}:{line})" if line else ""
        lines.append(f"      {own:6.2f} s {calls:>9,} calls  {name}{where}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Scenarios


def print_run(run: SendRun, *, ceiling: float | None = None) -> None:
    report = run.emulator
    share = f" = {report.sustained_rate / ceiling:.1%} of {ceiling:g}/s" if ceiling else ""
    sent = max(report.sent, 1)
    print(f"  {run.label}")
    print(
        f"    accepted {report.sent:,} in {report.span:.1f} s: "
        f"{report.sustained_rate:,.1f} msg/s{share}"
    )
    print(
        f"    429s received {report.flood_429}, other errors {report.other_failures}, "
        f"most in any 1 s window {report.max_in_one_second}"
    )
    print(
        f"    chats reached {report.chats_reached:,}, missing {report.missing:,}, "
        f"duplicates {report.duplicates:,}; finished: {'yes' if run.finished else 'NO'}"
    )
    print(
        f"    CPU per message: sending process {run.cpu_seconds * 1000 / sent:.2f} ms "
        f"(event-loop thread {run.main_thread_cpu_seconds * 1000 / sent:.2f} ms), "
        f"emulator {run.emulator_cpu_seconds * 1000 / sent:.2f} ms; "
        f"sending process busy {run.cpu_seconds / max(run.wall_seconds, 1e-9):.0%} "
        f"of {run.wall_seconds:.1f} s"
    )
    if run.states:
        print(f"    outcome: {', '.join(f'{k} {v:,}' for k, v in sorted(run.states.items()))}")
    if run.outbox:
        outbox = run.outbox
        sizes = ", ".join(f"{size}x{count}" for size, count in outbox.lease_sizes.most_common(4))
        print(
            f"    outbox: {outbox.leases:,} leases (mean {outbox.mean_lease:.1f} deliveries; "
            f"most common sizes {sizes}), {outbox.settles:,} settles, {outbox.commits:,} commits"
        )
        unsettled = report.chats_reached - run.states.get("sent", 0)
        if unsettled:
            print(f"    !! {unsettled} chats reached are not marked sent in the database")
        if run.close_error:
            print(f"    !! Sender.close() raised {run.close_error}")
        if outbox.settles_cancelled:
            print(
                f"    note: Sender.close() cancelled {outbox.settles_cancelled} settle(s) "
                f"mid-write ({outbox.settled_rows_cancelled} deliveries)"
            )


@dataclass(frozen=True)
class PacerReport:
    rate: float
    achieved: float  # slots handed out per second
    cpu_seconds: float
    waits: list[float]  # seconds each wait_turn took, sorted


async def pacer_alone(*, rate: float, waiters: int, sends: int) -> PacerReport:
    """The Pacer with nothing else: `waiters` broadcast tasks taking `sends` slots in all.

    Like the Sender's tasks in flight, each waits for a slot, "sends" (instantly), and takes
    the next chat. Shows the pace it keeps and how long a single send can wait for a slot.
    """
    pacer = Pacer(Limits(per_second=rate))
    pending = iter(range(1, sends + 1))
    waits: list[float] = []

    async def waiter() -> None:
        for chat_id in pending:
            asked = time.monotonic()
            await pacer.wait_turn(chat_id, interactive=False)
            waits.append(time.monotonic() - asked)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(waiter() for _ in range(waiters)))
    elapsed = time.perf_counter() - started
    return PacerReport(rate, sends / elapsed, time.process_time() - cpu, sorted(waits))


def print_pacer(report: PacerReport, waiters: int) -> None:
    waits = report.waits
    fair = waiters / report.rate
    print(
        f"  Pacer alone, {waiters} broadcast waiters at {report.rate:g}/s: "
        f"{report.achieved:,.1f} slots/s = {report.achieved / report.rate:.1%}, "
        f"CPU {report.cpu_seconds * 1000 / len(waits):.2f} ms/slot; wait for a slot "
        f"median {waits[len(waits) // 2]:.2f} s, p99 {waits[int(len(waits) * 0.99)]:.2f} s, "
        f"max {waits[-1]:.2f} s (FIFO would be about {fair:.2f} s)"
    )


async def pacing_scenario(
    folder: Path, *, chats: int, latency: float, concurrency: int, pacer_slots: int
) -> None:
    """casewatch and python-telegram-bot against a strict 30/s emulator, one after the other."""
    print(f"\n== 1. pacing: {chats:,} chats, emulator 30/s strict, latency {latency * 1000:g} ms")
    if pacer_slots:
        print_pacer(
            await pacer_alone(rate=CEILING, waiters=concurrency, sends=pacer_slots), concurrency
        )
        print_pacer(
            await pacer_alone(rate=1000.0, waiters=concurrency, sends=10 * pacer_slots),
            concurrency,
        )
    database_url = sqlite_url(folder, "pacing")
    await asyncio.to_thread(build_database, database_url, chats)
    engine = create_engine(database_url)
    try:
        created, seconds = await expand(engine)
        print(f"  expand_due_events: {created:,} deliveries in {seconds:.2f} s")
        config = EmulatorConfig(chats=chats, latency=latency, per_second=CEILING)
        with Emulator(config) as emulator:
            casewatch = await run_casewatch(
                emulator,
                engine,
                label=f"casewatch: Sender + PacingRateLimiter, concurrency {concurrency}",
                chats=chats,
                rate=CEILING,
                concurrency=concurrency,
                paid=False,
            )
            text, markup = await emulator.sample()  # the python-telegram-bot side sends the same
        print_run(casewatch, ceiling=CEILING)
        with Emulator(config) as emulator:
            baseline = await run_ptb(
                emulator,
                rate_limiter=AIORateLimiter(overall_max_rate=CEILING, max_retries=3),
                label=f"python-telegram-bot: AIORateLimiter(max_retries=3), {concurrency} workers",
                chats=chats,
                text=text,
                markup=markup,
                concurrency=concurrency,
            )
        print_run(baseline, ceiling=CEILING)
    finally:
        await engine.dispose()


async def replies_scenario(
    folder: Path, *, chats: int, latency: float, questions: int, askers: int
) -> None:
    """The whole bot (build_application, long polling) broadcasting to `chats` chats against a
    strict 30/s emulator, while `askers` other users send /find: how long each waits."""
    print(
        f"\n== 4. replies during a broadcast: {chats:,} chats, emulator 30/s strict, "
        f"latency {latency * 1000:g} ms, {questions} /find from {askers} users"
    )
    database_url = sqlite_url(folder, "replies")
    await asyncio.to_thread(build_database, database_url, chats)
    config = EmulatorConfig(chats=chats, latency=latency, per_second=CEILING)
    with Emulator(config) as emulator:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            telegram_bot_token=TOKEN,
            telegram_api_url=emulator.url,
            database_url=database_url,
            notify_grace_seconds=0,
        )
        async with polling(build_application(settings)):
            if not await emulator.wait_for(chats // 10, seconds=60 + chats / 300):
                print("  the broadcast did not get going")
                return
            waits = []
            for question in range(questions):
                asker = ASKER_FIRST_ID + question % askers
                waits.append(await emulator.reply_seconds(asker, "/find kaisha"))
                await asyncio.sleep(ASK_EVERY_SECONDS)
            broadcast_sent = await emulator.count()
        report = await emulator.report()
    answered = sorted(wait for wait in waits if wait is not None)
    print(
        f"  broadcast: {broadcast_sent - len(answered):,} of {chats:,} pushes sent when the last "
        f"answer came; 429s {report.flood_429}, other failed calls {report.other_failures}"
    )
    if not answered:
        print("  no answers")
        return
    print(
        f"  answered {len(answered)} of {questions}: p50 {_quantile(answered, 0.5):.3f} s, "
        f"p95 {_quantile(answered, 0.95):.3f} s, max {answered[-1]:.3f} s "
        f"(from the user's message to the bot's answer, long polling included)"
    )


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def throughput_scenario(
    folder: Path,
    *,
    chats: int,
    latency: float,
    concurrencies: list[int],
    profile_at: int,
    reference_concurrency: int,
) -> None:
    """Messages per second with limits lifted, for several concurrencies, and one profile."""
    print(
        f"\n== 2. throughput: {chats:,} chats, no rate limit, latency {latency * 1000:g} ms, "
        f"pacer {UNLIMITED:,.0f}/s, paid broadcast"
    )
    config = EmulatorConfig(chats=chats, latency=latency, per_second=None)
    runs = [(concurrency, False) for concurrency in concurrencies]
    if profile_at:
        runs.append((profile_at, True))
    text, markup = "", None
    for number, (concurrency, profiled) in enumerate(runs):
        database_url = sqlite_url(folder, f"throughput-{number}")
        await asyncio.to_thread(build_database, database_url, chats)
        engine = create_engine(database_url)
        try:
            await expand(engine)
            with Emulator(config) as emulator:
                run = await run_casewatch(
                    emulator,
                    engine,
                    label=f"casewatch, concurrency {concurrency}"
                    + (" (under cProfile: slower)" if profiled else ""),
                    chats=chats,
                    rate=UNLIMITED,
                    concurrency=concurrency,
                    paid=True,
                    profile=profiled,
                )
                text, markup = await emulator.sample()
        finally:
            await engine.dispose()
        print_run(run)
        if run.profile:
            print(run.profile)
    print("  references without the outbox (same message, same emulator set-up):")
    with Emulator(config) as emulator:
        print_run(
            await run_ptb(
                emulator,
                rate_limiter=None,
                label="python-telegram-bot send_message over aiohttp, no rate limiter, "
                f"{reference_concurrency} workers",
                chats=chats,
                text=text,
                markup=markup,
                concurrency=reference_concurrency,
            )
        )
    with Emulator(config) as emulator:
        print_run(
            await run_ptb(
                emulator,
                rate_limiter=None,
                label="python-telegram-bot send_message over its default HTTPXRequest, "
                f"{reference_concurrency} workers",
                chats=chats,
                text=text,
                markup=markup,
                concurrency=reference_concurrency,
                ptb_http=True,
            )
        )


@dataclass(frozen=True)
class MemoryReport:
    subscribers: int
    startup_rss_mib: float  # RSS after imports and engine creation
    startup_peak_mib: float  # peak RSS by then
    expand_rss_mib: float  # peak RSS after expand_due_events
    expand_traced_mib: float  # tracemalloc peak (Python allocations) during the expansion
    expand_seconds: float
    send_rss_mib: float | None  # peak RSS after leasing and sending every delivery
    final_rss_mib: float  # RSS at the end (not the peak)
    send_rate: float | None
    sent: int | None
    close_error: str  # what Sender.close() raised, if anything


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mib() -> float:
    """Resident memory now, from /proc (Linux)."""
    status = Path("/proc/self/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _memory_process(conn: Connection, database_url: str, url: str | None, chats: int) -> None:
    """Entry point of a fresh process whose peak RSS is the measurement."""
    logging.basicConfig(level=logging.WARNING)
    try:
        conn.send(asyncio.run(_measure_memory(database_url, url, chats)))
    except Exception as error:  # tell the parent rather than leave it waiting
        conn.send(f"{type(error).__name__}: {error}")


async def _measure_memory(database_url: str, url: str | None, chats: int) -> MemoryReport:
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        await session.exec(select(func.count()).select_from(ChatRecord))  # connect, warm up
    startup, startup_peak = current_rss_mib(), peak_rss_mib()
    tracemalloc.start()
    created, seconds = await expand(engine)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    expanded = peak_rss_mib()
    send_rss = send_rate = sent = None
    close_error = ""
    if url is not None:
        pacer = Pacer(Limits(per_second=UNLIMITED))
        sending_bot = make_bot(url, PacingRateLimiter(pacer))
        await sending_bot.initialize()
        sender = Sender(
            bot=sending_bot,
            request=AiohttpRequest(pool_size=SenderSettings().concurrency),
            engine=engine,
            pacer=pacer,
            settings=SenderSettings(paid_broadcast=True),
            owner_ids=frozenset(),
        )
        started = time.perf_counter()
        await sender.start()
        parent = multiprocessing.parent_process()
        while parent is None or parent.is_alive():
            states = await delivery_states(engine)
            if states.get("pending", 0) == 0 or time.perf_counter() - started > 60 + chats / 50:
                break
            await asyncio.sleep(0.5)
        try:
            await sender.close()
        except Exception as error:  # reported in the results, not hidden
            close_error = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        await sending_bot.shutdown()
        sent = (await delivery_states(engine)).get("sent", 0)
        send_rate = sent / (time.perf_counter() - started)
        send_rss = peak_rss_mib()
    await engine.dispose()
    assert created == chats, f"expanded {created} deliveries for {chats} subscribers"
    return MemoryReport(
        subscribers=chats,
        startup_rss_mib=startup,
        startup_peak_mib=startup_peak,
        expand_rss_mib=expanded,
        expand_traced_mib=traced,
        expand_seconds=seconds,
        send_rss_mib=send_rss,
        final_rss_mib=current_rss_mib(),
        send_rate=send_rate,
        sent=sent,
        close_error=close_error,
    )


def measure_memory(database_url: str, url: str | None, chats: int) -> MemoryReport:
    """Run `_measure_memory` in a fresh process and return its report."""
    conn, child = SPAWN.Pipe()
    process = SPAWN.Process(
        target=_memory_process, args=(child, database_url, url, chats), daemon=True
    )
    process.start()
    try:
        if not conn.poll(600 + chats / 50):
            raise RuntimeError("the memory measurement did not finish")
        report: MemoryReport | str = conn.recv()
        if isinstance(report, str):
            raise RuntimeError(f"the memory measurement failed: {report}")
        return report
    finally:
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join(5)


async def memory_scenario(folder: Path, *, sizes: list[int], send: bool) -> None:
    """Peak RSS of a fresh process that expands one event (and sends it) per size."""
    print("\n== 3. memory: a fresh process expands one event" + (" and sends it" if send else ""))
    for chats in sizes:
        database_url = sqlite_url(folder, f"memory-{chats}")
        await asyncio.to_thread(build_database, database_url, chats)
        if send:
            with Emulator(EmulatorConfig(chats=chats, latency=0.0, per_second=None)) as emulator:
                report = await asyncio.to_thread(measure_memory, database_url, emulator.url, chats)
        else:
            report = await asyncio.to_thread(measure_memory, database_url, None, chats)
        line = (
            f"  {chats:>7,} subscribers: start-up RSS {report.startup_rss_mib:.1f} MiB (peak "
            f"{report.startup_peak_mib:.1f}); expand {report.expand_seconds:.2f} s, peak "
            f"{report.expand_rss_mib:.1f} MiB, Python allocations "
            f"{report.expand_traced_mib:.2f} MiB"
        )
        if report.send_rss_mib is not None:
            line += (
                f"; send {report.sent:,} at {report.send_rate:,.0f} msg/s, "
                f"peak {report.send_rss_mib:.1f} MiB"
            )
        line += f"; RSS at the end {report.final_rss_mib:.1f} MiB"
        if report.close_error:
            line += f"\n    !! Sender.close() raised {report.close_error}"
        print(line)
        await asyncio.to_thread(Path(database_url.removeprefix("sqlite:///")).unlink)


# --------------------------------------------------------------------------------------------
# Command line


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scenarios", default="pacing,throughput,memory,replies")
    parser.add_argument("--chats", type=int, default=10_000, help="pacing: chats per side")
    parser.add_argument("--latency", type=float, default=0.05, help="pacing: seconds per call")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=32,
        help="pacing: sends in flight; throughput: workers of the references",
    )
    parser.add_argument(
        "--pacer-slots", type=int, default=1_500, help="pacing: slots for the Pacer-alone test"
    )
    parser.add_argument("--fast-chats", type=int, default=10_000, help="throughput: chats")
    parser.add_argument("--fast-latency", type=float, default=0.0, help="throughput: seconds")
    parser.add_argument("--concurrencies", type=_sizes, default=[4, 16, 32, 64, 256])
    parser.add_argument(
        "--profile-at", type=int, default=32, help="concurrency to profile (0: no profile)"
    )
    parser.add_argument("--memory-sizes", type=_sizes, default=[10_000, 50_000, 100_000])
    parser.add_argument("--no-memory-send", action="store_true", help="memory: expand only")
    parser.add_argument("--questions", type=int, default=40, help="replies: /find commands")
    parser.add_argument("--askers", type=int, default=8, help="replies: users asking in turn")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl+C: emulators stop, temporary files go.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    scenarios = set(args.scenarios.split(","))
    print(
        f"machine: nproc {os.cpu_count()}, {platform.platform()}, Python {sys.version.split()[0]}"
    )
    print(f"load average at the start: {_load()}")
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp:
        folder = Path(tmp)
        if "pacing" in scenarios:
            await pacing_scenario(
                folder,
                chats=args.chats,
                latency=args.latency,
                concurrency=args.concurrency,
                pacer_slots=args.pacer_slots,
            )
        if "throughput" in scenarios:
            await throughput_scenario(
                folder,
                chats=args.fast_chats,
                latency=args.fast_latency,
                concurrencies=args.concurrencies,
                profile_at=args.profile_at,
                reference_concurrency=args.concurrency,
            )
        if "memory" in scenarios:
            await memory_scenario(folder, sizes=args.memory_sizes, send=not args.no_memory_send)
        if "replies" in scenarios:
            await replies_scenario(
                folder,
                chats=args.chats,
                latency=args.latency,
                questions=args.questions,
                askers=args.askers,
            )
    print(f"\nload average at the end (other work on the machine skews the numbers): {_load()}")


def _load() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The AIORateLimiter logs every give-up with a traceback; the report counts them instead.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    try:
        asyncio.run(main(parse_args()))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("interrupted")
