"""/admins for owners: who has which role, and giving or taking editors' and viewers' roles.

`/admins` lists owners, editors, viewers and the invitations waiting; `/admins add <user id |
@username> [editor|viewer]` (editor unless said) and `/admins remove <user id | @username>`.
A @username becomes an invitation (the bot cannot learn a user's id from their username),
taken up when that user next writes to the bot. Owners come from ADMIN_IDS: no command adds,
changes or removes one. The guard lets owners only through (handlers/guards.py); roles are
managed in a private chat, since the list names everyone who may see restricted records.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from handlers.context import CaseContext, command_args, language
from handlers.i18n import t
from handlers.language import refresh_command_menu
from handlers.parsing import MAX_ID, BadArguments
from handlers.render import fit, format_when
from handlers.replies import reply, reply_usage
from storage.admins import (
    INVITE_DAYS,
    RoleChange,
    Roster,
    give_role,
    invite,
    roster,
    take_role,
    withdraw_invite,
)
from storage.chats import chat_language
from storage.engine import session_scope
from storage.models import Role, utcnow
from storage.timeline import claim_update

# Telegram usernames: letters, digits and underscores, starting with a letter.
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_NUMBER = re.compile(r"[+-]?\d+")
# The role words understood after `add`, in each of our languages.
_ROLE_WORDS = {
    "editor": Role.EDITOR,
    "редактор": Role.EDITOR,
    "viewer": Role.VIEWER,
    "наблюдатель": Role.VIEWER,
    "бақылаушы": Role.VIEWER,
}
_OWNER_WORDS = frozenset({"owner", "владелец", "иесі"})


class AdminsAction(StrEnum):
    LIST = "list"
    ADD = "add"
    REMOVE = "remove"


@dataclass(frozen=True)
class AdminsArgs:
    """What /admins was asked: to list, or to add or remove a user (by id or @username)."""

    action: AdminsAction
    user_id: int | None = None
    username: str | None = None  # as written, without the @
    role: Role = Role.EDITOR

    @property
    def label(self) -> str:
        return f"@{self.username}" if self.username else str(self.user_id)


def parse_admins(text: str) -> AdminsArgs:
    """`` → list; `add <id|@username> [editor|viewer]`; `remove <id|@username>`."""
    words = text.split()
    if not words or words == ["list"]:
        return AdminsArgs(AdminsAction.LIST)
    action = {"add": AdminsAction.ADD, "remove": AdminsAction.REMOVE}.get(words[0].lower())
    if action is None:
        raise BadArguments()
    if len(words) < 2:
        raise BadArguments("admins.error.who_missing")
    user_id, username = _parse_user(words[1])
    extra = words[2:]
    if (action == AdminsAction.REMOVE and extra) or len(extra) > 1:
        raise BadArguments()
    role = _parse_role(extra[0]) if extra else Role.EDITOR
    return AdminsArgs(action, user_id=user_id, username=username, role=role)


def _parse_user(word: str) -> tuple[int | None, str | None]:
    if word.startswith("@"):
        if not _USERNAME.fullmatch(word[1:]):
            raise BadArguments("admins.error.bad_username")
        return None, word[1:]
    if not (_NUMBER.fullmatch(word) and word.isascii()):
        raise BadArguments("admins.error.not_a_user")
    user_id = int(word)
    if not 0 < user_id <= MAX_ID:
        raise BadArguments("admins.error.bad_id")
    return user_id, None


def _parse_role(word: str) -> Role:
    folded = word.lower()
    if folded in _OWNER_WORDS:
        raise BadArguments("admins.error.owner_role")
    if folded not in _ROLE_WORDS:
        raise BadArguments("admins.error.bad_role")
    return _ROLE_WORDS[folded]


async def admins(update: Update, context: CaseContext) -> None:
    """/admins: who has which role; `add` and `remove` give and take one (owners only)."""
    lang = language(update)
    try:
        args = parse_admins(command_args(update))
    except BadArguments as error:
        await reply_usage(update, "admins", error, lang)
        return
    chat = update.effective_chat
    if chat is None or chat.type != chat.PRIVATE:
        await reply(update, t(lang, "admins.private_only"))
        return
    if args.action == AdminsAction.LIST:
        async with session_scope(context.services.engine) as session:
            found = await roster(session=session, now=utcnow())
        await reply(update, render_roster(found, context.services.default_tz, lang))
        return
    await _change_role(update, context, args)


async def _change_role(update: Update, context: CaseContext, args: AdminsArgs) -> None:
    """Give or take the role (with its audit entry, once per update); then the user's own
    command menu follows at once."""
    lang, user = language(update), update.effective_user
    assert user is not None
    if args.action == AdminsAction.REMOVE and args.user_id == user.id:
        await reply(update, t(lang, "admins.not_yourself"))
        return
    async with session_scope(context.services.engine) as session:
        if not await claim_update(session=session, update_id=update.update_id):
            return
        outcome = await _apply(session, args, user.id)
        changed = args.user_id is not None and outcome in _MENU_CHANGES
        menu_language = (
            await chat_language(session=session, chat_id=args.user_id)
            if changed and args.user_id is not None
            else None
        )
    if changed and args.user_id is not None:
        role = args.role if args.action == AdminsAction.ADD else None
        commands = context.services.commands
        await refresh_command_menu(context.bot, commands, args.user_id, menu_language, role)
    await reply(update, render_role_change(args, outcome, lang))


_MENU_CHANGES = frozenset({RoleChange.ADDED, RoleChange.CHANGED, RoleChange.REMOVED})


async def _apply(session: AsyncSession, args: AdminsArgs, actor_id: int) -> RoleChange:
    now = utcnow()
    if args.username is not None:
        if args.action == AdminsAction.ADD:
            return await invite(
                session=session, username=args.username, role=args.role, actor_id=actor_id, now=now
            )
        return await withdraw_invite(
            session=session, username=args.username, actor_id=actor_id, now=now
        )
    assert args.user_id is not None
    if args.action == AdminsAction.ADD:
        return await give_role(
            session=session, user_id=args.user_id, role=args.role, actor_id=actor_id, now=now
        )
    return await take_role(session=session, user_id=args.user_id, actor_id=actor_id, now=now)


def render_role_change(args: AdminsArgs, outcome: RoleChange, lang: str) -> str:
    """What came of `/admins add` or `/admins remove`."""
    said = {"user": args.label, "role": t(lang, f"role.{args.role.value}")}
    if args.username is not None:
        key = {
            RoleChange.ADDED: "admins.invited",
            RoleChange.CHANGED: "admins.invite_renewed",
            RoleChange.UNCHANGED: "admins.invite_unchanged",
            RoleChange.REMOVED: "admins.invite_withdrawn",
            RoleChange.NOT_FOUND: "admins.no_invite",
        }[outcome]
        return t(lang, key, days=INVITE_DAYS, **said)
    return t(lang, f"admins.{outcome.value}", **said)


def render_roster(found: Roster, tz: str, lang: str) -> str:
    """Owners, editors, viewers (by user id) and the invitations still waiting."""
    sections = []
    for role in (Role.OWNER, Role.EDITOR, Role.VIEWER):
        ids = [str(admin.user_id) for admin in found.admins if admin.role == role]
        sections.append(_section(t(lang, f"admins.{role.value}s"), ids, lang))
    invites = [
        t(
            lang,
            "admins.invite_line",
            user=f"@{invite.username}",
            role=t(lang, f"role.{invite.role}"),
            until=format_when(invite.expires_at, tz, lang),
        )
        for invite in found.invites
    ]
    if invites:
        sections.append(_section(t(lang, "admins.invites"), invites, lang))
    return fit("\n\n".join([*sections, t(lang, "admins.how")]))


def _section(title: str, lines: list[str], lang: str) -> str:
    shown = lines or [t(lang, "admins.nobody")]
    return f"<b>{title}</b>\n" + "\n".join(f"• {line}" for line in shown)
