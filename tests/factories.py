"""Small record makers shared by the tests."""

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Event, Hearing, HearingStatus, Person
from storage.people import StatusField, revise_hearing, set_hearing, set_status


async def change_status(
    session: AsyncSession,
    person: Person | None,
    status: str = "refugee",
    *,
    field: StatusField = "asylum",
    grace: timedelta = timedelta(0),
    actor_id: int = 1,
) -> Event | None:
    """An editor's status change, as /setasylum or /setdetention makes it."""
    assert person is not None
    return await set_status(
        session=session,
        person=person,
        field=field,
        status=status,
        since=None,
        source=None,
        actor_id=actor_id,
        grace=grace,
    )


async def change_hearing(
    session: AsyncSession,
    person: Person | None,
    local_start: datetime,
    *,
    grace: timedelta = timedelta(0),
    actor_id: int = 1,
) -> Event | None:
    """An editor's /sethearing, in the default court time zone, with no place."""
    assert person is not None
    return await set_hearing(
        session=session,
        person=person,
        local_start=local_start,
        place=None,
        default_tz="Asia/Almaty",
        actor_id=actor_id,
        grace=grace,
    )


async def call_off_hearing(
    session: AsyncSession, hearing_id: int, status: str = HearingStatus.CANCELLED
) -> Hearing:
    """A hearing cancelled or postponed (as a court announces it)."""
    hearing = await session.get(Hearing, hearing_id)
    assert hearing is not None
    revise_hearing(session=session, hearing=hearing, status=status)
    return hearing


async def until_a_session_waits_for_a_lock(engine: AsyncEngine) -> None:
    """On PostgreSQL, until a transaction waits for another's row; SQLite lets the waiter
    start at least (its wait for the write lock cannot be seen from outside)."""
    await asyncio.sleep(0)
    if engine.dialect.name != "postgresql":
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with asyncio.timeout(30):  # generous: four test processes share the server
        while True:
            # A transaction of its own each time: PostgreSQL keeps one view of its statistics
            # for a whole transaction, so a wait that starts later is never seen in one.
            async with engine.connect() as connection:
                if (await connection.execute(waiting)).scalar_one():
                    return
            await asyncio.sleep(0.01)
