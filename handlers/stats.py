"""/stats for editors: how the outbox is doing."""

from telegram import Update

from handlers.context import CaseContext, language
from handlers.render import render_stats
from handlers.replies import reply
from storage.engine import session_scope
from storage.models import utcnow
from storage.outbox import delivery_stats


async def stats(update: Update, context: CaseContext) -> None:
    """Deliveries pending, sent and failed in the last hour, the send rate, dead letters."""
    async with session_scope(context.services.engine) as session:
        numbers = await delivery_stats(session=session, now=utcnow())
    await reply(update, render_stats(numbers, language(update)))
