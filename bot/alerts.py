"""The `owner-alerts` job: at most one summary per owner every ALERT_INTERVAL_SECONDS.

It runs beside the sender, not in it, and its sends go through the same failure policy
(`bot/failures.py`): a summary that could not be sent goes out with the next one.
"""

import logging

from bot.failures import Action, Attempt, decide, settle
from handlers.alerts import Summary, render_owner_summary
from handlers.context import CaseContext
from storage.engine import session_scope
from storage.models import Chat, utcnow

log = logging.getLogger(__name__)

ALERTS_JOB = "owner-alerts"


async def send_owner_alerts(context: CaseContext) -> None:
    """Send each owner what went wrong since their last summary, if anything did."""
    alerts = context.services.alerts
    for owner_id in alerts.owner_ids:
        summary = alerts.take(owner_id)
        if summary is not None:
            await _send_summary(context, owner_id, summary)


async def _send_summary(context: CaseContext, owner_id: int, summary: Summary) -> None:
    services = context.services
    chat: Chat | None = None
    try:
        async with session_scope(services.engine) as session:
            chat = await session.get(Chat, owner_id)
        text = render_owner_summary(summary, chat.language if chat else "en")
        await context.bot.send_message(owner_id, text)
    except Exception as error:
        decision = decide(error, Attempt(attempts=1, queued_at=utcnow()))
        log.warning(
            "owner summary to %s: %s → %s", owner_id, decision.reason, decision.action.value
        )
        if decision.action in (Action.SEND_AGAIN, Action.RETRY):
            services.alerts.give_back(owner_id, summary)
            return
        await settle(
            decision,
            engine=services.engine,
            chat=chat or Chat(id=owner_id),
            delivery_ids=[],
            parts_sent=0,
            alerts=services.alerts,
        )
