"""/remind: when a chat is reminded before the hearings of the people it follows."""

from telegram import Update

from handlers.context import CaseContext, command_args, language
from handlers.parsing import BadArguments, parse_offsets
from handlers.render import render_reminder_offsets
from handlers.replies import reply, reply_usage
from storage.engine import session_scope
from storage.reminders import reminder_offsets, set_reminder_offsets


async def remind(update: Update, context: CaseContext) -> None:
    """`/remind 7d,1d,1h` sets when this chat is reminded; `/remind off`; `/remind` shows it."""
    lang, text, chat = language(update), command_args(update), update.effective_chat
    assert chat is not None
    try:
        offsets = parse_offsets(text) if text else None
    except BadArguments as error:
        await reply_usage(update, "remind", error, lang)
        return
    async with session_scope(context.services.engine) as session:
        if offsets is None:
            offsets = await reminder_offsets(session=session, chat_id=chat.id)
        else:
            await set_reminder_offsets(
                session=session, chat_id=chat.id, kind=chat.type, language=lang, offsets=offsets
            )
    await reply(update, render_reminder_offsets(offsets, lang))
