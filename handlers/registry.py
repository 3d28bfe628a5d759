"""Which callback answers which command or button."""

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers.admins import admins
from handlers.audit import audit, audit_pressed
from handlers.calendar import calendar, calendar_pressed
from handlers.changes import change_buttons, typed_change
from handlers.conversation import (
    edited_message,
    only_unanswered,
    other_message,
    plain_text,
    stale_button,
    unknown_command,
)
from handlers.delivery_settings import digest, quiet
from handlers.editing import (
    ADDPERSON,
    RECORD_CHANGES,
    SETVISIBILITY,
    add_anyway,
    addperson,
    set_visibility_of,
    setvisibility,
    undo,
)
from handlers.errors import on_error
from handlers.flood import FloodLimit, lookup_limit
from handlers.following import (
    FOLLOWING_ACTIONS,
    follow_pressed,
    following_pressed,
    subscribe_command,
    subscriptions,
    unsubscribe_command,
)
from handlers.forget import FORGET, KEEP, forget_command, forget_pressed
from handlers.group_admins import group_admin_guards
from handlers.guards import role_guards
from handlers.guided import cancel, edit, guided_pressed, typed_value
from handlers.hearing_changes import HEARING_COMMANDS
from handlers.history import history, history_pressed
from handlers.import_export import IMPORT_CAPTION, export_command, import_command
from handlers.inline import inline_query
from handlers.language import LANG, lang_command, lang_pressed, load_language
from handlers.lifecycle import membership_handler
from handlers.lookup import card_pressed, find, hearings, hearings_pressed, person
from handlers.name_watches import UNWATCH, WATCH, unwatch_pressed, watch_pressed
from handlers.reminders import remind
from handlers.replies import (
    AUDIT,
    CALENDAR,
    CARD,
    FOLLOW,
    GUIDED_ACTIONS,
    HEARINGS,
    HISTORY,
    UNFOLLOW,
)
from handlers.start import help_command, start
from handlers.stats import stats

LANGUAGE = -4
FLOOD = -3
LOOKUPS = -2
GUARDS = -1
# After the default group: the gate, then what the bot says to anything nobody took.
UNANSWERED = 1
FALLBACKS = 2
# Commands act on new messages only: an edited command is never run again.
NEW = filters.UpdateType.MESSAGE

# The commands that change a person's record (handlers/changes.py).
CHANGES = (*RECORD_CHANGES, *HEARING_COMMANDS)
COMMANDS = {
    "start": start,
    "help": help_command,
    "find": find,
    "person": person,
    "history": history,
    "hearings": hearings,
    "subscribe": subscribe_command,
    "unsubscribe": unsubscribe_command,
    "subscriptions": subscriptions,
    "remind": remind,
    "quiet": quiet,
    "digest": digest,
    "lang": lang_command,
    "calendar": calendar,
    "addperson": addperson,
    **{change.name: typed_change(change) for change in CHANGES},
    "setvisibility": setvisibility,
    "undo": undo,
    "stats": stats,
    "admins": admins,
    "audit": audit,
    "forget": forget_command,
    "import": import_command,
    "export": export_command,
    "edit": edit,
}


def add_handlers(
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    commands_per_minute: int,
    lookups_per_minute: int,
    lookups_per_hour: int,
) -> None:
    flood = FloodLimit(limit=commands_per_minute)
    application.add_handler(TypeHandler(Update, load_language), group=LANGUAGE)
    application.add_handler(TypeHandler(Update, flood.guard), group=FLOOD)
    lookups = lookup_limit(per_minute=lookups_per_minute, per_hour=lookups_per_hour)
    application.add_handler(TypeHandler(Update, lookups.guard), group=LOOKUPS)
    # Owners, editors and viewers: each tier's commands (and editors' buttons) checked here.
    application.add_handlers(role_guards(), group=GUARDS)
    for name, callback in COMMANDS.items():
        application.add_handler(CommandHandler(name, callback, filters=NEW))
    application.add_handler(
        change_buttons(
            {change.name: change for change in CHANGES},
            {ADDPERSON: add_anyway, SETVISIBILITY: set_visibility_of},
        )
    )
    # Guided editing: /cancel answers everyone; a typed message is a value only while the
    # sender's edit waits for one (otherwise it goes on to the plain-text answer).
    application.add_handler(CommandHandler("cancel", cancel, filters=NEW))
    application.add_handler(
        CallbackQueryHandler(guided_pressed, pattern=f"^({'|'.join(GUIDED_ACTIONS)}):")
    )
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & NEW, typed_value))
    application.add_handler(CallbackQueryHandler(card_pressed, pattern=f"^{CARD}:"))
    application.add_handler(CallbackQueryHandler(lang_pressed, pattern=f"^{LANG}:"))
    application.add_handler(CallbackQueryHandler(history_pressed, pattern=f"^{HISTORY}:"))
    application.add_handler(CallbackQueryHandler(hearings_pressed, pattern=f"^{HEARINGS}:"))
    application.add_handler(CallbackQueryHandler(calendar_pressed, pattern=f"^{CALENDAR}:"))
    application.add_handler(InlineQueryHandler(inline_query))
    # A file sent with /import as its caption (a caption is not a command to CommandHandler).
    application.add_handler(
        MessageHandler(
            filters.Document.ALL & filters.CaptionRegex(IMPORT_CAPTION) & NEW, import_command
        )
    )
    application.add_handler(CallbackQueryHandler(forget_pressed, pattern=f"^({FORGET}|{KEEP}):"))
    # In a group, following and changing its settings is for its administrators.
    application.add_handlers(group_admin_guards(), group=GUARDS)
    application.add_handler(membership_handler())
    application.add_handler(
        CallbackQueryHandler(follow_pressed, pattern=f"^({FOLLOW}|{UNFOLLOW}):")
    )
    application.add_handler(
        CallbackQueryHandler(following_pressed, pattern=f"^({'|'.join(FOLLOWING_ACTIONS)}):")
    )
    application.add_handler(CallbackQueryHandler(watch_pressed, pattern=f"^{WATCH}:"))
    application.add_handler(CallbackQueryHandler(unwatch_pressed, pattern=f"^{UNWATCH}:"))
    application.add_handler(CallbackQueryHandler(audit_pressed, pattern=f"^{AUDIT}:"))
    _add_fallbacks(application)
    application.add_error_handler(on_error)


def _add_fallbacks(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Never silent: answers to what no handler of the default group took."""
    application.add_handler(TypeHandler(Update, only_unanswered), group=UNANSWERED)
    for fallback in (
        MessageHandler(filters.COMMAND & NEW, unknown_command),
        MessageHandler(filters.TEXT & NEW, plain_text),
        MessageHandler(filters.UpdateType.EDITED_MESSAGE, edited_message),
        MessageHandler(filters.ChatType.PRIVATE & NEW & ~filters.StatusUpdate.ALL, other_message),
        CallbackQueryHandler(stale_button),
    ):
        application.add_handler(fallback, group=FALLBACKS)
