"""Storage operations: one transaction per change, and the outbox's guarantees."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select

from storage.engine import session_scope
from storage.following import ensure_chat, followings, subscribe, unsubscribe
from storage.models import AuditEntry, Chat, Delivery, Event, Person, Visibility
from storage.outbox import (
    deactivate_chat,
    expand_due_events,
    lease_deliveries,
    mark_sent_many,
    renew_leases,
    retry_later,
)
from storage.people import (
    add_case,
    add_person,
    load_person_card,
    next_hearing,
    set_hearing,
    set_status,
    upcoming_hearings,
)
from storage.timeline import claim_update, load_value
from tests.factories import change_status

BIG_CHAT = -1001234567890123  # a supergroup id needs 64 bits
LATER = datetime(2030, 1, 1, tzinfo=UTC)


async def _person(engine: AsyncEngine, name: str = "Qaisha Aqan", **fields: object) -> int:
    async with session_scope(engine) as session:
        person = await add_person(session=session, name=name, actor_id=1, pushed=False, **fields)
        assert person.id is not None
        return person.id


async def _follower(engine: AsyncEngine, chat_id: int, person_id: int | None) -> None:
    async with session_scope(engine) as session:
        await ensure_chat(session=session, chat_id=chat_id, kind="private", language="en")
        await subscribe(session=session, chat_id=chat_id, person_id=person_id)


async def _count(engine: AsyncEngine, model: type) -> int:
    async with session_scope(engine) as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_status_change_writes_record_event_and_audit_together(engine: AsyncEngine) -> None:
    person_id = await _person(engine)
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None
        event = await set_status(
            session=session,
            person=person,
            field="asylum",
            status="refugee",
            since="2026-11-29",
            source="https://example.org/a",
            actor_id=7,
            grace=timedelta(seconds=60),
        )
    assert event is not None
    assert load_value(event.new_value) == {"status": "refugee", "since": "2026-11-29"}
    assert event.not_before - event.created_at == timedelta(seconds=60)
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None and person.asylum == "refugee"
        audit = (
            await session.exec(select(AuditEntry).where(AuditEntry.action == "asylum_changed"))
        ).one()
        assert audit.actor_id == 7 and audit.person_id == person_id


async def test_failed_transaction_leaves_no_event_behind(engine: AsyncEngine) -> None:
    person_id = await _person(engine)
    events_before = await _count(engine, Event)
    try:
        async with session_scope(engine) as session:
            person = await session.get(Person, person_id)
            assert person is not None
            await change_status(session, person, "released", field="detention")
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    assert await _count(engine, Event) == events_before
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None and person.detention is None


async def test_setting_the_same_status_again_changes_nothing(engine: AsyncEngine) -> None:
    person_id = await _person(engine, asylum="asylum_seeker")
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None
        event = await change_status(session, person, "asylum_seeker")
    assert event is None


async def test_moved_hearing_event_carries_old_and_new_time_in_utc(engine: AsyncEngine) -> None:
    person_id = await _person(engine)
    async with session_scope(engine) as session:
        await add_case(session=session, person_id=person_id, court="Zharkent district court")
        person = await session.get(Person, person_id)
        assert person is not None
        first = await set_hearing(
            session=session,
            person=person,
            local_start=datetime(2030, 12, 3, 10, 0),
            place=None,
            default_tz="Asia/Almaty",
            actor_id=1,
            grace=timedelta(0),
        )
        moved = await set_hearing(
            session=session,
            person=person,
            local_start=datetime(2030, 12, 10, 15, 30),
            place="room 4",
            default_tz="Asia/Almaty",
            actor_id=1,
            grace=timedelta(0),
        )
    assert first.kind == "hearing_set" and moved.kind == "hearing_moved"
    old, new = load_value(moved.old_value), load_value(moved.new_value)
    # Almaty is UTC+5: 10:00 local is 05:00 UTC.
    assert datetime.fromisoformat(old["starts_at"]) == datetime(2030, 12, 3, 5, 0, tzinfo=UTC)
    assert datetime.fromisoformat(new["starts_at"]) == datetime(2030, 12, 10, 10, 30, tzinfo=UTC)
    assert old["place"] == "Zharkent district court" and new["place"] == "room 4"
    async with session_scope(engine) as session:
        slot = await next_hearing(session=session, person_id=person_id)
        assert slot is not None and slot.hearing.starts_at == datetime(
            2030, 12, 10, 10, 30, tzinfo=UTC
        )
        assert (
            len(
                await upcoming_hearings(
                    session=session,
                    start=LATER - timedelta(days=400),
                    end=None,
                    include_restricted=False,
                )
            )
            == 1
        )


async def test_due_event_becomes_one_delivery_per_following_chat(engine: AsyncEngine) -> None:
    person_id = await _person(engine)
    other_id = await _person(engine, name="Murager Alimuly")
    await _follower(engine, 1, person_id)
    await _follower(engine, BIG_CHAT, None)  # follows everyone
    await _follower(engine, 3, person_id)
    await _follower(engine, 3, None)  # follows both ways: still one message
    await _follower(engine, 4, other_id)  # follows someone else
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None
        await change_status(session, person, "released", field="detention")
    async with session_scope(engine) as session:
        created = await expand_due_events(session=session, now=datetime.now(UTC))
    assert created == 3
    async with session_scope(engine) as session:
        chats = set((await session.exec(select(Delivery.chat_id))).all())
        assert chats == {1, BIG_CHAT, 3}
        again = await expand_due_events(session=session, now=datetime.now(UTC))
    assert again == 0


async def test_event_waits_for_its_grace_window(engine: AsyncEngine) -> None:
    person_id = await _person(engine)
    await _follower(engine, 1, person_id)
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None
        event = await change_status(session, person, "refugee", grace=timedelta(seconds=60))
    assert event is not None
    async with session_scope(engine) as session:
        assert await expand_due_events(session=session, now=event.created_at) == 0
    async with session_scope(engine) as session:
        assert await expand_due_events(session=session, now=event.not_before) == 1


async def test_restricted_person_is_not_pushed_to_followers_of_everyone(
    engine: AsyncEngine,
) -> None:
    person_id = await _person(engine, visibility=Visibility.RESTRICTED)
    await _follower(engine, 1, None)
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None
        await change_status(session, person, "refugee")
        assert await expand_due_events(session=session, now=datetime.now(UTC)) == 0


async def _one_pending_delivery(engine: AsyncEngine) -> None:
    person_id = await _person(engine)
    await _follower(engine, BIG_CHAT, person_id)
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None
        await change_status(session, person, "refugee")
        await expand_due_events(session=session, now=datetime.now(UTC))


async def test_leased_delivery_is_not_leased_twice_until_the_lease_expires(
    engine: AsyncEngine,
) -> None:
    await _one_pending_delivery(engine)
    now = datetime.now(UTC)
    lease = timedelta(seconds=60)
    async with session_scope(engine) as session:
        first = await lease_deliveries(session=session, now=now, lease=lease)
    async with session_scope(engine) as session:
        during = await lease_deliveries(
            session=session, now=now + timedelta(seconds=30), lease=lease
        )
    async with session_scope(engine) as session:
        after = await lease_deliveries(
            session=session, now=now + timedelta(seconds=61), lease=lease
        )
    assert [o.chat.id for o in first] == [BIG_CHAT]
    assert during == []
    assert [o.delivery.id for o in after] == [first[0].delivery.id]
    assert after[0].delivery.attempts == 2


async def test_renewed_lease_keeps_a_delivery_on_its_way_from_being_leased_again(
    engine: AsyncEngine,
) -> None:
    await _one_pending_delivery(engine)
    now = datetime.now(UTC)
    lease = timedelta(seconds=60)
    async with session_scope(engine) as session:
        (outgoing,) = await lease_deliveries(session=session, now=now, lease=lease)
        assert outgoing.delivery.id is not None
    async with session_scope(engine) as session:
        await renew_leases(
            session=session, delivery_ids=[outgoing.delivery.id], until=now + 2 * lease
        )
    async with session_scope(engine) as session:
        expired_first = await lease_deliveries(session=session, now=now + lease * 1.5, lease=lease)
        renewed_expired = await lease_deliveries(
            session=session, now=now + lease * 2.5, lease=lease
        )
    assert expired_first == []
    assert [o.delivery.id for o in renewed_expired] == [outgoing.delivery.id]


async def test_settled_delivery_is_not_renewed(engine: AsyncEngine) -> None:
    await _one_pending_delivery(engine)
    now = datetime.now(UTC)
    async with session_scope(engine) as session:
        (outgoing,) = await lease_deliveries(session=session, now=now, lease=timedelta(seconds=1))
        assert outgoing.delivery.id is not None
        await mark_sent_many(session=session, sent=[(outgoing.delivery.id, 42)], now=now)
        await renew_leases(
            session=session, delivery_ids=[outgoing.delivery.id], until=now + timedelta(hours=1)
        )
    async with session_scope(engine) as session:
        delivery = await session.get(Delivery, outgoing.delivery.id)
    assert delivery is not None and delivery.state == "sent" and delivery.lease_until is None


async def test_sent_delivery_is_never_leased_again(engine: AsyncEngine) -> None:
    await _one_pending_delivery(engine)
    now = datetime.now(UTC)
    async with session_scope(engine) as session:
        (outgoing,) = await lease_deliveries(session=session, now=now, lease=timedelta(seconds=1))
        assert outgoing.delivery.id is not None
    async with session_scope(engine) as session:
        await mark_sent_many(session=session, sent=[(outgoing.delivery.id, 42)], now=now)
    async with session_scope(engine) as session:
        later = now + timedelta(hours=1)
        assert await lease_deliveries(session=session, now=later, lease=timedelta(seconds=1)) == []
        delivery = await session.get(Delivery, outgoing.delivery.id)
        assert delivery is not None and delivery.state == "sent" and delivery.message_id == 42


async def test_retry_later_makes_delivery_due_again_at_that_time(engine: AsyncEngine) -> None:
    await _one_pending_delivery(engine)
    now = datetime.now(UTC)
    async with session_scope(engine) as session:
        (outgoing,) = await lease_deliveries(session=session, now=now, lease=timedelta(seconds=60))
        assert outgoing.delivery.id is not None
        await retry_later(
            session=session,
            delivery_id=outgoing.delivery.id,
            error="timeout",
            retry_at=now + timedelta(seconds=10),
        )
    async with session_scope(engine) as session:
        soon = await lease_deliveries(
            session=session, now=now + timedelta(seconds=5), lease=timedelta(seconds=60)
        )
        due = await lease_deliveries(
            session=session, now=now + timedelta(seconds=11), lease=timedelta(seconds=60)
        )
    assert soon == [] and len(due) == 1


async def test_deactivated_chat_drops_what_it_was_owed(engine: AsyncEngine) -> None:
    await _one_pending_delivery(engine)
    async with session_scope(engine) as session:
        await deactivate_chat(session=session, chat_id=BIG_CHAT, error="blocked")
    async with session_scope(engine) as session:
        chat = await session.get(Chat, BIG_CHAT)
        assert chat is not None and not chat.active
        states = (await session.exec(select(Delivery.state))).all()
        assert list(states) == ["dropped"]


async def test_update_is_claimed_only_once(engine: AsyncEngine) -> None:
    async with session_scope(engine) as session:
        assert await claim_update(session=session, update_id=2**40) is True
    async with session_scope(engine) as session:
        assert await claim_update(session=session, update_id=2**40) is False


async def test_following_and_unfollowing(engine: AsyncEngine) -> None:
    person_id = await _person(engine)
    async with session_scope(engine) as session:
        await ensure_chat(session=session, chat_id=BIG_CHAT, kind="supergroup", language="kk")
        assert await subscribe(session=session, chat_id=BIG_CHAT, person_id=person_id)
        assert not await subscribe(session=session, chat_id=BIG_CHAT, person_id=person_id)
        assert await subscribe(session=session, chat_id=BIG_CHAT, person_id=None)
        assert not await subscribe(session=session, chat_id=BIG_CHAT, person_id=None)
    async with session_scope(engine) as session:
        rows = await followings(session=session, chat_id=BIG_CHAT)
        assert [row.person.name if row.person else "all" for row in rows] == ["all", "Qaisha Aqan"]
        assert await unsubscribe(session=session, chat_id=BIG_CHAT, person_id=person_id)
        assert not await unsubscribe(session=session, chat_id=BIG_CHAT, person_id=person_id)


async def test_person_card_gathers_spellings_case_and_last_change(engine: AsyncEngine) -> None:
    async with session_scope(engine) as session:
        person = await add_person(
            session=session,
            name="Qaisha Aqan",
            other_spellings=["Қайша Ақан"],
            sources=["the article"],
            actor_id=None,
            pushed=False,
        )
        await add_case(session=session, person_id=person.id, charge="illegal border crossing")
    async with session_scope(engine) as session:
        card = await load_person_card(session=session, person=person)
    assert card.spellings == ["Qaisha Aqan", "Қайша Ақан"]
    assert card.case is not None and card.case.charge == "illegal border crossing"
    assert card.last_event is not None and card.last_event.kind == "person_added"
    assert card.sources == ["the article"] and card.next_hearing is None
