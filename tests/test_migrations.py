"""The migrations, on SQLite and PostgreSQL alike: up from empty to exactly the models, and
from the previous release's schema (0006) with records in it, which come through whole."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, delete, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from storage.engine import create_engine, session_scope
from storage.migrate import alembic_config
from storage.models import AuditEntry, Case, Event, Person
from storage.people import undo_last_change

PREVIOUS_RELEASE = "0006"
AT = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


async def _migrate(step: Callable[[Config, str], None], config: Config, revision: str) -> None:
    """An Alembic command, in a thread: the migrations run their own event loop."""
    await asyncio.to_thread(step, config, revision)


async def _differences(engine: AsyncEngine) -> list[object]:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), SQLModel.metadata)
        )


async def test_the_migrations_build_exactly_the_models(engine: AsyncEngine) -> None:
    assert await _differences(engine) == []


async def _records_of_the_previous_release(engine: AsyncEngine) -> None:
    """A person with a case, a hearing, a change waiting in its grace window and its audit
    entry, written with the columns the previous release had."""
    async with engine.begin() as connection:
        tables = MetaData()  # as the previous release made them
        await connection.run_sync(tables.reflect)
        person, case, hearing, event, audit = (
            tables.tables[name] for name in ("person", "case", "hearing", "event", "audit_entry")
        )
        await connection.execute(
            insert(person).values(
                id=1,
                name="Qaisha Aqan",
                visibility="public",
                verification="reported",
                asylum="asylum_seeker",
                created_at=AT,
                updated_at=AT,
            )
        )
        await connection.execute(
            insert(case).values(
                id=1, person_id=1, tz="Asia/Almaty", court="Zharkent", created_at=AT
            )
        )
        await connection.execute(
            insert(hearing).values(id=1, case_id=1, starts_at=AT, status="scheduled", sequence=0)
        )
        await connection.execute(
            insert(event).values(
                id=1,
                person_id=1,
                kind="asylum_changed",
                old_value='{"status": "applied"}',
                new_value='{"status": "asylum_seeker"}',
                effective_at=AT,
                actor_id=7,
                dedup_key="asylum_changed:1",
                created_at=AT,
                not_before=datetime(2100, 1, 1, tzinfo=UTC),
                cancelled=False,
            )
        )
        await connection.execute(
            insert(audit).values(actor_id=7, action="asylum_changed", person_id=1, at=AT)
        )


async def test_a_database_of_the_previous_release_comes_through_the_upgrade_whole(
    empty_database_url: str,
) -> None:
    config = alembic_config(empty_database_url)
    await _migrate(command.upgrade, config, PREVIOUS_RELEASE)
    engine = create_engine(empty_database_url)
    try:
        await _records_of_the_previous_release(engine)
        await _migrate(command.upgrade, config, "head")
        assert await _differences(engine) == []
        async with session_scope(engine) as session:
            person = await session.get(Person, 1)
            change = await session.get(Event, 1)
            assert person is not None and person.asylum == "asylum_seeker"
            assert change is not None and (change.verification, change.correction) == (None, False)
            case = await session.get(Case, 1)
            assert case is not None and (case.lawyer, case.appeal_of) == (None, None)
            # A change made before the upgrade is still taken back by /undo, and audited.
            undone = await undo_last_change(session=session, actor_id=7)
            assert undone.event is not None and undone.event.id == 1
        # The audit entries written before the upgrade are append-only now too.
        for statement in (
            update(AuditEntry.__table__).values(action="changed"),  # type: ignore[attr-defined]
            delete(AuditEntry.__table__),  # type: ignore[attr-defined]
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as connection:
                    await connection.execute(statement)
        async with engine.connect() as connection:
            actions = (await connection.execute(select(AuditEntry.action))).scalars().all()
        assert list(actions) == ["asylum_changed", "undo"]
        # And back: the previous release's schema, its records still there.
        await _migrate(command.downgrade, config, PREVIOUS_RELEASE)
        async with engine.connect() as connection:
            names = (await connection.execute(select(Person.__table__.c.name))).scalars().all()  # type: ignore[attr-defined]
        assert list(names) == ["Qaisha Aqan"]
    finally:
        await engine.dispose()
