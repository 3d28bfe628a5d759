"""Small record makers shared by the tests."""

from datetime import datetime, timedelta

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
