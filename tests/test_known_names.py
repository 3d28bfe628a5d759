"""The name index catching up with the database: no spelling missed, even one committed late."""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.who import GAP_WATCH_SECONDS, MAX_GAPS, KnownNames
from storage.engine import session_scope
from storage.models import Person, PersonName
from storage.names import name_key
from storage.people import add_person


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _catch_up(engine: AsyncEngine, names: KnownNames) -> None:
    async with session_scope(engine) as session:
        await names.catch_up(session)


def _found(names: KnownNames, query: str) -> bool:
    return bool(names.index.search(query))


async def _person_with_name_row(engine: AsyncEngine, name: str, row_id: int) -> None:
    """A person whose one spelling has the row id given, as if handed out long before."""
    async with session_scope(engine) as session:
        person = Person(name=name)
        session.add(person)
        await session.flush()
        assert person.id is not None
        session.add(PersonName(id=row_id, person_id=person.id, spelling=name, key=name_key(name)))


async def test_a_spelling_committed_below_the_highest_id_read_is_found(
    engine: AsyncEngine,
) -> None:
    names = KnownNames(clock=Clock())
    await _person_with_name_row(engine, "Qaisha Aqan", 1)
    await _person_with_name_row(engine, "Murager Alimuly", 10)
    await _catch_up(engine, names)
    assert names.last_id == 10
    await _person_with_name_row(engine, "Aidos Sadyq", 5)  # committed late
    await _catch_up(engine, names)
    assert _found(names, "Aidos Sadyq")
    assert [(gap.low, gap.high) for gap in names.gaps] == [(2, 4), (6, 9)]
    await _person_with_name_row(engine, "Nurlan Kokteubai", 9)
    await _catch_up(engine, names)
    assert _found(names, "Nurlan Kokteubai")


async def test_skipped_ids_are_looked_for_a_while_only(engine: AsyncEngine) -> None:
    clock = Clock()
    names = KnownNames(clock=clock)
    await _person_with_name_row(engine, "Qaisha Aqan", 1)
    await _person_with_name_row(engine, "Murager Alimuly", 10)
    await _catch_up(engine, names)
    clock.now += GAP_WATCH_SECONDS
    await _person_with_name_row(engine, "Aidos Sadyq", 5)
    await _catch_up(engine, names)
    assert not _found(names, "Aidos Sadyq")
    assert names.gaps == []


async def test_two_transactions_committing_out_of_order_on_postgresql(
    engine: AsyncEngine,
) -> None:
    """On PostgreSQL the first transaction to insert gets the lower id, whoever commits first."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite hands out ids one writing transaction at a time, in commit order")
    names = KnownNames(clock=Clock())
    async with session_scope(engine) as slow:
        await add_person(session=slow, name="Aidos Sadyq", actor_id=None, pushed=False)
        async with session_scope(engine) as fast:
            await add_person(session=fast, name="Murager Alimuly", actor_id=None, pushed=False)
        await _catch_up(engine, names)
        assert _found(names, "Murager Alimuly") and not _found(names, "Aidos Sadyq")
    await _catch_up(engine, names)
    assert _found(names, "Aidos Sadyq")


async def test_only_the_highest_skipped_ranges_are_watched(engine: AsyncEngine) -> None:
    names = KnownNames(clock=Clock())
    for number in range(MAX_GAPS + 2):  # rows 1, 3, 5, …: a one-id gap below each but the first
        await _person_with_name_row(engine, f"Person {number}", 2 * number + 1)
    await _catch_up(engine, names)
    assert len(names.gaps) == MAX_GAPS
    await _person_with_name_row(engine, "Aidos Sadyq", 2)  # the lowest gap: no longer watched
    await _person_with_name_row(engine, "Nurlan Kokteubai", 2 * MAX_GAPS + 2)  # the highest
    await _catch_up(engine, names)
    assert not _found(names, "Aidos Sadyq") and _found(names, "Nurlan Kokteubai")
