"""Turning a `<who>` argument into one person, a short list of candidates, or nobody."""

from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.parsing import Who
from storage.models import Person, Visibility
from storage.names import NameIndex
from storage.people import get_person, people_by_ids, spellings_after

MAX_CANDIDATES = 8
# A best match this many points ahead of the next one is taken as the person meant.
CLEAR_LEAD = 10.0


@dataclass
class KnownNames:
    """This process's name index, caught up with the database before each lookup.

    Spellings added by another process (or by `casewatch seed`) are picked up by id.
    """

    index: NameIndex = field(default_factory=NameIndex)
    last_id: int = 0

    async def catch_up(self, session: AsyncSession) -> NameIndex:
        for row_id, person_id, spelling in await spellings_after(
            session=session, after_id=self.last_id
        ):
            self.index.add(person_id, spelling)
            self.last_id = row_id
        return self.index


@dataclass(frozen=True)
class Resolution:
    person: Person | None = None
    candidates: list[Person] = field(default_factory=list)


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
    index = await names.catch_up(session)
    matches = index.search(who.text, limit=MAX_CANDIDATES)
    people = await people_by_ids(
        session=session,
        person_ids=[match.person_id for match in matches],
        include_restricted=include_restricted,
    )
    by_id = {person.id: person for person in people}
    ranked = [(m.score, by_id[m.person_id]) for m in matches if m.person_id in by_id]
    if len(ranked) == 1 or (len(ranked) > 1 and ranked[0][0] - ranked[1][0] >= CLEAR_LEAD):
        return Resolution(person=ranked[0][1])
    return Resolution(candidates=[person for _, person in ranked])
