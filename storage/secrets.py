"""Random keys made once and kept in the database, the same for every process and restart."""

import secrets

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Secret
from storage.timeline import insert_ignoring_conflicts

# Signs button data (handlers/buttons.py).
BUTTONS = "buttons"
# Derives the UIDs of hearings in calendar files (handlers/ical.py).
CALENDAR = "calendar"


async def shared_secret(*, session: AsyncSession, name: str) -> bytes:
    """The key called `name`, made on first use; two processes starting at once agree on it."""
    made = {"name": name, "value": secrets.token_urlsafe(32)}
    await insert_ignoring_conflicts(session, Secret, [made])
    stored = await session.get(Secret, name, populate_existing=True)
    assert stored is not None
    return stored.value.encode()
