"""A person's history, a page at a time, and their hearings (SQLite, and PostgreSQL if asked)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import session_scope
from storage.history import hearings_of, history_page
from storage.models import EventKind, HearingStatus
from storage.people import add_case, add_hearing, add_person, undo_last_change
from storage.timeline import record_change

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


async def _person_with_notes(engine: AsyncEngine, notes: int) -> tuple[int, list[int]]:
    """A person (added, actor 1) with `notes` notes after; returns their id and every
    event id of their history, oldest first."""
    async with session_scope(engine) as session:
        person = await add_person(session=session, name="Qaisha Aqan", actor_id=1, pushed=False)
        assert person.id is not None
        for number in range(notes):
            await record_change(
                session=session,
                person_id=person.id,
                kind=EventKind.NOTE,
                old=None,
                new={"text": f"note {number}"},
                actor_id=2,
            )
        everything = await history_page(session=session, person_id=person.id, size=1000)
        return person.id, [event.id or 0 for event in reversed(everything.events)]


async def test_pages_run_newest_first_and_meet_without_overlap(engine: AsyncEngine) -> None:
    person_id, ids = await _person_with_notes(engine, 24)  # 25 entries: pages of 10, 10, 5
    async with session_scope(engine) as session:
        first = await history_page(session=session, person_id=person_id)
        second = await history_page(
            session=session, person_id=person_id, before=first.events[-1].id
        )
        third = await history_page(
            session=session, person_id=person_id, before=second.events[-1].id
        )
        back = await history_page(session=session, person_id=person_id, after=third.events[0].id)
        past_the_end = await history_page(
            session=session, person_id=person_id, before=third.events[-1].id
        )
    pages = [first, second, third]
    assert [event.id for page in pages for event in page.events] == ids[::-1]
    assert [(page.newer, page.older) for page in pages] == [
        (False, True),
        (True, True),
        (True, False),
    ]
    assert [e.id for e in back.events] == [e.id for e in second.events]
    assert (back.newer, back.older) == (True, True)
    assert past_the_end.events == [] and not past_the_end.newer and not past_the_end.older


async def test_a_page_that_ends_exactly_at_the_oldest_entry_has_no_older(
    engine: AsyncEngine,
) -> None:
    person_id, ids = await _person_with_notes(engine, 9)  # exactly one page
    async with session_scope(engine) as session:
        page = await history_page(session=session, person_id=person_id)
        newest = await history_page(session=session, person_id=person_id, after=ids[-2])
    assert [event.id for event in page.events] == ids[::-1]
    assert (page.newer, page.older) == (False, False)
    assert [event.id for event in newest.events] == [ids[-1]]
    assert (newest.newer, newest.older) == (False, True)


async def test_undone_changes_reminders_and_other_people_are_not_history(
    engine: AsyncEngine,
) -> None:
    person_id, ids = await _person_with_notes(engine, 1)
    async with session_scope(engine) as session:
        other = await add_person(session=session, name="Murager Alimuly", actor_id=1)
        assert other.id is not None
        for kind in (EventKind.REMINDER, EventKind.HEARING_SET):
            await record_change(
                session=session,
                person_id=person_id,
                kind=kind,
                old=None,
                new={"starts_at": NOW.isoformat(), "tz": "Asia/Almaty"},
                actor_id=3,
                grace=timedelta(minutes=5),
            )
    async with session_scope(engine) as session:
        assert (await undo_last_change(session=session, actor_id=3)).event is not None
        page = await history_page(session=session, person_id=person_id)
    assert [event.id for event in page.events] == ids[::-1]


async def test_hearings_to_come_soonest_first_then_the_last_gone_by(
    engine: AsyncEngine,
) -> None:
    async with session_scope(engine) as session:
        person = await add_person(session=session, name="Qaisha Aqan", actor_id=1)
        assert person.id is not None
        case = await add_case(session=session, person_id=person.id)
        assert case.id is not None

        async def hearing(days: int | None, status: str = HearingStatus.SCHEDULED) -> int:
            starts = None if days is None else NOW + timedelta(days=days)
            made = await add_hearing(
                session=session, case_id=case.id, starts_at=starts, date_note="x", status=status
            )
            assert made.id is not None
            return made.id

        later, soon, in_words = await hearing(9), await hearing(2), await hearing(None)
        held = [await hearing(-days, HearingStatus.HELD) for days in range(1, 8)]
        old_in_words = await hearing(None, HearingStatus.HELD)
        found = await hearings_of(session=session, person_id=person.id, now=NOW, past=8)
        few = await hearings_of(session=session, person_id=person.id, now=NOW, past=2)
    assert [h.id for h, _ in found.upcoming] == [soon, later, in_words]
    assert [h.id for h, _ in found.past] == [*held, old_in_words]
    assert [h.id for h, _ in few.past] == held[:2]


async def test_a_page_is_read_through_the_index_on_the_person(engine: AsyncEngine) -> None:
    """SQLite's plan of the very statements a page runs: no scan of the whole timeline, no
    sort (PostgreSQL chooses by its statistics: see the benchmark)."""
    if engine.dialect.name != "sqlite":
        return
    person_id, ids = await _person_with_notes(engine, 12)
    statements: list[tuple[str, object]] = []

    def keep(
        _conn: object, _cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", keep)
    async with session_scope(engine) as session:
        await history_page(session=session, person_id=person_id, before=ids[-1])
        await history_page(session=session, person_id=person_id, after=ids[0])
    event.remove(engine.sync_engine, "before_cursor_execute", keep)
    reads = [(sql, params) for sql, params in statements if "FROM event" in sql]
    assert len(reads) == 4
    async with engine.connect() as connection:
        for sql, params in reads:
            plan = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
            steps = " / ".join(str(row[-1]) for row in plan.all())
            assert "ix_event_person_history" in steps and "TEMP B-TREE" not in steps, steps
