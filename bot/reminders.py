"""The reminder job: a periodic scan queues the hearing reminders that are due for the sender.

One job for all reminders (not one scheduled job per reminder): what is due is worked out
from the database each time, so reminders survive restarts and each goes once.
"""

import logging

from bot.outbox import SENDER
from handlers.context import CaseContext
from storage.engine import session_scope
from storage.models import utcnow
from storage.reminders import queue_due_reminders

log = logging.getLogger(__name__)

REMINDERS_JOB = "reminders"
# The first scan waits this long after start (or one interval, if that is shorter).
FIRST_SCAN_SECONDS = 5.0


async def scan_reminders(context: CaseContext) -> None:
    """Queue the hearing reminders that are due, and wake the sender."""
    async with session_scope(context.services.engine) as session:
        queued = await queue_due_reminders(session=session, now=utcnow())
    if queued:
        log.info("queued %d hearing reminders", queued)
        context.application.bot_data[SENDER].wake()
