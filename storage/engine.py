"""The async engine and the session scope. Nothing here runs at import time."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


def async_database_url(url: str) -> str:
    """Pick the async driver for a plain database URL (`postgresql://`, `sqlite:///`)."""
    parsed = make_url(url)
    driver = {
        "postgresql": "postgresql+asyncpg",
        "postgres": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
    }.get(parsed.drivername)
    if driver is None:
        if parsed.drivername in {"postgresql+asyncpg", "sqlite+aiosqlite"}:
            return url
        raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


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
