"""The language of a chat: loaded once per update, changed with /lang, and the command menus.

A chat is answered, and told of changes, in its stored language (`Chat.language`). On first
contact that is the sender's Telegram language; /lang changes it (in a group, its
administrators do: handlers/group_admins.py).
"""

from collections.abc import Sequence

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)

from handlers.buttons import button_data, read_button
from handlers.context import CaseContext, command_args, language, remember_language
from handlers.flood import asks_the_bot
from handlers.guards import EDITOR_COMMANDS, is_editor
from handlers.i18n import FALLBACK, LANGUAGES, language_of, t
from handlers.parsing import BadArguments
from handlers.replies import reply, reply_usage
from storage.chats import chat_language
from storage.engine import session_scope
from storage.following import ensure_chat, set_language

# The action of the language buttons (button data `lang:<code>:<signature>`).
LANG = "lang"


async def load_language(update: Update, context: CaseContext) -> None:
    """Before every other handler: the stored language of the update's chat (one primary-key
    lookup; an update with no chat, an inline query, is the sender's private chat), else the
    sender's Telegram language."""
    chat, user = update.effective_chat, update.effective_user
    chat_id = chat.id if chat is not None else user.id if user is not None else None
    answered = update.inline_query or update.my_chat_member or asks_the_bot(update, context)
    if chat_id is None or not answered:
        return  # group chatter not addressed to the bot costs no read
    async with session_scope(context.services.engine) as session:
        stored = await chat_language(session=session, chat_id=chat_id)
    remember_language(update, stored or language_of(user.language_code if user else None))


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
        editor = chat.type == chat.PRIVATE and await is_editor(session, update)
    remember_language(update, chosen)
    await set_command_menu(
        context.bot, context.services.commands, chosen, chat=chat.id, editor=editor
    )
    await reply(update, t(chosen, "lang.changed", language=t(chosen, "lang.name")))


async def set_command_menu(
    bot: Bot, commands: Sequence[str], lang: str, *, chat: int | None = None, editor: bool = False
) -> None:
    """Everyone's command menu in `lang` (English for every language without its own); or,
    with `chat`, that chat's own menu in the language it chose (with `editor`, an editor's
    private chat: their commands too)."""
    menu = [
        BotCommand(name, t(lang, f"menu.{name}"))
        for name in commands
        if editor or name not in EDITOR_COMMANDS
    ]
    if chat is not None:
        await bot.set_my_commands(menu, scope=BotCommandScopeChat(chat))
    else:
        await bot.set_my_commands(menu, language_code=None if lang == FALLBACK else lang)
