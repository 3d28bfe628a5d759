"""The `end_name_watches` job: a name watch whose 90 days are up ends, with a short note.

The note goes through the sender's pacing and the failure policy (`Sender.send_note`, the
rules of every push): a blocked chat is deactivated and its watch ended without a note, a
429 waits and sends again, a network failure leaves the watch on, to be tried at the next
run, until a day after it was due (then it ends silently, like a dead delivery). A watch is
marked ended right after its note is sent, so a crash can repeat one note at most.
"""

import logging
from datetime import datetime, timedelta

from bot.failures import Action
from bot.outbox import SENDER
from bot.sender import Sender
from handlers.context import CaseContext
from handlers.render import render_watch_ended
from storage.engine import session_scope
from storage.models import utcnow
from storage.name_watches import due_watches, forget_ended_watches, mark_ended

log = logging.getLogger(__name__)

NAME_WATCHES_JOB = "end_name_watches"
NAME_WATCHES_INTERVAL = timedelta(minutes=15)
FIRST_RUN = timedelta(minutes=2)
# Watches ended in one run at most; the rest wait for the next run.
BATCH = 200


async def end_expired_watches(context: CaseContext) -> None:
    """End the name watches whose time is up, each with its note."""
    sender: Sender = context.application.bot_data[SENDER]
    ended = await end_name_watches(sender=sender, now=utcnow())
    if ended:
        log.info("ended %d name watches", ended)


async def end_name_watches(*, sender: Sender, now: datetime, limit: int = BATCH) -> int:
    """End the watches due at `now` (the note first); returns how many ended."""
    async with session_scope(sender.engine) as session:
        due = await due_watches(session=session, now=now, limit=limit)
        await forget_ended_watches(session=session, now=now)
    ended = 0
    for found in due:
        watch, chat = found.watch, found.chat
        if chat.active:
            text = render_watch_ended(watch, chat.language)
            failure = await sender.send_note(chat, text, queued_at=watch.expires_at)
            if failure is not None and failure.action is Action.RETRY:
                continue
        assert watch.id is not None
        async with session_scope(sender.engine) as session:
            await mark_ended(session=session, watch_id=watch.id, now=now)
        ended += 1
    return ended
