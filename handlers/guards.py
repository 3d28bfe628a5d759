"""Who may do what. Guards run in an earlier handler group and stop refused updates there.

Three tiers: owners (ADMIN_IDS) manage the roles; editors (and owners) change the records;
viewers (and editors and owners) see restricted records and the audit, and change nothing.
The role is read from the database at every command and every button press, so a role
taken away counts from the next update on; being a Telegram group's administrator gives no
role at all.
"""

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, CallbackQueryHandler, CommandHandler
from telegram.ext.filters import UpdateType

from handlers.context import CaseContext, language
from handlers.i18n import t
from handlers.replies import AUDIT, CHANGE_ACTIONS, GUIDED_ACTIONS, reply
from storage.admins import role_of
from storage.engine import session_scope
from storage.models import Role
from storage.visibility import KEEPERS, READERS

EDITOR_COMMANDS = (
    "addperson",
    "sethearing",
    "setasylum",
    "setdetention",
    "cancelhearing",
    "held",
    "setverdict",
    "note",
    "setvisibility",
    "undo",
    "stats",
    "import",
    "edit",
)
# Viewers see restricted records and the audit, and change nothing; owners and editors too.
VIEWER_COMMANDS: tuple[str, ...] = ("audit", "export")
OWNER_COMMANDS: tuple[str, ...] = ("admins",)
# The actions of buttons that change records (handlers/buttons.py): for editors only.
EDITOR_BUTTONS: tuple[str, ...] = (*CHANGE_ACTIONS, *GUIDED_ACTIONS)
# The audit's buttons: for owners, editors and viewers.
VIEWER_BUTTONS: tuple[str, ...] = (AUDIT,)

OWNER_ROLES = frozenset({Role.OWNER})
EDITOR_ROLES = frozenset(KEEPERS)
VIEWER_ROLES = frozenset(READERS)


async def role_here(session: AsyncSession, update: Update) -> Role | None:
    """The sender's role now (an invitation to their @username is taken up here)."""
    user = update.effective_user
    if user is None:
        return None
    return await role_of(session=session, user_id=user.id, username=user.username)


async def is_editor(session: AsyncSession, update: Update) -> bool:
    """Whether the sender may keep the records."""
    return await role_here(session, update) in EDITOR_ROLES


def role_guards() -> list[BaseHandler[Update, CaseContext, None]]:
    """One guard per tier (for the guard handler group): its commands, and its buttons."""
    new = UpdateType.MESSAGE  # an edited command is never run again: no refusal needed
    tiers: list[tuple[tuple[str, ...], Any]] = [
        (OWNER_COMMANDS, owners_only),
        (EDITOR_COMMANDS, editors_only),
        (VIEWER_COMMANDS, viewers_only),
    ]
    guards: list[BaseHandler[Update, CaseContext, None]] = [
        CommandHandler(commands, guard, filters=new) for commands, guard in tiers if commands
    ]
    for buttons, guard in ((EDITOR_BUTTONS, editors_only), (VIEWER_BUTTONS, viewers_only)):
        if buttons:
            pattern = f"^({'|'.join(buttons)}):"
            guards.append(CallbackQueryHandler(guard, pattern=pattern))
    return guards


async def owners_only(update: Update, context: CaseContext) -> None:
    """Refuse an owner command from anyone who is not an owner; nothing else runs."""
    await _refuse_unless(update, context, OWNER_ROLES)


async def editors_only(update: Update, context: CaseContext) -> None:
    """Refuse an editor command or button from anyone who is not an editor (or owner)."""
    await _refuse_unless(update, context, EDITOR_ROLES)


async def viewers_only(update: Update, context: CaseContext) -> None:
    """Refuse a viewer command from anyone without a role."""
    await _refuse_unless(update, context, VIEWER_ROLES)


def refusal(allowed: frozenset[Role], role: Role | None) -> str:
    """The translation key of the answer to `role` where only `allowed` may act."""
    if allowed == OWNER_ROLES:
        return "roles.owners_only"
    if allowed == EDITOR_ROLES:
        return "roles.viewer_changes_nothing" if role == Role.VIEWER else "editor.refused"
    return "roles.viewers_only"


async def _refuse_unless(update: Update, context: CaseContext, allowed: frozenset[Role]) -> None:
    async with session_scope(context.services.engine) as session:
        role = await role_here(session, update)
    if role in allowed:
        return
    text = t(language(update), refusal(allowed, role))
    if update.callback_query is not None:
        await update.callback_query.answer(text)
    else:
        await reply(update, text)
    raise ApplicationHandlerStop
