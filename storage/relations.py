"""People linked to each other: co-defendants in one case, or relatives (`PersonRelation`,
stored once with the lower id first; it reads the same from either side). Changed by
storage/records.py; read for the person card."""

from dataclasses import dataclass

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Person, PersonRelation, RelationKind


@dataclass(frozen=True)
class Relation:
    """One of a person's relations, seen from their side."""

    id: int
    other: Person
    kind: RelationKind
    note: str | None


async def relations_of(*, session: AsyncSession, person_id: int) -> list[Relation]:
    """The person's relations, co-defendants first, each with the other person."""
    rows = (
        await session.exec(
            select(PersonRelation)
            .where(
                or_(
                    col(PersonRelation.person_id) == person_id,
                    col(PersonRelation.other_id) == person_id,
                )
            )
            .order_by(col(PersonRelation.kind), col(PersonRelation.id))
        )
    ).all()
    others = {row.other_id if row.person_id == person_id else row.person_id for row in rows}
    people = (
        {p.id: p for p in (await session.exec(select(Person).where(col(Person.id).in_(others))))}
        if others
        else {}
    )
    found = []
    for row in rows:
        other_id = row.other_id if row.person_id == person_id else row.person_id
        if row.id is not None and other_id in people:
            found.append(Relation(row.id, people[other_id], RelationKind(row.kind), row.note))
    return found
