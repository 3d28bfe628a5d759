"""The outbox job: events whose grace window has passed become deliveries for the sender."""

import logging

from handlers.context import CaseContext
from storage.engine import session_scope
from storage.models import utcnow
from storage.outbox import expand_due_events

log = logging.getLogger(__name__)

SENDER = "sender"


async def expand_events(context: CaseContext) -> None:
    """Turn due events into one delivery per following chat, and wake the sender."""
    async with session_scope(context.services.engine) as session:
        created = await expand_due_events(session=session, now=utcnow())
    if created:
        log.info("queued %d deliveries", created)
        context.application.bot_data[SENDER].wake()
