"""Follows of a court or a city, kinds of change and mute: who is told, in one statement, and
the /subscriptions buttons that change them (SQLite and PostgreSQL alike)."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from storage.engine import session_scope
from storage.following import (
    ensure_chat,
    follow_place,
    followed_person_ids,
    subscribe,
)
from storage.models import (
    Admin,
    Chat,
    Delivery,
    EventKind,
    Role,
    Subscription,
    SubscriptionScope,
    Visibility,
)
from storage.outbox import expand_due_events
from storage.people import add_case, add_hearing, add_person, current_case
from storage.reminders import queue_due_reminders
from storage.timeline import record_change

NOW = datetime(2030, 3, 1, 5, 0, tzinfo=UTC)
COURT, CITY = "Zharkent district court", "Zharkent"
EDITOR_ID = 5001
COURT_FOLLOWERS = 2_000


async def _person_at(
    engine: AsyncEngine, name: str, court: str = COURT, city: str = CITY, **fields: Any
) -> int:
    """A person with a case at `court` in `city`, added quietly (no push)."""
    async with session_scope(engine) as session:
        person = await add_person(session=session, name=name, actor_id=1, pushed=False, **fields)
        assert person.id is not None
        await add_case(session=session, person_id=person.id, court=court, city=city)
        return person.id


async def _follow(
    engine: AsyncEngine,
    chat_id: int,
    *,
    person_id: int | None = None,
    scope: SubscriptionScope = SubscriptionScope.PERSON,
    place: str | None = None,
    kinds: str | None = None,
    muted: bool = False,
    kind: str = "private",
) -> None:
    async with session_scope(engine) as session:
        await ensure_chat(session=session, chat_id=chat_id, kind=kind, language="en")
        if place is not None:
            await follow_place(session=session, chat_id=chat_id, scope=scope, place=place)
        else:
            all_people = scope == SubscriptionScope.ALL
            await subscribe(
                session=session, chat_id=chat_id, person_id=None if all_people else person_id
            )
        rows = await session.exec(select(Subscription).where(col(Subscription.chat_id) == chat_id))
        for subscription in rows.all():
            if subscription.scope == scope:
                subscription.kinds, subscription.muted = kinds, muted
                session.add(subscription)


async def _told(engine: AsyncEngine, person_id: int, kind: EventKind) -> set[int]:
    """The chats a change of `kind` about the person reaches."""
    async with session_scope(engine) as session:
        change = await record_change(
            session=session,
            person_id=person_id,
            kind=kind,
            old=None,
            new={"text": "x"},
            actor_id=1,
        )
        assert change is not None
    async with session_scope(engine) as session:
        await expand_due_events(session=session, now=datetime.now(UTC) + timedelta(hours=1))
    async with session_scope(engine) as session:
        chats = await session.exec(
            select(Delivery.chat_id).where(col(Delivery.event_id) == change.id)
        )
        return set(chats.all())


async def test_a_court_or_city_follow_reaches_people_there_added_before_or_after(
    engine: AsyncEngine,
) -> None:
    before = await _person_at(engine, "Qaisha Aqan")
    elsewhere = await _person_at(engine, "Sairagul Sauytbay", court="Almaty court", city="Almaty")
    await _follow(engine, 1, scope=SubscriptionScope.COURT, place=COURT)
    await _follow(engine, 2, scope=SubscriptionScope.CITY, place=CITY)
    await _follow(engine, 3, scope=SubscriptionScope.CITY, place="Almaty")
    after = await _person_at(engine, "Murager Alimuly")

    assert await _told(engine, before, EventKind.NOTE) == {1, 2}
    assert await _told(engine, after, EventKind.NOTE) == {1, 2}
    assert await _told(engine, elsewhere, EventKind.NOTE) == {3}


async def test_kinds_and_mute_choose_what_a_follow_hears(engine: AsyncEngine) -> None:
    person_id = await _person_at(engine, "Qaisha Aqan")
    await _follow(engine, 1, scope=SubscriptionScope.COURT, place=COURT, kinds="hearings")
    await _follow(engine, 2, scope=SubscriptionScope.CITY, place=CITY, kinds="asylum,notes")
    await _follow(engine, 3, scope=SubscriptionScope.ALL, muted=True)
    await _follow(engine, 4, person_id=person_id)

    assert await _told(engine, person_id, EventKind.ASYLUM_CHANGED) == {2, 4}
    assert await _told(engine, person_id, EventKind.HEARING_MOVED) == {1, 4}
    assert await _told(engine, person_id, EventKind.VERDICT) == {4}
    # A person added: for everyone following where they are, whatever kinds they chose.
    assert await _told(engine, person_id, EventKind.PERSON_ADDED) == {1, 2, 4}


async def test_a_follow_by_name_decides_over_a_court_city_or_everyone(engine: AsyncEngine) -> None:
    person_id = await _person_at(engine, "Qaisha Aqan")
    # Muted by name, but the city is followed: the person stays muted.
    await _follow(engine, 1, person_id=person_id, muted=True)
    await _follow(engine, 1, scope=SubscriptionScope.CITY, place=CITY)
    # Only hearings by name, everything from everyone: only hearings.
    await _follow(engine, 2, person_id=person_id, kinds="hearings")
    await _follow(engine, 2, scope=SubscriptionScope.ALL)
    # Muted court, but followed by name: told.
    await _follow(engine, 3, scope=SubscriptionScope.COURT, place=COURT, muted=True)
    await _follow(engine, 3, person_id=person_id)

    assert await _told(engine, person_id, EventKind.ASYLUM_CHANGED) == {3}
    assert await _told(engine, person_id, EventKind.HEARING_SET) == {2, 3}


async def test_a_restricted_person_reaches_only_editors_following_them_by_name(
    engine: AsyncEngine,
) -> None:
    person_id = await _person_at(engine, "Qaisha Aqan", visibility=Visibility.RESTRICTED)
    async with session_scope(engine) as session:
        session.add(Admin(user_id=EDITOR_ID, role=Role.EDITOR))
    await _follow(engine, EDITOR_ID, person_id=person_id)
    await _follow(engine, EDITOR_ID, scope=SubscriptionScope.COURT, place=COURT)
    await _follow(engine, 2, scope=SubscriptionScope.COURT, place=COURT)
    await _follow(engine, 3, person_id=person_id)

    assert await _told(engine, person_id, EventKind.NOTE) == {EDITOR_ID}


async def test_the_people_a_chat_follows_by_any_kind_of_follow(engine: AsyncEngine) -> None:
    qaisha = await _person_at(engine, "Qaisha Aqan")
    sairagul = await _person_at(engine, "Sairagul Sauytbay", court="Almaty court", city="Almaty")
    hidden = await _person_at(engine, "Hidden", visibility=Visibility.RESTRICTED)
    await _follow(engine, 1, scope=SubscriptionScope.CITY, place=CITY, muted=True)
    await _follow(engine, 1, person_id=hidden)
    await _follow(engine, 2, scope=SubscriptionScope.ALL)
    later = await _person_at(engine, "Murager Alimuly")

    async with session_scope(engine) as session:
        by_city = set(
            (await session.exec(followed_person_ids(chat_id=1, include_restricted=False))).all()
        )
        with_hidden = set(
            (await session.exec(followed_person_ids(chat_id=1, include_restricted=True))).all()
        )
        everyone = set(
            (await session.exec(followed_person_ids(chat_id=2, include_restricted=True))).all()
        )
    assert by_city == {qaisha, later}
    assert with_hidden == {qaisha, later, hidden}
    assert everyone == {qaisha, sairagul, later}


async def test_reminders_reach_court_followers_who_want_hearings_and_are_not_muted(
    engine: AsyncEngine,
) -> None:
    person_id = await _person_at(engine, "Qaisha Aqan")
    async with session_scope(engine) as session:
        case = await current_case(session=session, person_id=person_id)
        assert case is not None and case.id is not None
        await add_hearing(session=session, case_id=case.id, starts_at=NOW + timedelta(minutes=30))
    await _follow(engine, 1, scope=SubscriptionScope.COURT, place=COURT)
    await _follow(engine, 2, scope=SubscriptionScope.CITY, place=CITY, muted=True)
    await _follow(engine, 3, scope=SubscriptionScope.COURT, place=COURT, kinds="asylum")
    await _follow(engine, 4, scope=SubscriptionScope.CITY, place=CITY, kinds="notes,hearings")

    async with session_scope(engine) as session:
        assert await queue_due_reminders(session=session, now=NOW) == 2
        reminded = await session.exec(select(Delivery.chat_id))
        assert set(reminded.all()) == {1, 4}


@contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements run on `engine` meanwhile."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_fan_out_to_a_court_with_many_followers_is_one_insert_select(
    engine: AsyncEngine,
) -> None:
    person_id = await _person_at(engine, "Qaisha Aqan")
    chats = range(1, COURT_FOLLOWERS + 1)
    async with session_scope(engine) as session:
        await session.exec(insert(Chat).values([{"id": c, "kind": "private"} for c in chats]))
        await session.exec(
            insert(Subscription).values(
                [
                    {"chat_id": c, "scope": "court", "place": COURT, "muted": c % 10 == 0}
                    for c in chats
                ]
            )
        )
    async with session_scope(engine) as session:
        await record_change(
            session=session,
            person_id=person_id,
            kind=EventKind.NOTE,
            old=None,
            new={"text": "x"},
            actor_id=1,
        )
    async with session_scope(engine) as session:
        with _statements(engine) as seen:
            created = await expand_due_events(
                session=session, now=datetime.now(UTC) + timedelta(hours=1)
            )
    inserts = [s for s in seen if s.lstrip().upper().startswith("INSERT")]
    assert created == COURT_FOLLOWERS - COURT_FOLLOWERS // 10
    assert len(inserts) == 1 and "SELECT" in inserts[0].upper()
    assert not any(
        s.lstrip().upper().startswith("INSERT INTO DELIVERY") for s in seen if s is not inserts[0]
    )
