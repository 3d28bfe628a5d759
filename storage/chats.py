"""A chat's life with the bot: it leaves (blocked, removed from a group), comes back, or is
forgotten after a long absence.

While a chat is away its follows and settings are kept, so that coming back restores them;
`purge_departed_chats` forgets the chats that have been away longer than that.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.forget import delete_chats
from storage.models import Chat
from storage.outbox import deactivate_chat

# How long the follows and settings of a chat that left are kept for its return.
KEEP_DEPARTED = timedelta(days=90)


async def chat_left(*, session: AsyncSession, chat_id: int, now: datetime, reason: str) -> None:
    """The bot was blocked or removed: nothing more is sent there, and nothing owed is kept.

    `deactivated_at` keeps the first departure, however often Telegram repeats the news.
    """
    await session.exec(
        update(Chat)
        .where(col(Chat.id) == chat_id)
        .values(active=False, deactivated_at=func.coalesce(col(Chat.deactivated_at), now))
    )
    await deactivate_chat(session=session, chat_id=chat_id, error=reason)


async def chat_returned(*, session: AsyncSession, chat_id: int) -> None:
    """The chat may be written to again, with its follows and settings as they were
    (a chat the bot does not know, or has forgotten, stays unknown until it follows someone).
    """
    await session.exec(
        update(Chat)
        .where(col(Chat.id) == chat_id, col(Chat.active).is_(False))
        .values(active=True, deactivated_at=None)
    )


async def chat_language(*, session: AsyncSession, chat_id: int) -> str | None:
    """The chat's stored language; None for a chat the bot does not know."""
    found = await session.exec(select(Chat.language).where(col(Chat.id) == chat_id))
    return found.first()


async def purge_departed_chats(
    *, session: AsyncSession, now: datetime, keep: timedelta = KEEP_DEPARTED
) -> int:
    """Forget the chats away for longer than `keep`: follows, name watches, settings, what
    was sent there.

    Returns how many chats were forgotten.
    """
    # A chat deactivated before departures were dated starts its time away now.
    await session.exec(
        update(Chat)
        .where(col(Chat.active).is_(False), col(Chat.deactivated_at).is_(None))
        .values(deactivated_at=now)
    )
    departed = select(Chat.id).where(
        col(Chat.active).is_(False), col(Chat.deactivated_at) < now - keep
    )
    chat_ids = list((await session.exec(departed)).all())
    if not chat_ids:
        return 0
    await delete_chats(session=session, chat_ids=chat_ids)
    return len(chat_ids)
