"""Which callback answers which command or button."""

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.delivery_settings import digest, quiet
from handlers.editing import addperson, setasylum, setdetention, sethearing, undo
from handlers.errors import on_error
from handlers.following import (
    follow_pressed,
    subscribe_command,
    subscriptions,
    unsubscribe_command,
)
from handlers.group_admins import group_admin_guards
from handlers.guards import EDITOR_COMMANDS, editors_only
from handlers.lifecycle import membership_handler
from handlers.lookup import card_pressed, find, hearings, person
from handlers.reminders import remind
from handlers.replies import CARD, FOLLOW, UNFOLLOW
from handlers.start import help_command, start
from handlers.stats import stats
from handlers.visibility import setvisibility

GUARDS = -1

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
    for name, callback in COMMANDS.items():
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(CallbackQueryHandler(card_pressed, pattern=f"^{CARD}:"))
    # In a group, following and changing its settings is for its administrators.
    application.add_handlers(group_admin_guards(), group=GUARDS)
    application.add_handler(membership_handler())
    application.add_handler(
        CallbackQueryHandler(follow_pressed, pattern=f"^({FOLLOW}|{UNFOLLOW}):")
    )
    application.add_error_handler(on_error)
