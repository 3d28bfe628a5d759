"""The whole /find command in-process, on a database of 50,000 people.

`python benchmarks/bench_find_command.py [--database-url URL]`

Where `bench_find.py` times the name index alone, this times what the /find handler does
for each query, short of sending the reply: open a session, catch the name index up with
the database, search, load the people found, render the answer. The people are the same
synthetic ones (bench_find.make_person), stored through the real tables (a fresh SQLite
file by default, migrated with Alembic).
"""

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from bench_find import SyntheticPerson, make_person, make_queries, percentile
from sqlalchemy import insert, text

from handlers.render import render_matches
from handlers.who import MAX_CANDIDATES, KnownNames
from storage.engine import create_engine, session_scope
from storage.migrate import upgrade_database
from storage.models import Person, PersonName
from storage.names import name_key
from storage.people import people_by_ids

BATCH = 5_000


async def store(database_url: str, people: list[SyntheticPerson]) -> None:
    """Bulk-insert the people and their spellings (the benchmark's setup, not timed)."""
    engine = create_engine(database_url)
    for start in range(0, len(people), BATCH):
        chunk = people[start : start + BATCH]
        async with session_scope(engine) as session:
            # executemany: the driver batches the rows within its parameter limits.
            await session.execute(
                insert(Person), [{"id": p.person_id, "name": p.spellings[0]} for p in chunk]
            )
            await session.execute(
                insert(PersonName),
                [
                    {"person_id": p.person_id, "spelling": s, "key": name_key(s)}
                    for p in chunk
                    for s in dict.fromkeys(p.spellings)
                ],
            )
    if engine.dialect.name == "postgresql":
        # Fresh tables have no statistics until autovacuum runs: give the planner them now,
        # as a database in service would have them (without, it scans person_name).
        async with engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
    await engine.dispose()


async def time_find(database_url: str, queries: list[str]) -> tuple[float, list[float]]:
    """Start-up load of the name index, then the latency of each /find, in milliseconds."""
    engine = create_engine(database_url)
    names = KnownNames()
    started = time.perf_counter()
    async with session_scope(engine) as session:
        await names.catch_up(session)
    load_seconds = time.perf_counter() - started
    latencies = []
    for query in queries:
        started = time.perf_counter()
        async with session_scope(engine) as session:
            index = await names.catch_up(session)
            matches = index.search(query, limit=MAX_CANDIDATES)
            people = await people_by_ids(
                session=session,
                person_ids=[match.person_id for match in matches],
                include_restricted=False,
            )
        by_id = {person.id: person for person in people}
        render_matches([(m, by_id[m.person_id]) for m in matches if m.person_id in by_id], "en")
        latencies.append((time.perf_counter() - started) * 1000)
    await engine.dispose()
    return load_seconds, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite)")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    people = [make_person(number, rng, []) for number in range(1, args.people + 1)]
    queries = [query.text for query in make_queries(people, args.queries, rng)]
    with tempfile.TemporaryDirectory() as folder:
        database_url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade_database(database_url)
        asyncio.run(store(database_url, people))
        load_seconds, latencies = asyncio.run(time_find(database_url, queries))
    print(f"database: {database_url.split(':')[0]}  people: {len(people):,}")
    print(f"name index loaded at start-up in {load_seconds:.2f} s")
    print(
        f"/find in-process: p50 {percentile(latencies, 0.50):.2f} ms  "
        f"p95 {percentile(latencies, 0.95):.2f} ms  p99 {percentile(latencies, 0.99):.2f} ms"
    )


if __name__ == "__main__":
    main()
