"""Never silent: what the bot answers to what no command handler took.

The fallbacks below run in a group of their own after every other handler, behind a gate
(`only_unanswered`) that stops whatever a handler of the default group took, so a command
or a button registered in any order is never mistaken for an unknown one.

In a private chat every message gets an answer: plain text is a /find (a bare name finds
the person), an unknown command points to /help, an edit is not run again (and the bot
says so), anything else (a sticker, a photo) gets a hint. In a group the bot speaks only
when addressed: a command with its @username, a reply to one of its messages, a mention.
"""

import re

from telegram import Bot, Message, Update
from telegram.ext import ApplicationHandlerStop

from handlers.context import CaseContext, language
from handlers.i18n import t
from handlers.lookup import find_people
from handlers.parsing import BadArguments, parse_query
from handlers.replies import reply, reply_usage

# Where the commands, buttons and the rest are registered (python-telegram-bot's default).
DEFAULT_GROUP = 0


async def only_unanswered(update: Update, context: CaseContext) -> None:
    """Stop here what a handler of the default group took; the rest goes to the fallbacks."""
    for handler in context.application.handlers.get(DEFAULT_GROUP, []):
        check = handler.check_update(update)
        if check is not None and check is not False:  # as the application itself decides
            raise ApplicationHandlerStop


def addressed_to_bot(message: Message, bot: Bot) -> bool:
    """Whether a group message speaks to this bot: a reply to it, or its @username in it."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
        return True
    return _mention(bot).search(message.text or message.caption or "") is not None


def _mention(bot: Bot) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)@{re.escape(bot.username)}\b", re.IGNORECASE)


async def plain_text(update: Update, context: CaseContext) -> None:
    """Text that is no command: a /find in a private chat, or in a group when addressed."""
    message = update.message
    assert message is not None and message.text is not None
    text = message.text
    if message.chat.type != message.chat.PRIVATE:
        if not addressed_to_bot(message, context.bot):
            return
        text = _mention(context.bot).sub(" ", text)
    if not text.strip():
        await reply(update, t(language(update), "conversation.hint"))
        return
    try:
        query = parse_query(text)
    except BadArguments as error:
        await reply_usage(update, "find", error, language(update))
        return
    await find_people(update, context, query, hint=True)


async def unknown_command(update: Update, context: CaseContext) -> None:
    """A command the bot does not have: point to /help (in a group, only if addressed)."""
    message = update.message
    assert message is not None and message.text is not None
    _, _, addressee = message.text.split(maxsplit=1)[0].partition("@")
    if message.chat.type != message.chat.PRIVATE and (
        addressee.lower() != context.bot.username.lower()
    ):
        return  # meant for another bot, or for nobody in particular
    await reply(update, t(language(update), "conversation.unknown_command"))


async def edited_message(update: Update, context: CaseContext) -> None:
    """An edit is never run again; in a private chat, say so (in a group, stay quiet)."""
    message = update.edited_message
    if message is not None and message.chat.type == message.chat.PRIVATE:
        await reply(update, t(language(update), "conversation.edited"))


async def other_message(update: Update, context: CaseContext) -> None:
    """A sticker, a photo, a file nobody asked for, in a private chat: how to use the bot."""
    await reply(update, t(language(update), "conversation.hint"))


async def stale_button(update: Update, context: CaseContext) -> None:
    """A button whose data no handler knows (an old message, or forged): say so."""
    query = update.callback_query
    assert query is not None
    await query.answer(t(language(update), "conversation.stale_button"))
