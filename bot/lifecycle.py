"""The daily purge: chats away for longer than the follows of departed chats are kept
(`storage.chats.KEEP_DEPARTED`) are forgotten, and so are old applied update ids
(`storage.timeline.KEEP_PROCESSED_UPDATES`)."""

import logging
from datetime import timedelta

from handlers.context import CaseContext
from storage.chats import purge_departed_chats
from storage.engine import session_scope
from storage.models import utcnow
from storage.timeline import forget_processed_updates

log = logging.getLogger(__name__)

PURGE_JOB = "purge_departed_chats"
PURGE_INTERVAL = timedelta(days=1)
# The first purge waits a while after start, out of the way of the start-up work.
FIRST_PURGE = timedelta(minutes=10)


async def purge_departed(context: CaseContext) -> None:
    """Forget chats that blocked or removed the bot long ago, and old applied update ids."""
    now = utcnow()
    async with session_scope(context.services.engine) as session:
        purged = await purge_departed_chats(session=session, now=now)
        await forget_processed_updates(session=session, now=now)
    if purged:
        log.info("forgot %d chats that left the bot long ago", purged)
