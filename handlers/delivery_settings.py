"""How a chat wants its pushes: /quiet hours, a daily /digest."""

from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from handlers.context import CaseContext, command_args, language
from handlers.i18n import t
from handlers.parsing import BadArguments, parse_digest_hour, parse_quiet_hours
from handlers.replies import reply, reply_usage
from storage.engine import session_scope
from storage.following import ensure_chat, set_digest_hour, set_quiet_hours
from storage.models import Chat


async def quiet(update: Update, context: CaseContext) -> None:
    """`/quiet 22-07` holds non-urgent pushes at night; `/quiet off`; `/quiet` shows it."""
    await _chat_setting(update, context, "quiet", _apply_quiet)


async def digest(update: Update, context: CaseContext) -> None:
    """`/digest 20` gathers the day's pushes at 20:00; `/digest off`; `/digest` shows it."""
    await _chat_setting(update, context, "digest", _apply_digest)


Apply = Callable[[AsyncSession, Chat, str], Awaitable[None]]


async def _apply_quiet(session: AsyncSession, chat: Chat, text: str) -> None:
    await set_quiet_hours(session=session, chat=chat, quiet_hours=parse_quiet_hours(text))


async def _apply_digest(session: AsyncSession, chat: Chat, text: str) -> None:
    await set_digest_hour(session=session, chat=chat, digest_hour=parse_digest_hour(text))


async def _chat_setting(update: Update, context: CaseContext, name: str, apply: Apply) -> None:
    """Show the setting, or change it; bad input changes nothing."""
    lang, text, tg_chat = language(update), command_args(update), update.effective_chat
    assert tg_chat is not None
    try:
        async with session_scope(context.services.engine) as session:
            chat = await ensure_chat(
                session=session, chat_id=tg_chat.id, kind=tg_chat.type, language=lang
            )
            if text:
                await apply(session, chat, text)
            shown = _describe(name, chat, lang)
    except BadArguments as error:
        await reply_usage(update, name, error, lang)
        return
    await reply(update, shown)


def _describe(name: str, chat: Chat, language: str) -> str:
    if name == "quiet":
        if chat.quiet_hours is None:
            return t(language, "quiet.off")
        return t(language, "quiet.on", hours=chat.quiet_hours)
    if chat.digest_hour is None:
        return t(language, "digest.off")
    return t(language, "digest.on", hour=f"{chat.digest_hour:02d}:00")
