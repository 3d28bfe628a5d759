"""The language of a chat: loaded once per update, changed with /lang, and the command menus.

A chat is answered, and told of changes, in its stored language (`Chat.language`). On first
contact that is the sender's Telegram language; /lang changes it (in a group, its
administrators do: handlers/group_admins.py).
"""

import logging
from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Forbidden

from handlers.buttons import button_data, read_button
from handlers.context import CaseContext, command_args, language, remember_language
from handlers.flood import asks_the_bot
from handlers.guards import (
    EDITOR_COMMANDS,
    EDITOR_ROLES,
    OWNER_COMMANDS,
    OWNER_ROLES,
    VIEWER_COMMANDS,
    VIEWER_ROLES,
    role_here,
)
from handlers.i18n import FALLBACK, LANGUAGES, language_of, t
from handlers.parsing import BadArguments
from handlers.replies import reply, reply_usage
from storage.admins import take_up_invite
from storage.chats import chat_language
from storage.engine import session_scope
from storage.following import ensure_chat, set_language
from storage.models import Role

log = logging.getLogger(__name__)

# The action of the language buttons (button data `lang:<code>:<signature>`).
LANG = "lang"


async def load_language(update: Update, context: CaseContext) -> None:
    """Before every other handler: the stored language of the update's chat (one primary-key
    lookup; an update with no chat, an inline query, is the sender's private chat), else the
    sender's Telegram language. (A sender with a @username costs one more: an owner's
    invitation to it is taken up here, and their command menu set.)"""
    chat, user = update.effective_chat, update.effective_user
    chat_id = chat.id if chat is not None else user.id if user is not None else None
    answered = update.inline_query or update.my_chat_member or asks_the_bot(update, context)
    if chat_id is None or not answered:
        return  # group chatter not addressed to the bot costs no read
    async with session_scope(context.services.engine) as session:
        stored = await chat_language(session=session, chat_id=chat_id)
        taken = await _take_up_invite(session, update, chat_id, stored)
    remember_language(update, stored or language_of(user.language_code if user else None))
    if taken is not None:
        await refresh_command_menu(context.bot, context.services.commands, *taken)


async def _take_up_invite(
    session: AsyncSession, update: Update, chat_id: int, stored: str | None
) -> tuple[int, str | None, Role] | None:
    """An owner's invitation to the sender's @username counts from their first message: the
    sender's id, their private chat's language and the role, when one was taken up now."""
    user = update.effective_user
    if user is None or not user.username:
        return None
    role = await take_up_invite(session=session, user_id=user.id, username=user.username)
    if role is None:
        return None
    own = stored if chat_id == user.id else await chat_language(session=session, chat_id=user.id)
    return user.id, own, role


def parse_language(text: str) -> str:
    """`ru`, `RU` or `ru-RU` → `ru`; BadArguments for anything but our languages."""
    code = text.strip().lower().split("-")[0]
    if code not in LANGUAGES:
        raise BadArguments()
    return code


async def lang_command(update: Update, context: CaseContext) -> None:
    """/lang: the chat's language, with a button for each; /lang <en|ru|kk>: change it."""
    lang, text = language(update), command_args(update)
    if not text:
        buttons = language_buttons(context.services.button_key)
        await reply(update, t(lang, "lang.current", language=t(lang, "lang.name")), buttons)
        return
    try:
        chosen = parse_language(text)
    except BadArguments as error:
        await reply_usage(update, "lang", error, lang)
        return
    await change_language(update, context, chosen)


async def lang_pressed(update: Update, context: CaseContext) -> None:
    """A language button (its data is checked again here; group rights by the guard)."""
    query = update.callback_query
    assert query is not None
    pressed = read_button(context.services.button_key, query.data)
    chosen = pressed.values[0] if pressed and pressed.action == LANG and pressed.values else None
    if chosen not in LANGUAGES:
        await query.answer(t(language(update), "conversation.stale_button"))
        return
    await query.answer()
    await change_language(update, context, chosen)


def language_buttons(key: bytes) -> InlineKeyboardMarkup:
    """One button per language, each named in its own language."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(code, "lang.name"), callback_data=button_data(key, LANG, code)
                )
                for code in LANGUAGES
            ]
        ]
    )


async def change_language(update: Update, context: CaseContext, chosen: str) -> None:
    """Store the chat's language and answer in it; the chat's command menu follows it."""
    chat = update.effective_chat
    assert chat is not None
    async with session_scope(context.services.engine) as session:
        row = await ensure_chat(session=session, chat_id=chat.id, kind=chat.type, language=chosen)
        await set_language(session=session, chat=row, language=chosen)
        role = await role_here(session, update) if chat.type == chat.PRIVATE else None
    remember_language(update, chosen)
    await set_command_menu(context.bot, context.services.commands, chosen, chat=chat.id, role=role)
    await reply(update, t(chosen, "lang.changed", language=t(chosen, "lang.name")))


async def set_command_menu(
    bot: Bot,
    commands: Sequence[str],
    lang: str,
    *,
    chat: int | None = None,
    role: Role | None = None,
) -> None:
    """Everyone's command menu in `lang` (English for every language without its own); or,
    with `chat`, that chat's own menu in the language it chose (with `role`, the private
    chat of someone with that role: the commands of their tier too)."""
    menu = [BotCommand(name, t(lang, f"menu.{name}")) for name in commands if may_use(role, name)]
    if chat is not None:
        await bot.set_my_commands(menu, scope=BotCommandScopeChat(chat))
    else:
        await bot.set_my_commands(menu, language_code=None if lang == FALLBACK else lang)


def may_use(role: Role | None, command: str) -> bool:
    """Whether someone with `role` (None: no role) may use `command`."""
    for commands, roles in (
        (OWNER_COMMANDS, OWNER_ROLES),
        (EDITOR_COMMANDS, EDITOR_ROLES),
        (VIEWER_COMMANDS, VIEWER_ROLES),
    ):
        if command in commands:
            return role in roles
    return True


async def refresh_command_menu(
    bot: Bot, commands: Sequence[str], user_id: int, lang: str | None, role: Role | None
) -> None:
    """After a role was given or taken: that user's private-chat menu, at once.

    `lang` is their chat's stored language (None: the bot has no chat with them). Without a
    role and a stored language, their own menu is deleted, so Telegram shows everyone's menu
    in their app's language. A user who never wrote to the bot has no chat to set a menu
    for: theirs is set when the bot next starts.
    """
    try:
        if role is None and lang is None:
            await bot.delete_my_commands(scope=BotCommandScopeChat(user_id))
        else:
            await set_command_menu(bot, commands, lang or FALLBACK, chat=user_id, role=role)
    except (BadRequest, Forbidden) as error:
        log.info("command menu of user %s not set: %s", user_id, error.message)
