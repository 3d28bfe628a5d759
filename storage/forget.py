"""Forgetting chats: at their own request (/forget), or long after they left (the purge)."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Chat, Delivery, NameWatch, Subscription


@dataclass(frozen=True)
class ForgottenChats:
    """What was deleted: how many chats (their settings), follows, name watches and
    deliveries (pending, sent and failed alike)."""

    chats: int
    follows: int
    name_watches: int
    deliveries: int

    @property
    def anything(self) -> bool:
        return bool(self.chats + self.follows + self.name_watches + self.deliveries)


async def forget_chat(*, session: AsyncSession, chat_id: int) -> ForgottenChats:
    """Delete everything stored about one chat, in the caller's transaction.

    The chat's row is locked first (on PostgreSQL): a fan-out adding a delivery for it waits
    until this commits, then fails on the missing chat and is retried without it. A
    delivery being sent meanwhile is settled by updates that find no row, which is all they
    do: nothing recreates the chat.
    """
    await session.exec(select(Chat.id).where(col(Chat.id) == chat_id).with_for_update())
    return await delete_chats(session=session, chat_ids=[chat_id])


async def delete_chats(*, session: AsyncSession, chat_ids: Sequence[int]) -> ForgottenChats:
    """Delete these chats with their follows, name watches and deliveries."""
    follows = await session.exec(
        delete(Subscription).where(col(Subscription.chat_id).in_(chat_ids))
    )
    watches = await session.exec(delete(NameWatch).where(col(NameWatch.chat_id).in_(chat_ids)))
    deliveries = await session.exec(delete(Delivery).where(col(Delivery.chat_id).in_(chat_ids)))
    chats = await session.exec(delete(Chat).where(col(Chat.id).in_(chat_ids)))
    return ForgottenChats(
        chats=chats.rowcount or 0,
        follows=follows.rowcount or 0,
        name_watches=watches.rowcount or 0,
        deliveries=deliveries.rowcount or 0,
    )
