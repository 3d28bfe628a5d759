"""Name watches: a chat waiting for a name nobody has entered yet.

A watch matches a person when /find with the watched name would list them: the name is
searched (`NameIndex`, typos and other scripts included) among that person's spellings
alone. So "Qaisha" matches "Kaisha Aqan" and "Қайша Ақан"; a full name "Kaisha Aqan" needs
both of its words found, and does not match "Kaisha Nurova". Only public people match, and
only when they are added (`person_added`); each chat is told about a person once (the
outbox keeps one delivery per event and chat). A watch lasts WATCH_LENGTH, then ends with
a note (bot/name_watches.py); an ended watch is forgotten KEEP_ENDED later.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, delete, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import insert_or_ignore
from storage.models import Chat, NameWatch, Person, Visibility
from storage.names import NameIndex, name_key
from storage.people import spellings_of

WATCH_LENGTH = timedelta(days=90)
KEEP_ENDED = timedelta(days=30)
# Active watches one chat may hold: enough for a family or a newsroom, not for a flood.
MAX_WATCHES = 20


class WatchStart(StrEnum):
    STARTED = "started"
    ALREADY = "already"
    TOO_MANY = "too_many"


@dataclass(frozen=True)
class DueWatch:
    """A watch whose time is up, and the chat to tell."""

    watch: NameWatch
    chat: Chat


def _active() -> ColumnElement[bool]:
    return col(NameWatch.ended_at).is_(None)


def _on(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """A watch still on: not ended, and its time not up (the job may not have ended it yet)."""
    return _active(), col(NameWatch.expires_at) > now


async def start_watch(
    *, session: AsyncSession, chat_id: int, name: str, now: datetime
) -> tuple[WatchStart, NameWatch | None]:
    """Watch for `name` from now for WATCH_LENGTH (an ended watch for it starts again).

    Conditional statements, so that two presses at once make one watch."""
    key = name_key(name)
    mine = (col(NameWatch.chat_id) == chat_id, col(NameWatch.key) == key)
    watch = (await session.exec(select(NameWatch).where(*mine))).first()
    if watch is not None and watch.ended_at is None:
        return WatchStart.ALREADY, watch
    count = select(func.count()).select_from(NameWatch).where(NameWatch.chat_id == chat_id)
    if (await session.exec(count.where(_active()))).one() >= MAX_WATCHES:
        return WatchStart.TOO_MANY, None
    fresh = {"name": name, "created_at": now, "expires_at": now + WATCH_LENGTH}
    started = await session.exec(
        insert_or_ignore(session, NameWatch).values(chat_id=chat_id, key=key, **fresh)
    )
    if not started.rowcount:
        started = await session.exec(
            update(NameWatch)
            .where(*mine, col(NameWatch.ended_at).is_not(None))
            .values(ended_at=None, **fresh)
        )
    watch = (
        await session.exec(
            select(NameWatch).where(*mine).execution_options(populate_existing=True)
        )
    ).one()
    return (WatchStart.STARTED if started.rowcount else WatchStart.ALREADY), watch


async def active_watches(*, session: AsyncSession, chat_id: int) -> list[NameWatch]:
    """The chat's watches still on, by name."""
    statement = (
        select(NameWatch)
        .where(NameWatch.chat_id == chat_id, _active())
        .order_by(col(NameWatch.name), col(NameWatch.id))
    )
    return list((await session.exec(statement)).all())


async def end_watch(
    *, session: AsyncSession, chat_id: int, watch_id: int, now: datetime
) -> NameWatch | None:
    """End one of the chat's watches; None if it has none such on (ended already, or not
    its own)."""
    ended = await session.exec(
        update(NameWatch)
        .where(col(NameWatch.id) == watch_id, col(NameWatch.chat_id) == chat_id, _active())
        .values(ended_at=now)
    )
    if not ended.rowcount:
        return None
    return await session.get(NameWatch, watch_id, populate_existing=True)


def _matcher(spellings: Sequence[str]) -> NameIndex:
    """An index of one person's spellings, to search watched names in."""
    index = NameIndex()
    for spelling in spellings:
        index.add(0, spelling)
    return index


async def watching_chats(*, session: AsyncSession, person_id: int, now: datetime) -> list[int]:
    """The active chats with a watch on that matches a person just added (public only).

    Every watch on is read and searched (a few microseconds each): watches are few, and
    people are added one at a time."""
    person = await session.get(Person, person_id)
    if person is None or person.visibility != Visibility.PUBLIC:
        return []
    index = _matcher(await spellings_of(session=session, person_id=person_id))
    rows = await session.exec(
        select(NameWatch.chat_id, NameWatch.name)
        .join(Chat, col(Chat.id) == col(NameWatch.chat_id))
        .where(*_on(now), col(Chat.active).is_(True))
    )
    return sorted({chat_id for chat_id, name in rows.all() if index.search(name, limit=1)})


async def watched_names(
    *,
    session: AsyncSession,
    found: Sequence[tuple[int, int]],
    spellings: Mapping[int, Sequence[str]],
    now: datetime,
) -> dict[tuple[int, int], str]:
    """For (chat id, person id) pairs, the chat's watched name that the person (whose
    `spellings` are given) matches, the first by name, where a watch still on does: what a
    push about a person just added says."""
    if not found:
        return {}
    rows = await session.exec(
        select(NameWatch)
        .where(col(NameWatch.chat_id).in_({chat_id for chat_id, _ in found}), *_on(now))
        .order_by(col(NameWatch.name))
    )
    watches: dict[int, list[str]] = {}
    for watch in rows.all():
        watches.setdefault(watch.chat_id, []).append(watch.name)
    if not watches:
        return {}
    indexes = {person_id: _matcher(spellings.get(person_id, ())) for _, person_id in found}
    names: dict[tuple[int, int], str] = {}
    for chat_id, person_id in found:
        matched = [
            name for name in watches.get(chat_id, []) if indexes[person_id].search(name, limit=1)
        ]
        if matched:
            names[(chat_id, person_id)] = matched[0]
    return names


async def due_watches(*, session: AsyncSession, now: datetime, limit: int) -> list[DueWatch]:
    """Watches on whose time is up, the longest overdue first."""
    rows = await session.exec(
        select(NameWatch, Chat)
        .join(Chat, col(Chat.id) == col(NameWatch.chat_id))
        .where(_active(), col(NameWatch.expires_at) <= now)
        .order_by(col(NameWatch.expires_at), col(NameWatch.id))
        .limit(limit)
    )
    return [DueWatch(watch=watch, chat=chat) for watch, chat in rows.all()]


async def mark_ended(*, session: AsyncSession, watch_id: int, now: datetime) -> None:
    await session.exec(
        update(NameWatch).where(col(NameWatch.id) == watch_id, _active()).values(ended_at=now)
    )


async def forget_ended_watches(*, session: AsyncSession, now: datetime) -> int:
    """Forget the watches ended longer than KEEP_ENDED ago; returns how many."""
    result = await session.exec(
        delete(NameWatch).where(
            and_(col(NameWatch.ended_at).is_not(None), col(NameWatch.ended_at) < now - KEEP_ENDED)
        )
    )
    return int(result.rowcount or 0)
