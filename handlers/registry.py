"""Which callback answers which command or button."""

from typing import Any

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    filters,
)

from handlers.delivery_settings import digest, quiet
from handlers.editing import addperson, setasylum, setdetention, sethearing, undo
from handlers.errors import on_error
from handlers.following import (
    follow_pressed,
    subscribe_command,
    subscriptions,
    unsubscribe_command,
)
from handlers.group_admins import FOLLOWING_COMMANDS, SETTING_COMMANDS, group_admins_only
from handlers.guards import EDITOR_COMMANDS, editors_only
from handlers.lifecycle import membership_changed
from handlers.lookup import card_pressed, find, hearings, person
from handlers.reminders import remind
from handlers.replies import CARD, FOLLOW, UNFOLLOW
from handlers.start import help_command, start
from handlers.stats import stats
from handlers.visibility import setvisibility

GUARDS = -1
FOLLOW_BUTTONS = f"^({FOLLOW}|{UNFOLLOW}):"

COMMANDS = {
    "start": start,
    "help": help_command,
    "find": find,
    "person": person,
    "hearings": hearings,
    "subscribe": subscribe_command,
    "unsubscribe": unsubscribe_command,
    "subscriptions": subscriptions,
    "remind": remind,
    "quiet": quiet,
    "digest": digest,
    "addperson": addperson,
    "sethearing": sethearing,
    "setasylum": setasylum,
    "setdetention": setdetention,
    "setvisibility": setvisibility,
    "undo": undo,
    "stats": stats,
}


def add_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler(EDITOR_COMMANDS, editors_only), group=GUARDS)
    _add_group_admin_guards(application)
    application.add_handler(
        ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    for name, callback in COMMANDS.items():
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(CallbackQueryHandler(card_pressed, pattern=f"^{CARD}:"))
    application.add_handler(CallbackQueryHandler(follow_pressed, pattern=FOLLOW_BUTTONS))
    application.add_error_handler(on_error)


def _add_group_admin_guards(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """In groups: following always, and changing settings (with arguments), is for admins."""
    groups = filters.ChatType.GROUPS
    for commands, has_args in ((FOLLOWING_COMMANDS, None), (SETTING_COMMANDS, True)):
        guard = CommandHandler(commands, group_admins_only, filters=groups, has_args=has_args)
        application.add_handler(guard, group=GUARDS)
    buttons = CallbackQueryHandler(group_admins_only, pattern=FOLLOW_BUTTONS)  # checks the chat
    application.add_handler(buttons, group=GUARDS)
