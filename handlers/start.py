"""/start (with the links of handlers/deeplinks.py) and /help."""

from telegram import Update

from handlers.context import CaseContext, command_args, language
from handlers.deeplinks import LinkAction, parse_start_payload
from handlers.guards import is_editor
from handlers.i18n import t
from handlers.lookup import show_card
from handlers.parsing import Who
from handlers.render import listed_title
from handlers.replies import follow_button, reply
from handlers.visibility import resolve_here
from handlers.who import read_spellings
from storage.chats import chat_returned
from storage.engine import session_scope
from storage.following import is_following


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
    await show_card(update, context, link.who)
    if link.action is LinkAction.FOLLOW:
        await _offer_to_follow(update, context, link.who)


async def _offer_to_follow(update: Update, context: CaseContext, who: Who) -> None:
    """ "Follow <name>?" with the card's Follow button (pressed, it is checked like any), unless
    the chat follows them already or the card said "nobody"."""
    chat = update.effective_chat
    assert chat is not None
    async with session_scope(context.services.engine) as session:
        found = await resolve_here(session, update, context, who)
        person = found.person
        if person is None or person.id is None:
            return
        if await is_following(session=session, chat_id=chat.id, person_id=person.id):
            return
        spellings = await read_spellings(session, [person])
    lang = language(update)
    question = t(lang, "deeplink.follow_question", person=listed_title(person, spellings, lang))
    markup = follow_button(person, lang, context.services.button_key, following=False)
    await reply(update, question, markup)


async def help_command(update: Update, context: CaseContext) -> None:
    """The commands this user may use."""
    lang = language(update)
    async with session_scope(context.services.engine) as session:
        editor = await is_editor(session, update)
    everyone = ("help.everyone", "help.history", "help.calendar", "help.lang", "help.forget")
    text = "\n".join(t(lang, key) for key in everyone)
    if editor:
        text += "\n\n" + t(lang, "help.editor") + "\n" + t(lang, "help.setvisibility")
    await reply(update, text)
