"""Importing 50,000 people with their cases and hearings: time and peak memory.

`python benchmarks/bench_import.py [--people 50000] [--runs 3] [--postgres-url URL]`

Writes a file of synthetic people (bench_find's names) in the shape `casewatch export` writes,
JSON and CSV: each person with two or three spellings, a source, a case (one in five also an
appeal linked to it), two hearings per case (one held, one to come), one in ten a relation to
the person before. Then, for each format and run, a fresh database (an SQLite file, and with
--postgres-url an empty PostgreSQL database made on that server) and a child process that does
exactly what `casewatch import FILE` does: it reads the file as a stream and imports it in one
transaction; then imports it again (nothing changes: the idempotent pass). The child reports
the wall time of each import and its peak resident memory (`ru_maxrss`: the whole process,
Python and every library included). Target: ≤ 60 s and ≤ 300 MiB on SQLite.
"""

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench_find import make_person
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.engine import create_engine, session_scope
from storage.migrate import upgrade_database
from storage.records_io import import_records, read_records, write_csv, write_json

START = datetime(2027, 1, 1, 4, 0, tzinfo=UTC)
ALMATY = ZoneInfo("Asia/Almaty")
CITIES = ["Almaty", "Zharkent", "Taldykorgan", "Astana", "Shymkent"]


def _person(person_id: int, case_id: int, hearing_id: int, rng: random.Random) -> dict:
    synthetic = make_person(person_id, rng, [])
    latin, *others = synthetic.spellings
    cases = []
    for number in range(2 if rng.random() < 0.2 else 1):
        city = rng.choice(CITIES)
        held = START - timedelta(days=rng.randrange(30, 400))
        coming = START + timedelta(days=rng.randrange(1, 300), minutes=30 * rng.randrange(16))
        cases.append(
            {
                "id": case_id + number,
                "court": f"{city} district court",
                "city": city,
                "tz": "Asia/Almaty",
                "charge": "illegal border crossing",
                "case_number": f"{person_id}-{number}",
                "stage": "appeal" if number else "trial",
                "verdict": None,
                "sentence": None,
                "note": None,
                "lawyer": None,
                "appeal_of": case_id if number else None,
                "hearings": [
                    {
                        "id": hearing_id + 2 * number + offset,
                        "starts_at": moment.astimezone(ALMATY).isoformat(),
                        "date_note": None,
                        "place": f"room {rng.randrange(1, 9)}",
                        "kind": "trial",
                        "status": status,
                        "outcome": outcome,
                    }
                    for offset, (moment, status, outcome) in enumerate(
                        ((held, "held", "adjourned"), (coming, "scheduled", None))
                    )
                ],
            }
        )
    return {
        "id": person_id,
        "name": f"{latin} {person_id}",  # canonical names are unique, as an editor keeps them
        "spellings": others,
        "birth_year": rng.randrange(1950, 2005),
        "age_note": None,
        "gender": rng.choice(("male", "female")),
        "ethnicity": "Kazakh",
        "citizenship": "China",
        "origin": "Xinjiang, China",
        "location": rng.choice(CITIES),
        "detention": rng.choice(("free", "pretrial_detention", "house_arrest")),
        "detention_since": "2026-03",
        "detention_note": None,
        "asylum": rng.choice(("applied", "asylum_seeker", "refugee")),
        "asylum_since": None,
        "asylum_note": None,
        "visibility": "public",
        "verification": "reported",
        "summary": "A synthetic person for the import benchmark.",
        "sources": [f"https://example.org/news/{person_id}"],
        "relations": (
            [{"kind": "co_defendant", "other_id": person_id - 1, "note": None}]
            if person_id > 1 and rng.random() < 0.1
            else []
        ),
        "cases": cases,
    }


async def _people(count: int, seed: int) -> AsyncIterator[dict[str, Any]]:
    rng = random.Random(seed)
    case_id = hearing_id = 1
    for person_id in range(1, count + 1):
        person = _person(person_id, case_id, hearing_id, rng)
        case_id += len(person["cases"])
        hearing_id += 2 * len(person["cases"])
        yield person


async def write_files(folder: Path, count: int, seed: int) -> dict[str, Path]:
    files = {}
    for file_format, writer in (("json", write_json), ("csv", write_csv)):
        path = folder / f"people.{file_format}"
        with path.open("w", encoding="utf-8", newline="") as out:
            await writer(_people(count, seed), out)
        files[file_format] = path
    return files


async def _import_once(database_url: str, path: Path, file_format: str) -> dict[str, Any]:
    engine = create_engine(database_url)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    with path.open(encoding="utf-8-sig", newline="") as stream:
        async with session_scope(engine) as session:
            report = await import_records(
                session=session,
                rows=read_records(stream, file_format),
                actor_id=None,
                default_tz="Asia/Almaty",
                now=datetime.now(UTC),
            )
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    await engine.dispose()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "added": report.added,
        "unchanged": report.unchanged,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(database_url: str, path: Path, file_format: str) -> None:
    """The measured process: import the file, then import it again."""
    first = asyncio.run(_import_once(database_url, path, file_format))
    again = asyncio.run(_import_once(database_url, path, file_format))
    print(json.dumps({"first": first, "again": again}))


async def _admin(server_url: str, statement: str) -> None:
    engine = create_engine(server_url)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(statement))
    await engine.dispose()


def fresh_database(folder: Path, postgres_url: str | None) -> tuple[str, str | None]:
    """A migrated empty database: its URL, and the PostgreSQL database name to drop after."""
    if postgres_url is None:
        path = folder / f"bench-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"
        upgrade_database(url)
        return url, None
    name = f"casewatch_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(postgres_url, f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    upgrade_database(url)
    return url, name


def measure(path: Path, file_format: str, database_url: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", str(path), file_format, database_url],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--postgres-url", help="a server to make empty databases on")
    parser.add_argument(
        "--child", nargs=3, metavar=("FILE", "FORMAT", "URL"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        path, file_format, url = args.child
        child(url, Path(path), file_format)
        return
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        files = asyncio.run(write_files(folder, args.people, args.seed))
        for file_format, path in files.items():
            size = path.stat().st_size / 2**20
            print(f"{file_format}: {args.people:,} people, {size:.1f} MiB")
            databases = [("SQLite", None)]
            if args.postgres_url:
                databases.append(("PostgreSQL", args.postgres_url))
            for label, server in databases:
                runs = []
                for _ in range(args.runs):
                    url, name = fresh_database(folder, server)
                    try:
                        runs.append(measure(path, file_format, url))
                    finally:
                        if name is not None and server is not None:
                            asyncio.run(_admin(server, f'DROP DATABASE "{name}" WITH (FORCE)'))
                assert all(run["first"]["added"] == args.people for run in runs)
                assert all(run["again"]["unchanged"] == args.people for run in runs)
                first = statistics.median(run["first"]["seconds"] for run in runs)
                cpu = statistics.median(run["first"]["cpu_seconds"] for run in runs)
                again = statistics.median(run["again"]["seconds"] for run in runs)
                rss = statistics.median(run["again"]["rss_mib"] for run in runs)
                worst = max(run["again"]["rss_mib"] for run in runs)
                print(
                    f"  {label}: into an empty database {first:.1f} s ({cpu:.1f} s CPU), "
                    f"again (unchanged) "
                    f"{again:.1f} s, peak RSS {rss:.0f} MiB (worst {worst:.0f} MiB), "
                    f"{len(runs)} runs: " + ", ".join(f"{r['first']['seconds']:.1f}" for r in runs)
                )


if __name__ == "__main__":
    main()
