"""The one error handler: log with the traceback, answer short and true, note it for the owners."""

import logging

from telegram import Update

from handlers.alerts import AlertKind
from handlers.context import CaseContext, language
from handlers.i18n import t
from handlers.replies import reply
from storage.engine import session_scope
from storage.timeline import update_was_applied

log = logging.getLogger(__name__)


async def on_error(update: object, context: CaseContext) -> None:
    """Log the failure; tell the user whether their change was saved; note it for the owners
    (who get it in their next summary, however many updates fail)."""
    log.error("update failed", exc_info=context.error)
    context.services.alerts.note(AlertKind.HANDLER_ERROR, type(context.error).__name__)
    if not isinstance(update, Update):
        return
    try:
        await reply(update, t(language(update), await _what_happened(update, context)))
    except Exception:
        log.warning("could not tell the user about the failure", exc_info=True)


async def _what_happened(update: Update, context: CaseContext) -> str:
    """The key of the truth: the change was saved (its update was recorded with it in one
    transaction) and something failed after; nothing was changed; or, when even that cannot
    be looked up, that it may have been saved."""
    try:
        async with session_scope(context.services.engine) as session:
            applied = await update_was_applied(session=session, update_id=update.update_id)
    except Exception:
        log.warning("could not look up update %s", update.update_id, exc_info=True)
        return "error.maybe_saved"
    return "error.saved_then_failed" if applied else "error.internal"
