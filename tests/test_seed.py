"""The demo records: the four people of the demo story, as far as it says, loaded once."""

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select

from bot.seed import ARTICLE, seed_demo_records
from storage.engine import session_scope
from storage.models import Case, Event, Hearing, Person, PersonName
from storage.people import get_person_by_name, sources_of


async def _counts(engine: AsyncEngine) -> list[int]:
    async with session_scope(engine) as session:
        return [
            (await session.exec(select(func.count()).select_from(model))).one()
            for model in (Person, PersonName, Case, Hearing, Event)
        ]


async def test_seeding_twice_changes_nothing(engine: AsyncEngine) -> None:
    assert await seed_demo_records(engine) == 4
    first = await _counts(engine)
    assert await seed_demo_records(engine) == 0
    assert await _counts(engine) == first
    assert first[0] == 4


async def test_demo_records_keep_to_what_the_article_says(engine: AsyncEngine) -> None:
    await seed_demo_records(engine)
    async with session_scope(engine) as session:
        aqan = await get_person_by_name(session=session, name="Qaisha Aqan")
        sauytbay = await get_person_by_name(session=session, name="Sairagul Sauytbay")
        alimuly = await get_person_by_name(session=session, name="Murager Alimuly")
        assert aqan is not None and sauytbay is not None and alimuly is not None
        assert aqan.asylum == "asylum_seeker" and aqan.asylum_since is None
        assert "a day earlier" in (aqan.asylum_note or "")
        assert aqan.detention is None  # the article does not say
        assert alimuly.detention == "pretrial_detention"
        assert sauytbay.asylum == "granted_abroad" and sauytbay.location == "Sweden"
        hearings = (await session.exec(select(Hearing))).all()
        # No hearing date is given in full, so none is stored: only the words.
        assert all(hearing.starts_at is None for hearing in hearings)
        assert {hearing.date_note for hearing in hearings} == {
            "November 12 (the article gives no year)",
            "August 2018",
        }
        assert await sources_of(session=session, person_id=aqan.id) == [ARTICLE]
        pushed = (await session.exec(select(Event).where(Event.expanded_at == None))).all()  # noqa: E711
        assert pushed == []  # loading the records pushes nothing
