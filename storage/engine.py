"""The async engine and the session scope. Nothing here runs at import time."""

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}
SUPPORTED_URLS = "sqlite:///path/to/file.db or postgresql://user:password@host:port/database"
# How long reaching a database server may take before it counts as unreachable.
CONNECT_SECONDS = 10.0


class DatabaseUnavailable(Exception):
    """The database cannot be opened or reached; the message names it (never a password)
    and says why."""


def async_database_url(url: str) -> str:
    """Pick the async driver for a plain database URL (`postgresql://`, `sqlite:///`).

    Raises ValueError, saying what is wrong and what is supported, for anything else.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ValueError(f"not a database URL; use {SUPPORTED_URLS}") from error
    if parsed.drivername in ASYNC_DRIVERS.values():
        return url
    driver = ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(
            f"the scheme {parsed.drivername!r} is not supported; use {SUPPORTED_URLS}"
        )
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def describe_database(url: str) -> str:
    """`the database file data/casewatch.db` or `the database "x" on db.example:5432`:
    what an operator recognises, without the password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"the database file {parsed.database or ':memory:'}"
    server = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    return f'the database "{parsed.database}" on {server}'


async def check_database(url: str) -> None:
    """Open the database once (an SQLite file's folder is made if needed), so that one that
    cannot be opened or reached is reported as `DatabaseUnavailable`, in one sentence."""
    parsed = make_url(async_database_url(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        _prepare_sqlite_file(Path(parsed.database))
    engine = create_engine(url)
    try:
        async with asyncio.timeout(CONNECT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except TimeoutError as error:
        raise DatabaseUnavailable(
            f"{describe_database(url)} did not answer within {CONNECT_SECONDS:.0f} s; "
            "check DATABASE_URL and that the server is reachable from here"
        ) from error
    except OSError as error:  # refused, unknown host, no route
        raise DatabaseUnavailable(
            f"cannot reach {describe_database(url)} ({_reason(error)}); "
            "check DATABASE_URL and that the server is running"
        ) from error
    except DBAPIError as error:  # refused the login, no such database, not a database file
        raise DatabaseUnavailable(
            f"cannot open {describe_database(url)} ({error.orig}); check DATABASE_URL"
        ) from error
    finally:
        await engine.dispose()


def _reason(error: OSError) -> str:
    """`Connection refused`, `Name or service not known`: the system's words for it."""
    if isinstance(error, socket.gaierror) or not error.errno:
        return str(error.strerror or error)
    return os.strerror(error.errno)


def _prepare_sqlite_file(path: Path) -> None:
    """The folder made, and the file (if it exists) a file this process may read and write."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseUnavailable(
            f"cannot create the folder {path.parent} for the database ({error.strerror}); "
            "check DATABASE_URL"
        ) from error
    if path.is_dir():
        raise DatabaseUnavailable(f"{path} is a folder, not a database file; check DATABASE_URL")
    target, needs = (path, "read and write") if path.exists() else (path.parent, "write in")
    if not os.access(target, os.R_OK | os.W_OK):
        raise DatabaseUnavailable(
            f"this process may not {needs} {target}; "
            "give it the permission or choose another DATABASE_URL"
        )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    async_url = async_database_url(url)
    if make_url(async_url).get_backend_name() == "sqlite":
        # A file on this machine: no connection to go stale, so no ping before each use.
        engine = create_async_engine(async_url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(async_url, pool_pre_ping=True)


def dialect_name(session: AsyncSession) -> str:
    """`sqlite` or `postgresql`: the few statements that differ ask this."""
    return session.get_bind().dialect.name


def insert_or_ignore(session: AsyncSession, model: type[SQLModel]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for `model`'s table, in this session's dialect."""
    table = model.__table__  # type: ignore[attr-defined]
    dialect = postgresql if dialect_name(session) == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


@asynccontextmanager
async def session_scope(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits once at the end, rolls back on any error."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
