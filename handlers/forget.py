"""/forget: a chat has everything stored about it deleted, after a confirmation.

The confirmation is a signed button that expires: pressed later than CONFIRM_SECONDS, it is
refused, so an old message scrolled back to cannot wipe a chat that has since followed
people again. In a group, the command and both buttons are for its administrators
(handlers/group_admins.py).
"""

import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.buttons import button_data as signed
from handlers.context import CaseContext, language
from handlers.i18n import t
from handlers.replies import read_press, reply
from storage.engine import session_scope
from storage.forget import ForgottenChats, forget_chat

# Callback data actions: delete everything, or keep it.
FORGET = "forget"
KEEP = "keep"
CONFIRM_SECONDS = 600


async def forget_command(update: Update, context: CaseContext) -> None:
    """Ask whether to delete everything stored about this chat."""
    lang = language(update)
    key, now = context.services.button_key, int(time.time())
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "forget.button_confirm"), callback_data=signed(key, FORGET, now)
                ),
                InlineKeyboardButton(
                    t(lang, "forget.button_cancel"), callback_data=signed(key, KEEP, now)
                ),
            ]
        ]
    )
    await reply(update, t(lang, "forget.confirm"), buttons)


async def forget_pressed(update: Update, context: CaseContext) -> None:
    """Delete everything (or nothing, on Cancel), and say so in place of the question."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    lang = language(update)
    pressed = await read_press(update, context)
    if pressed is None:
        return
    asked_at = pressed.number()
    if asked_at is None or time.time() - asked_at > CONFIRM_SECONDS:
        await query.answer(t(lang, "forget.expired"))
        return
    await query.answer()
    if pressed.action != FORGET:
        await query.edit_message_text(t(lang, "forget.cancelled"))
        return
    async with session_scope(context.services.engine) as session:
        forgotten = await forget_chat(session=session, chat_id=chat.id)
    await query.edit_message_text(render_forgotten(forgotten, lang))


def render_forgotten(forgotten: ForgottenChats, language: str) -> str:
    """What /forget deleted, counted."""
    if not forgotten.anything:
        return t(language, "forget.nothing")
    return t(
        language,
        "forget.done",
        follows=t(language, "forget.follows", count=forgotten.follows),
        watches=t(language, "forget.watches", count=forgotten.name_watches),
        deliveries=t(language, "forget.deliveries", count=forgotten.deliveries),
    )
