"""Fresh state per test: a migrated database (SQLite by default, PostgreSQL if asked)."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine
from storage.migrate import upgrade_database

# Set to a PostgreSQL server URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres) to run
# the database tests against a fresh PostgreSQL database each instead of SQLite.
POSTGRES = os.environ.get("TEST_POSTGRES_URL")


async def _admin(statement: str) -> None:
    assert POSTGRES is not None
    engine = create_engine(POSTGRES)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(statement))
    await engine.dispose()


@contextmanager
def _fresh_database(tmp_path: object, file_name: str, *, migrated: bool = True) -> Iterator[str]:
    """An empty database (a file in `tmp_path`, or a database of its own on the PostgreSQL
    server), migrated unless asked not to be, dropped afterwards."""
    if POSTGRES is None:
        url = f"sqlite:///{tmp_path}/{file_name}"
        if migrated:
            upgrade_database(url)
        yield url
        return
    name = f"casewatch_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    if migrated:
        upgrade_database(url)
    yield url
    asyncio.run(_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(tmp_path: object) -> Iterator[str]:
    """A migrated, empty database for this test alone."""
    with _fresh_database(tmp_path, "casewatch.db") as url:
        yield url


@pytest.fixture
def other_database_url(tmp_path: object) -> Iterator[str]:
    """A second migrated, empty database (where an export is imported again, say)."""
    with _fresh_database(tmp_path, "other.db") as url:
        yield url


@pytest.fixture
def empty_database_url(tmp_path: object) -> Iterator[str]:
    """An empty database with no tables at all, for migrations to build."""
    with _fresh_database(tmp_path, "empty.db", migrated=False) as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()
