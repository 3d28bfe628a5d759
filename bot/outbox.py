"""The outbox job: due events become deliveries, and deliveries become Telegram messages.

Delivery is at-least-once. A delivery is leased (committed) before its send and marked
sent with Telegram's message id after it, each in its own short transaction, so no
session is held open across a Telegram call and a crash mid-send only re-sends that one.
"""

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot
from telegram.error import Forbidden, RetryAfter, TelegramError

from handlers.context import CaseContext
from handlers.render import render_push
from handlers.replies import card_buttons
from storage.engine import session_scope
from storage.models import utcnow
from storage.outbox import (
    Outgoing,
    deactivate_chat,
    expand_due_events,
    lease_deliveries,
    mark_sent,
    retry_later,
)

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
BATCH = 50
MAX_BACKOFF = timedelta(hours=1)


async def work_outbox(context: CaseContext) -> None:
    """Expand events whose grace window has passed, then send every delivery that is due."""
    engine = context.services.engine
    async with session_scope(engine) as session:
        created = await expand_due_events(session=session, now=utcnow())
    if created:
        log.info("queued %d deliveries", created)
    while True:
        async with session_scope(engine) as session:
            batch = await lease_deliveries(session=session, now=utcnow(), lease=LEASE, limit=BATCH)
        if not batch:
            return
        for outgoing in batch:
            await send_delivery(context.bot, engine, outgoing)


async def send_delivery(bot: Bot, engine: AsyncEngine, outgoing: Outgoing) -> None:
    """Send one leased delivery and settle it: sent, retried later, or dropped."""
    delivery, chat = outgoing.delivery, outgoing.chat
    assert delivery.id is not None
    text = render_push(outgoing.event, outgoing.person, chat.language)
    try:
        message = await bot.send_message(
            chat.id, text, reply_markup=card_buttons([outgoing.person])
        )
    except Forbidden as error:
        log.info("chat %s can no longer be reached: %s", chat.id, error.message)
        async with session_scope(engine) as session:
            await deactivate_chat(session=session, chat_id=chat.id, error=error.message)
        return
    except TelegramError as error:
        wait = _backoff(delivery.attempts, error)
        log.warning("delivery %s failed (%s); retrying in %s", delivery.id, error.message, wait)
        async with session_scope(engine) as session:
            await retry_later(
                session=session,
                delivery_id=delivery.id,
                error=error.message,
                retry_at=utcnow() + wait,
            )
        return
    async with session_scope(engine) as session:
        await mark_sent(
            session=session, delivery_id=delivery.id, message_id=message.message_id, now=utcnow()
        )


def _backoff(attempts: int, error: TelegramError) -> timedelta:
    if isinstance(error, RetryAfter):
        return (
            error.retry_after
            if isinstance(error.retry_after, timedelta)
            else timedelta(seconds=error.retry_after)
        )
    return min(timedelta(seconds=2 ** min(attempts, 12)), MAX_BACKOFF)
