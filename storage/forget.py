"""/forget: everything stored about one chat, deleted at its own request."""

from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Chat, Delivery, NameWatch, Subscription


@dataclass(frozen=True)
class ForgottenChat:
    """What was deleted: how many follows, name watches and deliveries (pending, sent and
    failed alike), and whether there were settings (the chat's own row)."""

    follows: int
    name_watches: int
    deliveries: int
    settings: bool

    @property
    def anything(self) -> bool:
        return self.settings or bool(self.follows + self.name_watches + self.deliveries)


async def forget_chat(*, session: AsyncSession, chat_id: int) -> ForgottenChat:
    """Delete the chat's follows, name watches, deliveries and settings, in the caller's
    transaction.

    The chat's row is locked first (on PostgreSQL): a fan-out adding a delivery for it waits
    until this commits, then fails on the missing chat and is retried without it. A
    delivery being sent meanwhile is settled by updates that find no row, which is all they
    do: nothing recreates the chat.
    """
    locked = select(Chat.id).where(col(Chat.id) == chat_id).with_for_update()
    settings = (await session.exec(locked)).first() is not None
    follows = await session.exec(delete(Subscription).where(col(Subscription.chat_id) == chat_id))
    watches = await session.exec(delete(NameWatch).where(col(NameWatch.chat_id) == chat_id))
    deliveries = await session.exec(delete(Delivery).where(col(Delivery.chat_id) == chat_id))
    await session.exec(delete(Chat).where(col(Chat.id) == chat_id))
    return ForgottenChat(
        follows=follows.rowcount or 0,
        name_watches=watches.rowcount or 0,
        deliveries=deliveries.rowcount or 0,
        settings=settings,
    )
