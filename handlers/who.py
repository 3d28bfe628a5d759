"""Turning a `<who>` argument into one person, a short list of candidates, or nobody."""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.parsing import Who
from storage.models import Person, Visibility
from storage.names import NameIndex, NameMatch
from storage.people import get_person, people_by_ids, spellings_after, spellings_of_people

MAX_CANDIDATES = 8
# A best match this many points ahead of the next one is taken as the person meant.
CLEAR_LEAD = 10.0
# How many times a search is made again after matching spellings removed since (each time
# the people concerned are read afresh; more than once only if several were removed).
MAX_REFRESHES = 3


# How long an id skipped by the catch-up is looked for again, and how many ranges of them at
# once (the highest kept). PostgreSQL hands out ids when rows are inserted, so a transaction
# that started first can commit its rows after rows with higher ids are read; a skipped id
# that never comes (a rolled-back or deleted row) stops being looked for after a while.
GAP_WATCH_SECONDS = 600.0
MAX_GAPS = 100


@dataclass
class Gap:
    """Ids from `low` to `high` skipped by the catch-up, first skipped at `since`."""

    low: int
    high: int
    since: float


@dataclass
class KnownNames:
    """This process's name index, caught up with the database before each lookup.

    Spellings added by another process (or by `casewatch seed`) are picked up by id: every
    row above the highest id read so far, and the rows skipped below it, which are looked
    for again for GAP_WATCH_SECONDS in case they were committed late.
    """

    index: NameIndex = field(default_factory=NameIndex)
    last_id: int = 0
    gaps: list[Gap] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic

    async def catch_up(self, session: AsyncSession) -> NameIndex:
        now = self.clock()
        self.gaps = [gap for gap in self.gaps if now - gap.since < GAP_WATCH_SECONDS]
        rows = await spellings_after(
            session=session,
            after_id=self.last_id,
            also=[(gap.low, gap.high) for gap in self.gaps],
        )
        for row_id, person_id, spelling in rows:
            self.index.add(person_id, spelling)
            self._seen(row_id, now)
        del self.gaps[:-MAX_GAPS]
        return self.index

    def refresh(self, stored: dict[int, list[str]]) -> None:
        """Hold exactly these spellings of these people: a spelling removed from the
        database (storage/records.py `remove_spelling`) is not seen by the catch-up, which
        reads rows by id, so a match on a spelling no longer stored redoes that person."""
        for person_id, spellings in stored.items():
            self.index.remove_person(person_id)
            for spelling in spellings:
                self.index.add(person_id, spelling)

    def _seen(self, row_id: int, now: float) -> None:
        """Raise the high-water mark (noting what it skips), or fill in part of a gap."""
        if row_id > self.last_id:
            if row_id > self.last_id + 1:
                self.gaps.append(Gap(self.last_id + 1, row_id - 1, now))
            self.last_id = row_id
            return
        for position, gap in enumerate(self.gaps):
            if gap.low <= row_id <= gap.high:
                parts = [
                    Gap(low, high, gap.since)
                    for low, high in ((gap.low, row_id - 1), (row_id + 1, gap.high))
                    if low <= high
                ]
                self.gaps[position : position + 1] = parts
                return


@dataclass(frozen=True)
class Resolution:
    person: Person | None = None
    candidates: list[Person] = field(default_factory=list)
    # The spellings of the candidates' names, by person id (to name each in the reader's script).
    spellings: dict[int, list[str]] = field(default_factory=dict)


async def read_spellings(
    session: AsyncSession, people: Iterable[Person | None]
) -> dict[int, list[str]]:
    """Every spelling of these people's names, by person id: one query (none for nobody)."""
    ids = {person.id for person in people if person is not None and person.id is not None}
    return await spellings_of_people(session=session, person_ids=ids) if ids else {}


async def resolve_who(
    *, session: AsyncSession, names: KnownNames, who: Who, include_restricted: bool
) -> Resolution:
    """One person when the reference is clear, else the candidates (possibly none)."""
    if who.is_id:
        person = (
            None
            if who.person_id is None
            else await get_person(session=session, person_id=who.person_id)
        )
        visible = person is not None and (
            include_restricted or person.visibility == Visibility.PUBLIC
        )
        return Resolution(person=person if visible else None)
    found = await search_people(
        session=session, names=names, query=who.text, include_restricted=include_restricted
    )
    ranked = [(match.score, person) for match, person in found]
    if len(ranked) == 1 or (len(ranked) > 1 and ranked[0][0] - ranked[1][0] >= CLEAR_LEAD):
        return Resolution(person=ranked[0][1])
    candidates = [person for _, person in ranked]
    return Resolution(candidates=candidates, spellings=await read_spellings(session, candidates))


async def search_people(
    *, session: AsyncSession, names: KnownNames, query: str, include_restricted: bool
) -> list[tuple[NameMatch, Person]]:
    """The people whose any spelling matches `query`, best first, that may be shown."""
    index = await names.catch_up(session)
    matches = index.search(query, limit=MAX_CANDIDATES)
    for _ in range(MAX_REFRESHES):
        stored = await spellings_of_people(
            session=session, person_ids={match.person_id for match in matches}
        )
        stale = {m.person_id for m in matches if m.spelling not in stored.get(m.person_id, ())}
        if not stale:
            break
        names.refresh({person_id: stored.get(person_id, []) for person_id in stale})
        matches = index.search(query, limit=MAX_CANDIDATES)
    people = await people_by_ids(
        session=session,
        person_ids=[match.person_id for match in matches],
        include_restricted=include_restricted,
    )
    by_id = {person.id: person for person in people}
    return [(match, by_id[match.person_id]) for match in matches if match.person_id in by_id]
