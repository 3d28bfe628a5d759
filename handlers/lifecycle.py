"""The bot's own membership of a chat (`my_chat_member`): blocked, unblocked, added, removed.

A chat the bot leaves is deactivated at once, so nothing more is sent there and no send has
to fail first; one it comes back to is active again with its follows and settings as they
were (kept for `storage.chats.KEEP_DEPARTED`).
"""

import logging

from telegram import ChatMember, ChatMemberRestricted, Update
from telegram.error import TelegramError
from telegram.ext import ChatMemberHandler

from handlers.context import CaseContext, language
from handlers.i18n import t
from storage.chats import chat_left, chat_returned
from storage.engine import session_scope
from storage.models import utcnow

log = logging.getLogger(__name__)

PRESENT = frozenset({ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER})


def membership_handler() -> ChatMemberHandler[CaseContext, None]:
    """Changes to the bot's own membership (not other members': the bot does not ask)."""
    return ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER)


def _is_present(member: ChatMember) -> bool:
    """Whether the bot is in the chat (a restricted member may still be)."""
    if isinstance(member, ChatMemberRestricted):
        return member.is_member
    return member.status in PRESENT


async def membership_changed(update: Update, context: CaseContext) -> None:
    """Deactivate a chat the bot left; reactivate one it is back in (and greet a group)."""
    change = update.my_chat_member
    assert change is not None
    was_in = _is_present(change.old_chat_member)
    is_in = _is_present(change.new_chat_member)
    if was_in == is_in:
        return  # e.g. promoted to administrator: nothing changes for the chat
    chat = change.chat
    async with session_scope(context.services.engine) as session:
        if is_in:
            await chat_returned(session=session, chat_id=chat.id)
        else:
            reason = f"the bot's membership became {change.new_chat_member.status}"
            await chat_left(session=session, chat_id=chat.id, now=utcnow(), reason=reason)
    if is_in and chat.type != chat.PRIVATE:
        try:
            await context.bot.send_message(chat.id, t(language(update), "lifecycle.hello"))
        except TelegramError as error:  # e.g. a group where members may not write
            log.info("could not greet group %d: %s", chat.id, error.message)
