"""/start (with the links of handlers/deeplinks.py) and /help."""

from telegram import Update

from handlers.context import CaseContext, command_args, language
from handlers.deeplinks import LinkAction, parse_start_payload
from handlers.guards import EDITOR_ROLES, role_here
from handlers.i18n import t
from handlers.lookup import show_card
from handlers.render import fit, person_title
from handlers.replies import follow_button, reply
from storage.chats import chat_returned
from storage.engine import session_scope
from storage.models import Role


async def start(update: Update, context: CaseContext) -> None:
    """Greet, or open the link's person (t.me/bot?start=p12), offering to follow (f12).

    A chat that had left (blocked the bot) is active again, with its follows and settings;
    a chat the bot does not know is not stored (it is, with its language, once it follows
    someone or chooses a language with /lang).
    """
    chat = update.effective_chat
    assert chat is not None
    async with session_scope(context.services.engine) as session:
        await chat_returned(session=session, chat_id=chat.id)
    link = parse_start_payload(command_args(update))
    if link is None:
        await reply(update, t(language(update), "start.welcome"))
        return
    shown = await show_card(update, context, link.who)
    if link.action is LinkAction.FOLLOW and shown is not None and not shown.following:
        # "Follow <name>?" with the card's Follow button (pressed, it is checked like any).
        lang, person = language(update), shown.card.person
        title = person_title(person, shown.card.spellings, lang)
        markup = follow_button(person, lang, context.services.button_key, following=False)
        await reply(update, t(lang, "deeplink.follow_question", person=title), markup)


async def help_command(update: Update, context: CaseContext) -> None:
    """The commands this user may use."""
    lang = language(update)
    async with session_scope(context.services.engine) as session:
        role = await role_here(session, update)
    everyone = ("help.everyone", "help.history", "help.calendar", "help.lang", "help.forget")
    text = "\n".join(t(lang, key) for key in everyone)
    if role in EDITOR_ROLES:
        text += "\n\n" + t(lang, "help.editor") + "\n" + t(lang, "help.setvisibility")
    elif role == Role.VIEWER:
        text += "\n\n" + t(lang, "help.viewer")
    if role == Role.OWNER:
        text += "\n\n" + t(lang, "help.owner")
    await reply(update, fit(text))
