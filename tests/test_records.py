"""The rest of a record in storage (storage/records.py): each change writes the record, a
`record_changed` event and an audit entry together; the same value again changes nothing."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from handlers.render import describe_event, render_person_card
from handlers.who import KnownNames, search_people
from storage.engine import session_scope
from storage.following import ensure_chat, follow_place, subscribe
from storage.models import (
    AuditEntry,
    Case,
    CaseStage,
    Delivery,
    Event,
    EventKind,
    Person,
    PersonRelation,
    RelationKind,
    SubscriptionScope,
    Visibility,
    utcnow,
)
from storage.outbox import expand_due_events
from storage.people import add_case, add_person, load_person_card
from storage.records import (
    MadeBy,
    add_relation,
    add_spelling,
    remove_relation,
    remove_spelling,
    set_case_field,
    set_person_field,
    start_appeal,
)
from tests.factories import change_hearing

EDITOR_ID = 1
BY = MadeBy(actor_id=EDITOR_ID, grace=timedelta(0))
TZ = "Asia/Almaty"
EXTRA = "Qaisha Bekova"  # a spelling of words no other spelling has


async def _person(engine: AsyncEngine, name: str = "Qaisha Aqan", **case: str) -> int:
    async with session_scope(engine) as session:
        person = await add_person(session=session, name=name, actor_id=None, pushed=False)
        assert person.id is not None
        if case:
            await add_case(session=session, person_id=person.id, tz=TZ, **case)
        return person.id


async def _changes(engine: AsyncEngine, person_id: int) -> list[tuple[Event, AuditEntry]]:
    """The person's record_changed events, each with the audit entry written with it."""
    async with session_scope(engine) as session:
        events = (
            await session.exec(
                select(Event)
                .where(col(Event.person_id) == person_id, Event.kind == EventKind.RECORD_CHANGED)
                .order_by(col(Event.id))
            )
        ).all()
        audit = (
            await session.exec(
                select(AuditEntry)
                .where(
                    col(AuditEntry.person_id) == person_id,
                    AuditEntry.action == EventKind.RECORD_CHANGED,
                )
                .order_by(col(AuditEntry.id))
            )
        ).all()
    assert len(events) == len(audit)
    return list(zip(events, audit, strict=True))


async def test_a_person_field_changes_once_and_says_old_to_new(engine: AsyncEngine) -> None:
    person_id = await _person(engine)
    for value in ("China", "Kazakhstan", "Kazakhstan"):
        async with session_scope(engine) as session:
            person = await session.get(Person, person_id)
            assert person is not None
            await set_person_field(
                session=session, person=person, field="citizenship", value=value, by=BY
            )
    changes = await _changes(engine, person_id)
    assert len(changes) == 2  # the same value again: nothing to change
    event, audit = changes[-1]
    assert describe_event(event, "en") == "record updated: citizenship: China → Kazakhstan"
    assert describe_event(event, "ru") == "запись обновлена: гражданство: Китай → Казахстан"
    assert audit.actor_id == EDITOR_ID and '"new": "Kazakhstan"' in (audit.detail or "")


async def test_a_case_field_opens_a_case_when_there_is_none_and_stage_is_translated(
    engine: AsyncEngine,
) -> None:
    person_id = await _person(engine)
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None
        for stage in (CaseStage.TRIAL, CaseStage.CASSATION):
            await set_case_field(
                session=session, person=person, field="stage", value=stage, default_tz=TZ, by=BY
            )
        none = await set_case_field(
            session=session, person=person, field="stage", value="cassation", default_tz=TZ, by=BY
        )
        assert none is None
        cases = (await session.exec(select(Case).where(Case.person_id == person_id))).all()
    assert [case.stage for case in cases] == ["cassation"]
    event, _ = (await _changes(engine, person_id))[-1]
    assert describe_event(event, "en") == "record updated: stage: trial → cassation"
    with pytest.raises(ValueError, match="not a case field"):
        async with session_scope(engine) as session:
            await set_case_field(
                session=session,
                person=person,
                field="verdict",  # type: ignore[arg-type]
                value="x",
                default_tz=TZ,
                by=BY,
            )


async def test_an_unknown_stage_is_refused(engine: AsyncEngine) -> None:
    person_id = await _person(engine)
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None
        with pytest.raises(ValueError):
            await set_case_field(
                session=session, person=person, field="stage", value="bogus", default_tz=TZ, by=BY
            )


async def test_a_removed_spelling_no_longer_finds_the_person_in_any_process(
    engine: AsyncEngine,
) -> None:
    person_id = await _person(engine)
    this, other = KnownNames(), KnownNames()  # the name indexes of two processes
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None
        assert await add_spelling(session=session, person=person, spelling=EXTRA, by=BY)
        assert not await add_spelling(session=session, person=person, spelling=EXTRA, by=BY)
    for names in (this, other):
        async with session_scope(engine) as session:
            found = await search_people(
                session=session, names=names, query="Bekova", include_restricted=True
            )
        assert [p.id for _, p in found] == [person_id]
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None
        assert not await remove_spelling(
            session=session, person=person, spelling=person.name, by=BY
        )
        assert await remove_spelling(session=session, person=person, spelling=EXTRA, by=BY)
    for names in (this, other):
        async with session_scope(engine) as session:
            gone = await search_people(
                session=session, names=names, query="Qaisha Bekova", include_restricted=True
            )
            kept = await search_people(
                session=session, names=names, query="Qaisha", include_restricted=True
            )
        assert gone == [] and [p.id for _, p in kept] == [person_id]


async def test_a_relation_reads_the_same_from_both_sides_and_keeps_restricted_people_off_cards(
    engine: AsyncEngine,
) -> None:
    first = await _person(engine, "Qaisha Aqan")
    second = await _person(engine, "Murager Alimuly")
    async with session_scope(engine) as session:
        person, other = await session.get(Person, second), await session.get(Person, first)
        assert person is not None and other is not None
        kind = RelationKind.RELATIVE
        assert await add_relation(
            session=session, person=person, other=other, kind=kind, note="sister", by=BY
        )
        assert not await add_relation(
            session=session, person=person, other=other, kind=kind, note="sister", by=BY
        )
        assert not await add_relation(
            session=session, person=person, other=person, kind=kind, note=None, by=BY
        )
        row = (await session.exec(select(PersonRelation))).one()
        assert (row.person_id, row.other_id) == (first, second)
        cards = [
            render_person_card(await load_person_card(session=session, person=p), "en")
            for p in (person, other)
        ]
    assert f"Relatives: Qaisha Aqan #{first} (sister)" in cards[0]
    assert f"Relatives: Murager Alimuly #{second} (sister)" in cards[1]
    async with session_scope(engine) as session:
        hidden = await session.get(Person, first)
        person = await session.get(Person, second)
        assert hidden is not None and person is not None
        hidden.visibility = Visibility.RESTRICTED
        session.add(hidden)
        await session.flush()
        card = render_person_card(await load_person_card(session=session, person=person), "en")
        assert "Relatives" not in card
        assert await remove_relation(
            session=session, person=person, other=hidden, kind=RelationKind.RELATIVE, by=BY
        )
        assert (await session.exec(select(PersonRelation))).first() is None
    # The timeline of a public person is public: a restricted person on the other side of a
    # relation is not named there, and nobody is told of it.
    event, _ = (await _changes(engine, second))[-1]
    said = describe_event(event, "en")
    assert "a person not shown here" in said and "removed" in said
    assert "Qaisha" not in said and "sister" not in said
    assert event.correction and str(first) not in (event.new_value or "") + (event.old_value or "")


async def test_an_appeal_is_followed_by_the_persons_followers_and_the_new_courts(
    engine: AsyncEngine,
) -> None:
    person_id = await _person(
        engine, court="court in Zharkent", city="Zharkent", charge="border crossing", stage="trial"
    )
    async with session_scope(engine) as session:
        for chat_id in (100, 200, 300):
            await ensure_chat(session=session, chat_id=chat_id, kind="private", language="en")
        await subscribe(session=session, chat_id=100, person_id=person_id)
        await follow_place(
            session=session,
            chat_id=200,
            scope=SubscriptionScope.COURT,
            place="Almaty regional court",
        )
        await follow_place(
            session=session, chat_id=300, scope=SubscriptionScope.COURT, place="Other court"
        )
        person = await session.get(Person, person_id)
        assert person is not None
        appeal, again = [
            await start_appeal(
                session=session,
                person=person,
                court="Almaty regional court",
                stage=CaseStage.APPEAL,
                default_tz=TZ,
                by=BY,
            )
            for _ in range(2)
        ]
        assert appeal is not None and again is None  # the same appeal again: nothing to do
        await change_hearing(session, person, datetime(2031, 3, 3, 10, 0))
        card = render_person_card(await load_person_card(session=session, person=person), "en")
    assert "Appeal of the case: court in Zharkent" in card
    assert "record updated: case: trial, court in Zharkent → appeal, Almaty regional court" in (
        describe_event(appeal, "en")
    )
    async with session_scope(engine) as session:
        cases = (await session.exec(select(Case).order_by(col(Case.id)))).all()
        assert [(c.court, c.city, c.appeal_of, c.charge) for c in cases] == [
            ("court in Zharkent", "Zharkent", None, "border crossing"),
            ("Almaty regional court", None, cases[0].id, "border crossing"),
        ]
        await expand_due_events(session=session, now=utcnow() + timedelta(minutes=1))
        hearing = (
            await session.exec(select(Event).where(Event.kind == EventKind.HEARING_SET))
        ).one()
        told = (
            await session.exec(select(Delivery.chat_id).where(Delivery.event_id == hearing.id))
        ).all()
    assert sorted(told) == [100, 200]
