"""The one error handler: log with the traceback, answer short and true, alert the owners."""

import logging

from telegram import Update
from telegram.error import TelegramError

from handlers.context import CaseContext, language
from handlers.i18n import t
from handlers.replies import reply

log = logging.getLogger(__name__)


async def on_error(update: object, context: CaseContext) -> None:
    """Log the failure; tell the user nothing was changed; tell the owners what failed."""
    log.error("update failed", exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        await reply(update, t(language(update), "error.internal"))
    except TelegramError:
        log.warning("could not tell the user about the failure", exc_info=True)
    error_name = type(context.error).__name__
    for owner_id in context.services.owner_ids:
        try:
            await context.bot.send_message(
                owner_id, t("en", "error.owner_alert", error=error_name)
            )
        except TelegramError:
            log.warning("could not alert owner %s", owner_id)
