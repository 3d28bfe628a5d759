"""The demo records: four people of a published news story, exactly as far as it says.

Nothing is invented. Where the article gives a date only in words ("last month",
"November 12" without a year), the words are kept as a note and no date is stored.
The Kazakh Cyrillic spellings are the standard rendering of the names the article uses.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import session_scope
from storage.models import AsylumStatus, DetentionStatus, HearingStatus
from storage.people import add_case, add_hearing, add_person, get_person_by_name

ARTICLE = (
    "Article “Ethnic Kazakh From Xinjiang Pleads With Court To Stay In Kazakhstan” (ZHARKENT)"
)


@dataclass(frozen=True)
class DemoPerson:
    name: str
    spellings: tuple[str, ...]
    person: dict[str, Any]
    case: dict[str, Any]
    hearings: tuple[dict[str, Any], ...] = field(default=())


DEMO_PEOPLE = (
    DemoPerson(
        name="Qaisha Aqan",
        spellings=("Қайша Ақан",),
        person={
            "gender": "female",
            "age_note": "36 at her trial",
            "ethnicity": "Kazakh",
            "origin": "Xinjiang, China",
            "location": "Kazakhstan",
            "asylum": AsylumStatus.ASYLUM_SEEKER,
            "asylum_note": "received asylum-seeker status from Kazakhstan's migration "
            "authorities “a day earlier” than her testimony of November 12 "
            "(the article gives no year)",
            "summary": "Crossed into Kazakhstan illegally in May 2018; says local authorities "
            "in Xinjiang threatened to place her in an internment camp.",
        },
        case={
            "court": "court in Zharkent",
            "city": "Zharkent",
            "charge": "illegal border crossing",
            "stage": "trial",
            "note": "crossed the border in May 2018",
        },
        hearings=(
            {
                "date_note": "November 12 (the article gives no year)",
                "place": "court in Zharkent",
                "kind": "trial",
                "status": HearingStatus.HELD,
                "outcome": "She testified and asked the court not to send her back to China.",
            },
        ),
    ),
    DemoPerson(
        name="Murager Alimuly",
        spellings=("Мұрагер Әлімұлы",),
        person={
            "gender": "male",
            "ethnicity": "Kazakh",
            "origin": "Xinjiang, China",
            "location": "Kazakhstan",
            "detention": DetentionStatus.PRETRIAL_DETENTION,
            "detention_note": "arrested “last month” (the article gives no date)",
            "asylum": AsylumStatus.ASYLUM_SEEKER,
            "asylum_note": "granted asylum-seeker status “last month” (the article gives no date)",
            "summary": "Told a news conference in Almaty he was persecuted in Xinjiang.",
        },
        case={"charge": "illegal crossing of the Chinese-Kazakh border", "stage": "pretrial"},
    ),
    DemoPerson(
        name="Qaster Musakhanuly",
        spellings=("Қастер Мұсаханұлы",),
        person={
            "gender": "male",
            "ethnicity": "Kazakh",
            "origin": "Xinjiang, China",
            "location": "Kazakhstan",
            "detention": DetentionStatus.PRETRIAL_DETENTION,
            "detention_note": "arrested “last month” (the article gives no date)",
            "asylum": AsylumStatus.ASYLUM_SEEKER,
            "asylum_note": "granted asylum-seeker status “last month” (the article gives no date)",
            "summary": "Told a news conference in Almaty he had spent several years in a "
            "“reeducation camp” in Xinjiang.",
        },
        case={"charge": "illegal crossing of the Chinese-Kazakh border", "stage": "pretrial"},
    ),
    DemoPerson(
        name="Sairagul Sauytbay",
        spellings=("Сайрагүл Сауытбай",),
        person={
            "gender": "female",
            "ethnicity": "Kazakh",
            "citizenship": "China",
            "origin": "Xinjiang, China",
            "location": "Sweden",
            "asylum": AsylumStatus.GRANTED_ABROAD,
            "asylum_note": "eventually granted asylum in Sweden; Kazakh authorities did not "
            "allow her to stay in Kazakhstan (the article gives no date)",
            "summary": "Fled China in April; testified about “reeducation camps” in Xinjiang.",
        },
        case={
            "court": "court in Almaty",
            "city": "Almaty",
            "charge": "illegal border crossing (wanted in China)",
            "stage": "extradition",
            "verdict": "extradition to China refused (August 2018)",
        },
        hearings=(
            {
                "date_note": "August 2018",
                "place": "court in Almaty",
                "kind": "extradition",
                "status": HearingStatus.HELD,
                "outcome": "The court refused to extradite her to China.",
            },
        ),
    ),
)


async def seed_demo_records(engine: AsyncEngine) -> int:
    """Load the demo people that are not there yet; returns how many were added."""
    added = 0
    async with session_scope(engine) as session:
        for demo in DEMO_PEOPLE:
            if await get_person_by_name(session=session, name=demo.name) is not None:
                continue
            person = await add_person(
                session=session,
                name=demo.name,
                other_spellings=demo.spellings,
                sources=[ARTICLE],
                actor_id=None,
                pushed=False,
                **demo.person,
            )
            assert person.id is not None
            case = await add_case(session=session, person_id=person.id, **demo.case)
            assert case.id is not None
            for hearing in demo.hearings:
                await add_hearing(session=session, case_id=case.id, **hearing)
            added += 1
    return added
