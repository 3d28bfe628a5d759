"""/start and /help."""

from telegram import Update

from handlers.context import CaseContext, command_args, language
from handlers.guards import is_editor
from handlers.i18n import t
from handlers.lookup import show_card
from handlers.parsing import id_reference
from handlers.replies import reply
from storage.engine import session_scope
from storage.following import ensure_chat


async def start(update: Update, context: CaseContext) -> None:
    """Greet, and open a person's card when the link carried `p<id>` (t.me/bot?start=p12).

    The chat is stored, in the language it is answered in; a chat that had left (blocked the
    bot) is active again, with its follows and settings.
    """
    chat = update.effective_chat
    assert chat is not None
    lang = language(update)
    async with session_scope(context.services.engine) as session:
        await ensure_chat(session=session, chat_id=chat.id, kind=chat.type, language=lang)
    payload = command_args(update)
    if payload.startswith("p"):
        await show_card(update, context, id_reference(payload[1:]))
        return
    await reply(update, t(lang, "start.welcome"))


async def help_command(update: Update, context: CaseContext) -> None:
    """The commands this user may use."""
    lang = language(update)
    async with session_scope(context.services.engine) as session:
        editor = await is_editor(session, update)
    text = t(lang, "help.everyone") + "\n" + t(lang, "help.lang")
    if editor:
        text += "\n\n" + t(lang, "help.editor") + "\n" + t(lang, "help.setvisibility")
    await reply(update, text)
