"""Apply Alembic migrations (synchronous: call it before the event loop, or in a thread)."""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.exc import DBAPIError

from storage.engine import DatabaseUnavailable, check_database, describe_database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(database_url: str) -> None:
    """Bring the database to the newest revision; creates an SQLite file's folder if needed.

    Raises `DatabaseUnavailable` when the database cannot be opened or reached, or a
    migration fails in the database (full disk, locked, lost connection).
    """
    asyncio.run(check_database(database_url))
    try:
        command.upgrade(alembic_config(database_url), "head")
    except DBAPIError as error:
        raise DatabaseUnavailable(
            f"migrating {describe_database(database_url)} failed ({error.orig}); "
            "fix that and run `casewatch db upgrade` again"
        ) from error
