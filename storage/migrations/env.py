"""Alembic environment: targets SQLModel.metadata, runs on the async engine."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.engine import create_engine

target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # A table SQLite alters by copying it is dropped and made again; with foreign keys
            # enforced, dropping one that other rows refer to fails. Checked after, instead.
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
        await connection.run_sync(_run)
        if connection.dialect.name == "sqlite":
            broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; use `casewatch db upgrade`")
asyncio.run(_run_async())
