"""In a group, only its administrators change whom it follows and how it hears of them.

A guard (registered in the guard group for group chats only) refuses everyone else: the
follow commands and buttons always (the /subscriptions buttons that change a follow too;
paging and looking are for anyone), /forget and its buttons always, /remind, /quiet, /digest
and /lang when they change something (shown without arguments, the settings are for anyone
to read). Telegram is asked who administers the group (getChatMember), and the answer is
trusted for a few minutes.
"""

import time
from dataclasses import dataclass, field

from telegram import Bot, ChatMember, Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    filters,
)

from handlers.context import CaseContext, language
from handlers.following import FOLLOWING_CHANGES
from handlers.forget import FORGET, KEEP
from handlers.i18n import t
from handlers.language import LANG
from handlers.name_watches import UNWATCH, WATCH
from handlers.replies import FOLLOW, UNFOLLOW, reply

GROUP_ADMINS = "group_admins"
# Commands that always change what a group follows (or delete it all, /forget); and those
# that change it with arguments.
FOLLOWING_COMMANDS = ("subscribe", "unsubscribe", "forget")
SETTING_COMMANDS = ("remind", "quiet", "digest", "lang")
# Buttons that change what a group follows or how it hears (following, kinds, mute, watches,
# language, forgetting it all).
CHANGING_BUTTONS = (FOLLOW, UNFOLLOW, LANG, *FOLLOWING_CHANGES, WATCH, UNWATCH, FORGET, KEEP)
ADMIN_STATUSES = frozenset({ChatMember.OWNER, ChatMember.ADMINISTRATOR})
# How long Telegram's answer is trusted: a demoted administrator keeps the right this long.
ANSWER_SECONDS = 300.0
# Past this many remembered answers, the expired ones are forgotten.
REMEMBERED = 10_000


@dataclass
class GroupAdmins:
    """Who administers which group, as getChatMember answered within `ttl` seconds."""

    ttl: float = ANSWER_SECONDS
    answers: dict[tuple[int, int], tuple[float, bool]] = field(default_factory=dict)

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        now = time.monotonic()
        known = self.answers.get((chat_id, user_id))
        if known is not None and known[0] > now:
            return known[1]
        member = await bot.get_chat_member(chat_id, user_id)
        if len(self.answers) >= REMEMBERED:
            self.answers = {key: kept for key, kept in self.answers.items() if kept[0] > now}
        admin = member.status in ADMIN_STATUSES
        self.answers[(chat_id, user_id)] = (now + self.ttl, admin)
        return admin


def group_admin_guards() -> list[BaseHandler[Update, CaseContext, None]]:
    """The guard, for the follow commands and buttons, and for settings being changed."""
    # New messages only: an edited command is never run again, so it needs no refusal.
    groups = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
    return [
        CommandHandler(FOLLOWING_COMMANDS, group_admins_only, filters=groups),
        CommandHandler(SETTING_COMMANDS, group_admins_only, filters=groups, has_args=True),
        # A button press has no chat filter: the guard lets private chats through itself.
        CallbackQueryHandler(group_admins_only, pattern=f"^({'|'.join(CHANGING_BUTTONS)}):"),
    ]


async def group_admins_only(update: Update, context: CaseContext) -> None:
    """Let a group's administrators through; refuse anyone else, and nothing else runs."""
    chat = update.effective_chat
    if chat is None or chat.type == chat.PRIVATE or await sent_by_group_admin(update, context):
        return
    text = t(language(update), "group.admins_only")
    if update.callback_query is not None:
        await update.callback_query.answer(text)
    else:
        await reply(update, text)
    raise ApplicationHandlerStop


async def sent_by_group_admin(update: Update, context: CaseContext) -> bool:
    """Whether a group's update comes from one of its administrators (or the group itself)."""
    chat, user, message = update.effective_chat, update.effective_user, update.message
    assert chat is not None
    if message is not None and message.sender_chat is not None:
        # Written as the group itself: only its administrators can (anonymous admins).
        return message.sender_chat.id == chat.id
    if user is None:
        return False
    admins: GroupAdmins = context.bot_data.setdefault(GROUP_ADMINS, GroupAdmins())
    return await admins.is_admin(context.bot, chat.id, user.id)
