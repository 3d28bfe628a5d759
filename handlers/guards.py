"""Who may do what. Guards run in an earlier handler group and stop refused updates there."""

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import ApplicationHandlerStop

from handlers.context import CaseContext, language
from handlers.i18n import t
from handlers.replies import reply
from storage.admins import role_of
from storage.engine import session_scope
from storage.models import Role

EDITOR_COMMANDS = (
    "addperson",
    "sethearing",
    "setasylum",
    "setdetention",
    "setvisibility",
    "undo",
    "stats",
    "edit",
)
# Viewers see restricted records and the audit, and change nothing; owners and editors too.
# (Each tier's commands are added here as they are built.)
VIEWER_COMMANDS: tuple[str, ...] = ()
OWNER_COMMANDS: tuple[str, ...] = ()
EDITOR_ROLES = frozenset({Role.OWNER, Role.EDITOR})


async def is_editor(session: AsyncSession, update: Update) -> bool:
    """Whether the sender may keep the records (and see restricted people)."""
    user = update.effective_user
    return user is not None and await role_of(session=session, user_id=user.id) in EDITOR_ROLES


async def editors_only(update: Update, context: CaseContext) -> None:
    """Refuse an editor command from anyone who is not an editor; nothing else runs."""
    async with session_scope(context.services.engine) as session:
        allowed = await is_editor(session, update)
    if not allowed:
        await reply(update, t(language(update), "editor.refused"))
        raise ApplicationHandlerStop
