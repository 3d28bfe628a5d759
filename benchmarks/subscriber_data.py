"""A database the size the subscriber benchmarks ask for, filled through the real tables.

50,000 people (bench_find's synthetic names), each with a case at one of a few dozen courts,
1,000,000 timeline events spread over them (a few people with thousands), 10,000 chats each
following a handful of people, some courts and cities, and one court followed by every chat.
Bulk inserts (executemany in batches): the setup, not what is measured.
"""

import json
import random
from datetime import UTC, datetime, timedelta

from bench_find import make_person
from bench_find_command import store
from sqlalchemy import insert, text

from storage.engine import create_engine, session_scope
from storage.models import (
    Case,
    Chat,
    Event,
    EventKind,
    Subscription,
    SubscriptionScope,
)

BATCH = 10_000
CITIES = [f"City {number}" for number in range(1, 21)]
COURTS = [f"{city} district court" for city in CITIES] + [
    f"{city} regional court" for city in CITIES
]
# The court every chat follows: the fan-out benchmark tells all of them at once.
BUSY_COURT = COURTS[0]
START = datetime(2020, 1, 1, tzinfo=UTC)


def _event(person_id: int, number: int, rng: random.Random) -> dict[str, object]:
    when = START + timedelta(minutes=number * 3)
    kind = rng.choice(
        (EventKind.HEARING_MOVED, EventKind.ASYLUM_CHANGED, EventKind.DETENTION_CHANGED)
    )
    if kind == EventKind.HEARING_MOVED:
        moment = (when + timedelta(days=30)).isoformat()
        old = {"hearing_id": 1, "starts_at": when.isoformat(), "tz": "Asia/Almaty"}
        new = {"hearing_id": 1, "starts_at": moment, "tz": "Asia/Almaty", "place": BUSY_COURT}
    else:
        old, new = {"status": "applied"}, {"status": "asylum_seeker"}
        if kind == EventKind.DETENTION_CHANGED:
            old, new = {"status": "free"}, {"status": "pretrial_detention"}
    return {
        "person_id": person_id,
        "kind": kind.value,
        "old_value": json.dumps(old),
        "new_value": json.dumps(new),
        "source": f"https://example.org/news/{number}",
        "effective_at": when,
        "created_at": when,
        "not_before": when,
        "expanded_at": when,
        "cancelled": False,
        "dedup_key": f"bench:{number}",
    }


async def populate(
    database_url: str,
    *,
    people: int,
    chats: int,
    events: int,
    first_chat: int,
    seed: int = 20241202,
) -> None:
    """Fill an empty, migrated database (see the module docstring)."""
    rng = random.Random(seed)
    await store(database_url, [make_person(number, rng, []) for number in range(1, people + 1)])
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        cases = []
        for person_id in range(1, people + 1):
            court = rng.choice(COURTS)
            cases.append({"person_id": person_id, "court": court, "city": court.split(" d")[0]})
        for start in range(0, len(cases), BATCH):
            await session.execute(insert(Case), cases[start : start + BATCH])
    # A few people with thousands of events (a long trial), the rest spread evenly.
    for start in range(0, events, BATCH):
        rows = []
        for number in range(start, min(start + BATCH, events)):
            person_id = rng.randint(1, 20) if rng.random() < 0.05 else rng.randint(1, people)
            rows.append(_event(person_id, number, rng))
        async with session_scope(engine) as session:
            await session.execute(insert(Event), rows)
    async with session_scope(engine) as session:
        await session.execute(
            insert(Chat),
            [{"id": first_chat + number, "language": "en"} for number in range(chats)],
        )
    for start in range(0, chats, 1_000):
        rows = []
        for chat_id in range(first_chat + start, first_chat + min(start + 1_000, chats)):
            followed = rng.sample(range(1, people + 1), 8)
            rows += [
                {"chat_id": chat_id, "scope": SubscriptionScope.PERSON.value, "person_id": p}
                for p in followed
            ]
            rows.append(
                {"chat_id": chat_id, "scope": SubscriptionScope.COURT.value, "place": BUSY_COURT}
            )
            rows.append(
                {
                    "chat_id": chat_id,
                    "scope": SubscriptionScope.CITY.value,
                    "place": rng.choice(CITIES),
                }
            )
        async with session_scope(engine) as session:
            await session.execute(insert(Subscription), rows)
    # Statistics for the planner, as a database in service would have them.
    async with engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    await engine.dispose()
