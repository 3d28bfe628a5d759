"""The `stale_cases` job: once a week, a "needs a check" note to every owner and editor,
listing the open cases with no change for 90 days, so no one's file silently goes out of date.

Viewers are not sent it: they change nothing, and the note asks for a change. The note goes
through the sender's pacing and failure policy (`Sender.send_note`): a blocked chat is marked
gone, a 429 waits and sends again; a note that still could not be sent waits for next week
(the list is worked out afresh each time, so nothing is lost but a week).
"""

import logging
from datetime import datetime, time

from bot.outbox import SENDER
from bot.sender import Sender
from handlers.context import CaseContext
from handlers.i18n import language_of
from handlers.render_audit import render_stale_cases
from handlers.who import read_spellings
from storage.engine import session_scope
from storage.models import Chat, utcnow
from storage.stale_cases import keepers_to_tell, stale_cases

log = logging.getLogger(__name__)

STALE_CASES_JOB = "stale_cases"
# Mondays at 09:00 in CASEWATCH_TZ (python-telegram-bot counts the days from 0 = Sunday).
WEEKLY_AT = time(9, 0)
ON_MONDAYS = (1,)


async def send_stale_cases(context: CaseContext) -> None:
    """Tell the owners and editors which cases have had no change for 90 days."""
    sender: Sender = context.application.bot_data[SENDER]
    told = await tell_stale_cases(sender=sender, now=utcnow())
    if told:
        log.info("told %d editors of stale cases", told)


async def tell_stale_cases(*, sender: Sender, now: datetime) -> int:
    """Send the note to each owner and editor if any case is stale at `now`; returns to how
    many it went."""
    async with session_scope(sender.engine) as session:
        found = await stale_cases(session=session, now=now)
        keepers = await keepers_to_tell(session=session) if found.cases else []
        spellings = await read_spellings(session, [stale.person for stale in found.cases])
    told = 0
    for user_id, stored in keepers:
        chat = stored or Chat(id=user_id, kind="private", language=language_of(None))
        text = render_stale_cases(found, spellings, chat.language)
        if await sender.send_note(chat, text, queued_at=now) is None:
            told += 1
    return told
