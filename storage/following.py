"""Subscriber chats and what they follow."""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Chat, Person, Subscription, SubscriptionScope, Visibility
from storage.timeline import insert_ignoring_conflicts


@dataclass(frozen=True)
class Following:
    """One subscription of a chat: a person, or everyone (`person` is None)."""

    subscription: Subscription
    person: Person | None


async def ensure_chat(*, session: AsyncSession, chat_id: int, kind: str, language: str) -> Chat:
    """The subscriber chat, created on first contact (in the language of that contact)."""
    chat = await session.get(Chat, chat_id)
    if chat is None:
        chat = Chat(id=chat_id, kind=kind, language=language)
        session.add(chat)
        await session.flush()
    elif not chat.active:
        chat.active, chat.deactivated_at = True, None
        session.add(chat)
    return chat


async def subscribe(*, session: AsyncSession, chat_id: int, person_id: int | None) -> bool:
    """Follow one person, or everyone with `person_id=None`; False if already followed.

    One statement that a unique index guards (for everyone, `uq_subscription_all`), so two
    requests at once make one follow, on SQLite and PostgreSQL alike.
    """
    scope = SubscriptionScope.ALL if person_id is None else SubscriptionScope.PERSON
    row = {"chat_id": chat_id, "scope": scope, "person_id": person_id}
    return await insert_ignoring_conflicts(session, Subscription, [row]) == 1


async def unsubscribe(*, session: AsyncSession, chat_id: int, person_id: int | None) -> bool:
    """Stop following; False if the chat did not follow that (or a request at once did it)."""
    result = await session.exec(delete(Subscription).where(_following(chat_id, person_id)))
    return bool(result.rowcount)


async def followings(
    *, session: AsyncSession, chat_id: int, include_restricted: bool = False
) -> list[Following]:
    """What a chat follows: `all` first, then people by name (restricted people only if
    `include_restricted`: a follow from before they were restricted stays, unshown)."""
    statement = (
        select(Subscription, Person)
        .join(Person, col(Subscription.person_id) == col(Person.id), isouter=True)
        .where(Subscription.chat_id == chat_id)
        .order_by(col(Subscription.scope), col(Person.name))
    )
    if not include_restricted:
        statement = statement.where(
            or_(col(Person.id).is_(None), col(Person.visibility) == Visibility.PUBLIC)
        )
    rows = (await session.exec(statement)).all()
    return [Following(subscription=s, person=p) for s, p in rows]


def _following(chat_id: int, person_id: int | None) -> ColumnElement[bool]:
    """The subscription of a chat to a person, or to everyone when `person_id` is None."""
    if person_id is None:
        return and_(
            col(Subscription.chat_id) == chat_id, col(Subscription.scope) == SubscriptionScope.ALL
        )
    return and_(col(Subscription.chat_id) == chat_id, col(Subscription.person_id) == person_id)


async def is_following(*, session: AsyncSession, chat_id: int, person_id: int) -> bool:
    found = select(Subscription.id).where(_following(chat_id, person_id)).limit(1)
    return (await session.exec(found)).first() is not None


async def set_quiet_hours(*, session: AsyncSession, chat: Chat, quiet_hours: str | None) -> None:
    """`22:00-07:00`: non-urgent pushes wait until the end; None: no quiet hours."""
    chat.quiet_hours = quiet_hours
    session.add(chat)


async def set_language(*, session: AsyncSession, chat: Chat, language: str) -> None:
    """The language the chat is answered and told of changes in."""
    chat.language = language
    session.add(chat)


async def set_digest_hour(*, session: AsyncSession, chat: Chat, digest_hour: int | None) -> None:
    """A daily digest at that hour instead of instant pushes; None: instant pushes."""
    chat.digest_hour = digest_hour
    session.add(chat)
