"""/history and /subscriptions answered in-process, and a court's fan-out, at full size.

`python benchmarks/bench_subscriber.py [--database-url URL]`

50,000 people, 10,000 chats and 1,000,000 timeline events (benchmarks/subscriber_data.py)
in a fresh SQLite file by default, or in the empty PostgreSQL database given. The real
application (`build_application`) handles each command as Telegram would deliver it:
`process_update` from the update to the reply accepted by the local Bot API (one HTTP round
trip included; the emulator runs in a process of its own, as in bench_delivery.py, so its
CPU is not charged to the bot), commands spaced so Telegram's pacing never holds a reply.
Each command is reported twice: in-process (the application's own work: guards, database,
rendering — the time in the Bot API call taken out) and with the Bot API call.
Then one change to a person at the court every chat follows is expanded into its
deliveries: the statements it takes, and Python's peak memory beside a city's smaller
fan-out (flat: the rows are made by the database, not in Python).
"""

import argparse
import asyncio
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_delivery import FIRST_CHAT_ID, TOKEN, Emulator, EmulatorConfig
from bench_find import percentile
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from subscriber_data import BUSY_COURT, CITIES, populate
from telegram import Update

from bot.app import build_application, start_services
from bot.settings import Settings
from handlers.context import SERVICES
from storage.engine import create_engine, session_scope
from storage.migrate import upgrade_database
from storage.models import Case, Delivery, Event, EventKind, utcnow
from storage.outbox import expand_due_events

# Telegram's overall pace is 30 messages a second: commands this far apart never wait for it.
SPACING_SECONDS = 1 / 25


def _command(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    """The update Telegram would deliver for `text` sent in the user's private chat."""
    command = text.split()[0]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": {
                "id": user_id,
                "is_bot": False,
                "first_name": "Reader",
                "language_code": "en",
            },
            "chat": {"id": user_id, "type": "private", "first_name": "Reader"},
            "date": int(time.time()),
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }


class TimedRequest:
    """Counts the time the bot spends in Bot API calls (the HTTP round trip to the emulator)."""

    def __init__(self, request: Any) -> None:
        self.seconds = 0.0
        self._do_request = request.do_request
        request.do_request = self.do_request

    async def do_request(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await self._do_request(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


async def time_commands(
    database_url: str, *, people: int, chats: int, samples: int, rng: random.Random
) -> dict[str, tuple[list[float], list[float]]]:
    """Per command, milliseconds from the update to the reply accepted, and the same without
    the Bot API call (the application's own work)."""
    config = EmulatorConfig(chats=chats, latency=0.0, per_second=None)
    with Emulator(config) as emulator:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            telegram_bot_token=TOKEN,
            telegram_api_url=emulator.url,
            database_url=database_url,
            lookups_per_minute=10_000,
            lookups_per_hour=100_000,
        )
        application = build_application(settings)
        await application.initialize()
        application.bot_data[SERVICES] = await start_services(settings)
        bot_api = TimedRequest(application.bot.request)
        commands: dict[str, Callable[[], str]] = {
            "/history": lambda: f"/history #{rng.randint(1, people)}",
            "/history (one of the 20 people with ~2,500 events)": lambda: (
                f"/history #{rng.randint(1, 20)}"
            ),
            "/subscriptions": lambda: "/subscriptions",
        }
        timings: dict[str, tuple[list[float], list[float]]] = {}
        update_id = 0
        for name, text in commands.items():
            timings[name] = ([], [])
            for _ in range(samples):
                update_id += 1
                user_id = FIRST_CHAT_ID + rng.randrange(chats)
                update = Update.de_json(_command(update_id, user_id, text()), application.bot)
                bot_api.seconds = 0.0
                started = time.perf_counter()
                await application.process_update(update)
                total = time.perf_counter() - started
                timings[name][0].append(total * 1000)
                timings[name][1].append((total - bot_api.seconds) * 1000)
                await asyncio.sleep(SPACING_SECONDS)
        answered = await emulator.count()
        assert answered == samples * len(commands), f"{answered} replies"
        await application.bot_data[SERVICES].engine.dispose()
        await application.shutdown()
    return timings


async def time_fan_out(database_url: str) -> list[tuple[str, int, int, int]]:
    """(where, deliveries made, statements, peak Python memory in bytes) for one change to a
    person at the court every chat follows, and for one in a city a few chats follow."""
    engine = create_engine(database_url)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    results = []
    for where, column, value in (
        ("city", Case.city, CITIES[-1]),
        ("court followed by every chat", Case.court, BUSY_COURT),
    ):
        async with session_scope(engine) as session:
            person_id = await session.scalar(
                select(func.min(Case.person_id)).where(column == value)
            )
            now = utcnow()
            session.add(
                Event(
                    person_id=person_id,
                    kind=EventKind.NOTE,
                    new_value='{"text": "benchmark"}',
                    dedup_key=f"fan-out:{where}",
                    not_before=now,
                )
            )
        sa_event.listen(engine.sync_engine, "before_cursor_execute", count)
        statements.clear()
        tracemalloc.start()
        async with session_scope(engine) as session:
            made = await expand_due_events(session=session, now=utcnow())
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        sa_event.remove(engine.sync_engine, "before_cursor_execute", count)
        inserts = sum(1 for sql in statements if sql.lstrip().upper().startswith("INSERT"))
        results.append((where, made, inserts, peak))
    async with session_scope(engine) as session:
        total = await session.scalar(select(func.count()).select_from(Delivery))
    assert total == sum(made for _, made, _, _ in results), (total, results)
    await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--seed", type=int, default=20241202)
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        database_url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade_database(database_url)
        started = time.perf_counter()
        asyncio.run(
            populate(
                database_url,
                people=args.people,
                chats=args.chats,
                events=args.events,
                first_chat=FIRST_CHAT_ID,
            )
        )
        print(f"database: {database_url.split(':')[0]}  people: {args.people:,}  ", end="")
        print(f"chats: {args.chats:,}  events: {args.events:,}  ", end="")
        print(f"(filled in {time.perf_counter() - started:.0f} s)")
        timings = asyncio.run(
            time_commands(
                database_url,
                people=args.people,
                chats=args.chats,
                samples=args.samples,
                rng=rng,
            )
        )
        for name, (with_api, own) in timings.items():
            print(f"{name} ({len(own)} commands):")
            for label, samples in (("in-process", own), ("with the Bot API call", with_api)):
                print(
                    f"    {label}: p50 {percentile(samples, 0.50):.1f} ms  "
                    f"p95 {percentile(samples, 0.95):.1f} ms  "
                    f"p99 {percentile(samples, 0.99):.1f} ms"
                )
        for where, made, inserts, peak in asyncio.run(time_fan_out(database_url)):
            print(
                f"fan-out to a {where}: {made:,} deliveries, {inserts} INSERT statement(s), "
                f"peak Python memory {peak / 1024:.0f} KiB"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
