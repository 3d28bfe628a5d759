"""Hearing reminders: the right followers, at their offsets, each reminder once (SQLite and
PostgreSQL alike)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from storage.engine import create_engine, session_scope
from storage.following import ensure_chat, subscribe
from storage.models import (
    Admin,
    Delivery,
    Event,
    Hearing,
    HearingStatus,
    Person,
    Role,
    Visibility,
)
from storage.outbox import expand_due_events
from storage.people import add_case, add_hearing, add_person, load_person_card
from storage.reminders import (
    chat_offsets,
    due_offset,
    queue_due_reminders,
    reminder_offsets,
    set_reminder_offsets,
    stored_offsets,
)
from storage.timeline import load_value
from tests.factories import change_hearing

NOW = datetime(2030, 3, 1, 5, 0, tzinfo=UTC)
HEARING = NOW + timedelta(days=10)
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
GROUP = -1001234567890123
ZONE = ZoneInfo("Asia/Almaty")


async def _person(engine: AsyncEngine, name: str = "Qaisha Aqan", **fields: object) -> int:
    async with session_scope(engine) as session:
        person = await add_person(session=session, name=name, actor_id=1, pushed=False, **fields)
        assert person.id is not None
        return person.id


async def _hearing(engine: AsyncEngine, person_id: int, starts_at: datetime) -> int:
    async with session_scope(engine) as session:
        case = await add_case(
            session=session, person_id=person_id, court="Zharkent district court"
        )
        assert case.id is not None
        hearing = await add_hearing(session=session, case_id=case.id, starts_at=starts_at)
        assert hearing.id is not None
        return hearing.id


async def _change(engine: AsyncEngine, hearing_id: int, **fields: object) -> None:
    async with session_scope(engine) as session:
        hearing = await session.get(Hearing, hearing_id)
        assert hearing is not None
        for name, value in fields.items():
            setattr(hearing, name, value)
        session.add(hearing)


async def _chat(
    engine: AsyncEngine, chat_id: int, person_id: int | None, offsets: str | None = None
) -> None:
    """A chat following `person_id` (everyone with None), with these reminder offsets."""
    async with session_scope(engine) as session:
        chat = await ensure_chat(session=session, chat_id=chat_id, kind="private", language="en")
        if offsets is not None:
            chat.reminder_offsets = offsets
            session.add(chat)
        await subscribe(session=session, chat_id=chat_id, person_id=person_id)


async def _scan(engine: AsyncEngine, *moments: datetime) -> int:
    """Run the scan at each moment (each in its own transaction); deliveries queued."""
    queued = 0
    for moment in moments:
        async with session_scope(engine) as session:
            queued += await queue_due_reminders(session=session, now=moment)
    return queued


async def _reminders(engine: AsyncEngine, chat_id: int) -> list[tuple[str, datetime]]:
    """(offset, hearing start) of each reminder owed to the chat, in the order written."""
    async with session_scope(engine) as session:
        rows = await session.exec(
            select(Event)
            .join(Delivery, col(Delivery.event_id) == col(Event.id))
            .where(col(Delivery.chat_id) == chat_id, col(Event.kind) == "reminder")
            .order_by(col(Event.id))
        )
        values = [load_value(event.new_value) for event in rows.all()]
    return [(v["offset"], datetime.fromisoformat(v["starts_at"])) for v in values]


def _offsets(reminders: list[tuple[str, datetime]]) -> list[str]:
    return [offset for offset, _ in reminders]


# --- which offset is due -----------------------------------------------------------------


def test_due_offset_is_the_nearest_one_whose_moment_has_come() -> None:
    offsets = (7 * DAY, DAY, HOUR)
    assert due_offset(offsets, 8 * DAY) is None
    assert due_offset(offsets, 7 * DAY) == 7 * DAY
    assert due_offset(offsets, 3 * DAY) == 7 * DAY
    assert due_offset(offsets, DAY - MINUTE) == DAY
    assert due_offset(offsets, 30 * MINUTE) == HOUR  # not 7 d, 1 d and 1 h all at once
    assert due_offset((), 30 * MINUTE) is None


def test_stored_offsets_read_back_canonically() -> None:
    assert stored_offsets([HOUR, 7 * DAY, DAY, HOUR]) == "7d,1d,1h"
    assert stored_offsets([90 * MINUTE, 24 * HOUR]) == "1d,90m"
    assert stored_offsets([]) == ""
    assert chat_offsets("1d,1h") == (DAY, HOUR)
    assert chat_offsets("60m, 2h") == (2 * HOUR, HOUR)
    assert chat_offsets("off") == () and chat_offsets("") == ()
    assert chat_offsets("1d,nonsense,31d,1m") == (DAY,)  # what cannot be read is ignored


async def test_offsets_of_a_chat_are_set_and_shown(engine: AsyncEngine) -> None:
    async with session_scope(engine) as session:
        assert await reminder_offsets(session=session, chat_id=5) == (DAY, HOUR)  # default
        await set_reminder_offsets(
            session=session, chat_id=5, kind="private", language="ru", offsets=[HOUR, 7 * DAY]
        )
    async with session_scope(engine) as session:
        assert await reminder_offsets(session=session, chat_id=5) == (7 * DAY, HOUR)
        await set_reminder_offsets(
            session=session, chat_id=5, kind="private", language="ru", offsets=[]
        )
    async with session_scope(engine) as session:
        assert await reminder_offsets(session=session, chat_id=5) == ()


# --- the scan ------------------------------------------------------------------------------


async def test_following_chat_is_reminded_at_each_offset_once_however_often_it_scans(
    engine: AsyncEngine,
) -> None:
    person_id = await _person(engine)
    await _hearing(engine, person_id, HEARING)
    await _chat(engine, 1, person_id, "7d,1d,1h")
    moments = [
        NOW,
        HEARING - 7 * DAY - MINUTE,
        HEARING - 7 * DAY,
        HEARING - 7 * DAY + 30 * MINUTE,
        HEARING - 3 * DAY,
        HEARING - DAY,
        HEARING - DAY + MINUTE,
        HEARING - 2 * HOUR,
        HEARING - HOUR + 10 * MINUTE,
        HEARING - MINUTE,
        HEARING,
        HEARING + HOUR,
    ]
    for moment in moments:
        await _scan(engine, moment, moment)
    assert await _reminders(engine, 1) == [
        ("7d", HEARING),
        ("1d", HEARING),
        ("1h", HEARING),
    ]


async def test_reminder_moment_is_inclusive_and_not_a_minute_early(engine: AsyncEngine) -> None:
    person_id = await _person(engine)
    await _hearing(engine, person_id, HEARING)
    await _chat(engine, 1, person_id, "1h")
    assert await _scan(engine, HEARING - HOUR - MINUTE) == 0
    assert await _scan(engine, HEARING - HOUR) == 1


async def test_chat_with_reminders_off_a_stranger_and_a_gone_chat_get_none(
    engine: AsyncEngine,
) -> None:
    person_id = await _person(engine)
    other_id = await _person(engine, name="Murager Alimuly")
    await _hearing(engine, person_id, HEARING)
    await _chat(engine, 1, person_id)  # the default: 1 d and 1 h
    await _chat(engine, 2, person_id, "")
    await _chat(engine, 3, person_id, "off")
    await _chat(engine, 4, other_id)  # follows someone else
    await _chat(engine, 5, person_id)
    async with session_scope(engine) as session:
        await ensure_chat(session=session, chat_id=6, kind="private", language="en")  # nobody
        gone = await ensure_chat(session=session, chat_id=5, kind="private", language="en")
        gone.active = False
        session.add(gone)
    await _scan(engine, HEARING - DAY, HEARING - HOUR)
    assert _offsets(await _reminders(engine, 1)) == ["1d", "1h"]
    for chat_id in (2, 3, 4, 5, 6):
        assert await _reminders(engine, chat_id) == []


async def test_moved_hearing_reminds_at_its_new_time_only(engine: AsyncEngine) -> None:
    person_id = await _person(engine)
    hearing_id = await _hearing(engine, person_id, HEARING)
    await _chat(engine, 1, person_id)
    await _scan(engine, HEARING - DAY)
    moved = HEARING + 2 * DAY
    await _change(engine, hearing_id, starts_at=moved)
    await _scan(engine, HEARING - HOUR, HEARING - MINUTE)  # the old time's 1 h: nothing
    assert await _reminders(engine, 1) == [("1d", HEARING)]
    await _scan(engine, moved - DAY, moved - DAY, moved - HOUR, moved - HOUR)
    assert await _reminders(engine, 1) == [("1d", HEARING), ("1d", moved), ("1h", moved)]
    again = moved + 3 * HOUR  # moved once more, to 4 h ahead: its 1 d moment has passed
    await _change(engine, hearing_id, starts_at=again)
    assert await _scan(engine, moved - 50 * MINUTE) == 1
    assert (await _reminders(engine, 1))[-1] == ("1d", again)


async def test_cancelled_or_postponed_hearing_is_not_reminded(engine: AsyncEngine) -> None:
    person_id = await _person(engine)
    cancelled = await _hearing(engine, person_id, HEARING)
    postponed = await _hearing(engine, person_id, HEARING + HOUR)
    await _chat(engine, 1, person_id)
    await _change(engine, cancelled, status=HearingStatus.CANCELLED)
    await _change(engine, postponed, status=HearingStatus.POSTPONED)
    assert await _scan(engine, HEARING - DAY, HEARING - HOUR, HEARING - MINUTE) == 0


async def test_hearing_set_within_the_hour_reminds_once_at_the_next_scan(
    engine: AsyncEngine,
) -> None:
    person_id = await _person(engine)
    await _chat(engine, 1, person_id)  # 1 d and 1 h: only the 1 h one
    await _chat(engine, 2, person_id, "7d,1d")  # its nearest is 1 d: that one, now
    soon = NOW + 30 * MINUTE
    await _hearing(engine, person_id, soon)
    assert await _scan(engine, NOW) == 2
    await _scan(engine, NOW + MINUTE, NOW + 20 * MINUTE, soon - MINUTE)
    assert await _reminders(engine, 1) == [("1h", soon)]
    assert await _reminders(engine, 2) == [("1d", soon)]


async def test_after_a_long_gap_only_the_most_recent_due_reminder_goes(
    engine: AsyncEngine,
) -> None:
    person_id = await _person(engine)
    await _chat(engine, 1, person_id, "7d,1d,1h")
    first = await _hearing(engine, person_id, HEARING)
    await _scan(engine, HEARING - 8 * DAY)  # nothing due yet; then down for days
    await _scan(engine, HEARING - 30 * MINUTE)  # back up: 7 d and 1 d were missed
    assert await _reminders(engine, 1) == [("1h", HEARING)]
    await _change(engine, first, status=HearingStatus.HELD)
    later = HEARING + 20 * DAY
    await _hearing(engine, person_id, later)
    await _scan(engine, later - 5 * HOUR, later - 4 * HOUR)  # back up 5 h before: 1 d now
    await _scan(engine, later - HOUR)
    assert _offsets(await _reminders(engine, 1)) == ["1h", "1d", "1h"]


async def test_followers_of_everyone_are_reminded_of_public_people_only(
    engine: AsyncEngine,
) -> None:
    public_id = await _person(engine)
    restricted_id = await _person(engine, name="Murager Alimuly", visibility=Visibility.RESTRICTED)
    await _hearing(engine, public_id, HEARING)
    await _hearing(engine, restricted_id, HEARING + MINUTE)
    await _chat(engine, GROUP, None, "1h")  # follows everyone
    await _chat(engine, 2, restricted_id, "1h")  # an editor's chat follows them by name
    async with session_scope(engine) as session:
        session.add(Admin(user_id=2, role=Role.EDITOR))
    await _chat(engine, 3, public_id, "1h")
    await _chat(engine, 3, None, "1h")  # by name and as everyone: still one reminder
    assert await _scan(engine, HEARING - HOUR + MINUTE) == 3
    assert await _reminders(engine, GROUP) == [("1h", HEARING)]
    assert await _reminders(engine, 2) == [("1h", HEARING + MINUTE)]
    assert await _reminders(engine, 3) == [("1h", HEARING)]


async def test_reminders_are_not_sent_again_after_a_restart(
    engine: AsyncEngine, database_url: str
) -> None:
    person_id = await _person(engine)
    await _hearing(engine, person_id, HEARING)
    await _chat(engine, 1, person_id)
    assert await _scan(engine, HEARING - DAY + MINUTE) == 1
    restarted = create_engine(database_url)
    try:
        assert await _scan(restarted, HEARING - DAY + 2 * MINUTE, HEARING - 2 * HOUR) == 0
        assert await _scan(restarted, HEARING - HOUR) == 1
    finally:
        await restarted.dispose()
    assert _offsets(await _reminders(engine, 1)) == ["1d", "1h"]


async def test_reminder_waits_until_the_hearing_change_is_out_of_its_grace_window(
    engine: AsyncEngine,
) -> None:
    person_id = await _person(engine)
    await _chat(engine, 1, person_id)
    now = datetime.now(UTC)
    local = (now + 40 * MINUTE).astimezone(ZONE).replace(tzinfo=None, second=0, microsecond=0)
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        await change_hearing(session, person, local, grace=timedelta(seconds=60))
    assert await _scan(engine, now) == 0  # the editor may still correct or undo it
    async with session_scope(engine) as session:
        await expand_due_events(session=session, now=now + 2 * MINUTE)
    assert await _scan(engine, now + 2 * MINUTE) == 1
    assert _offsets(await _reminders(engine, 1)) == ["1h"]


async def test_a_reminder_is_not_the_last_change_on_the_card(engine: AsyncEngine) -> None:
    person_id = await _person(engine)
    await _hearing(engine, person_id, HEARING)
    await _chat(engine, 1, person_id)
    assert await _scan(engine, HEARING - HOUR) == 1
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None
        card = await load_person_card(session=session, person=person)
    assert card.last_event is not None and card.last_event.kind == "person_added"
