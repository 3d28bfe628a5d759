"""/undo in storage: it and the outbox never both win; it never undoes a later change."""

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from storage.engine import dialect_name, session_scope
from storage.following import ensure_chat, subscribe
from storage.models import Delivery, DeliveryState, Event, Hearing, Person, utcnow
from storage.outbox import expand_due_events
from storage.people import (
    UndoOutcome,
    UndoResult,
    add_person,
    next_hearing,
    undo_last_change,
)
from storage.records import MadeBy, set_person_field
from storage.timeline import push_progress
from tests.e2e import BYSTANDER, EDITOR, FOLLOWER, story
from tests.factories import change_hearing, change_status, until_a_session_waits_for_a_lock
from tests.test_authorization import make_editor
from tests.test_e2e import until_stored

FIRST, SECOND = 1, 2  # two editors
GRACE = timedelta(minutes=5)


async def _followed_person(engine: AsyncEngine) -> int:
    """A person with an asylum status, followed by one chat."""
    async with session_scope(engine) as session:
        person = await add_person(
            session=session,
            name="Qaisha Aqan",
            asylum="asylum_seeker",
            actor_id=None,
            pushed=False,
        )
        assert person.id is not None
        await ensure_chat(session=session, chat_id=100, kind="private", language="en")
        await subscribe(session=session, chat_id=100, person_id=person.id)
        return person.id


async def _set_asylum(engine: AsyncEngine, person_id: int, status: str, actor_id: int) -> None:
    async with session_scope(engine) as session:
        event = await change_status(
            session, await session.get(Person, person_id), status, actor_id=actor_id, grace=GRACE
        )
        assert event is not None


async def _asylum(engine: AsyncEngine, person_id: int) -> str | None:
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None
        return person.asylum


async def _deliveries(engine: AsyncEngine) -> int:
    async with session_scope(engine) as session:
        return len((await session.exec(select(Delivery))).all())


async def _undo(engine: AsyncEngine, actor_id: int) -> UndoResult:
    async with session_scope(engine) as session:
        return await undo_last_change(session=session, actor_id=actor_id)


async def _expand(engine: AsyncEngine) -> int:
    async with session_scope(engine) as session:
        return await expand_due_events(session=session, now=utcnow() + GRACE)


async def test_undo_inside_the_window_restores_and_the_outbox_then_sends_nothing(
    engine: AsyncEngine,
) -> None:
    person_id = await _followed_person(engine)
    await _set_asylum(engine, person_id, "refugee", FIRST)
    result = await _undo(engine, FIRST)
    assert result.outcome == UndoOutcome.UNDONE
    assert await _asylum(engine, person_id) == "asylum_seeker"
    assert await _expand(engine) == 0
    assert await _deliveries(engine) == 0
    again = await _undo(engine, FIRST)
    assert again.outcome == UndoOutcome.NOTHING


async def test_undo_after_the_outbox_claimed_the_change_is_too_late_and_changes_nothing(
    engine: AsyncEngine,
) -> None:
    person_id = await _followed_person(engine)
    await _set_asylum(engine, person_id, "refugee", FIRST)
    assert await _expand(engine) == 1
    result = await _undo(engine, FIRST)
    assert result.outcome == UndoOutcome.TOO_LATE and result.event is not None
    async with session_scope(engine) as session:
        progress = await push_progress(session=session, event=result.event)
    assert (progress.told, progress.waiting) == (0, 1)
    assert await _asylum(engine, person_id) == "refugee"
    async with session_scope(engine) as session:
        event = (await session.exec(select(Event).where(Event.actor_id == FIRST))).one()
        assert not event.cancelled


async def test_undo_refuses_to_overwrite_another_editors_later_change(
    engine: AsyncEngine,
) -> None:
    person_id = await _followed_person(engine)
    await _set_asylum(engine, person_id, "refugee", FIRST)
    await _set_asylum(engine, person_id, "rejected", SECOND)
    result = await _undo(engine, FIRST)
    assert result.outcome == UndoOutcome.CHANGED_SINCE
    assert result.later is not None and result.later.actor_id == SECOND
    assert await _asylum(engine, person_id) == "rejected"
    # Once the second editor takes theirs back, the first may take back theirs.
    assert (await _undo(engine, SECOND)).outcome == UndoOutcome.UNDONE
    assert (await _undo(engine, FIRST)).outcome == UndoOutcome.UNDONE
    assert await _asylum(engine, person_id) == "asylum_seeker"


async def test_another_editors_change_to_another_field_does_not_block_undo(
    engine: AsyncEngine,
) -> None:
    person_id = await _followed_person(engine)
    await _set_asylum(engine, person_id, "refugee", FIRST)
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        await change_status(session, person, "released", field="detention", actor_id=SECOND)
    result = await _undo(engine, FIRST)
    assert result.outcome == UndoOutcome.UNDONE
    assert await _asylum(engine, person_id) == "asylum_seeker"


async def _set_hearing(engine: AsyncEngine, person_id: int, day: int, actor_id: int) -> None:
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        await change_hearing(
            session, person, datetime(2030, 12, day, 10, 0), grace=GRACE, actor_id=actor_id
        )


async def test_undo_of_a_hearing_moved_since_by_another_editor_is_refused(
    engine: AsyncEngine,
) -> None:
    person_id = await _followed_person(engine)
    await _set_hearing(engine, person_id, 3, FIRST)
    await _set_hearing(engine, person_id, 10, SECOND)
    assert (await _undo(engine, FIRST)).outcome == UndoOutcome.CHANGED_SINCE
    async with session_scope(engine) as session:
        slot = await next_hearing(session=session, person_id=person_id)
    assert slot is not None and slot.hearing.starts_at is not None
    assert slot.hearing.starts_at.day == 10  # still the second editor's date
    assert (await _undo(engine, SECOND)).outcome == UndoOutcome.UNDONE
    assert (await _undo(engine, FIRST)).outcome == UndoOutcome.UNDONE
    async with session_scope(engine) as session:
        assert (await session.exec(select(Hearing))).all() == []  # the set hearing is gone


def _postgres_only(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writing transaction at a time: no race to lose")


async def test_outbox_skips_a_change_being_undone_and_never_sends_it(engine: AsyncEngine) -> None:
    _postgres_only(engine)
    person_id = await _followed_person(engine)
    await _set_asylum(engine, person_id, "refugee", FIRST)
    async with session_scope(engine) as undoing:
        assert dialect_name(undoing) == "postgresql"
        result = await undo_last_change(session=undoing, actor_id=FIRST)
        assert result.outcome == UndoOutcome.UNDONE
        # Not committed yet: the outbox runs meanwhile, and must not take the change.
        assert await _expand(engine) == 0
    assert await _expand(engine) == 0
    assert await _deliveries(engine) == 0
    assert await _asylum(engine, person_id) == "asylum_seeker"


async def test_undo_waiting_for_the_outbox_is_told_it_is_too_late(engine: AsyncEngine) -> None:
    _postgres_only(engine)
    person_id = await _followed_person(engine)
    await _set_asylum(engine, person_id, "refugee", FIRST)

    async with session_scope(engine) as expanding:
        assert await expand_due_events(session=expanding, now=utcnow() + GRACE) == 1
        # The undo reads the change as not yet claimed; its cancel has to wait for the claim.
        undoing = asyncio.create_task(_undo(engine, FIRST))
        await until_a_session_waits_for_a_lock(engine)
    assert (await undoing).outcome == UndoOutcome.TOO_LATE
    assert await _asylum(engine, person_id) == "refugee"
    assert await _deliveries(engine) == 1


# --- end to end: what the editor is told ------------------------------------------------


async def test_undo_after_the_push_went_out_says_it_is_too_late_and_how_far_it_went(
    database_url: str,
) -> None:
    async with story(database_url) as bot:  # no grace window: the push goes at once
        await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
        await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")
        await bot.api.wait_for_messages(FOLLOWER.id, 2)
        await until_stored(
            database_url, select(Delivery).where(Delivery.state == DeliveryState.SENT)
        )
        late = await bot.say(EDITOR, "/undo")
        card = await bot.say(FOLLOWER, "/person Qaisha Aqan")
    assert (late.text or "").startswith("Too late to take back for <b>Qaisha Aqan</b>")
    assert "Chats told: 1; still on the way: 0." in (late.text or "")
    assert "Asylum: <b>refugee</b>" in (card.text or "")


async def test_undo_refuses_and_names_the_editor_who_changed_the_field_since(
    database_url: str,
) -> None:
    await make_editor(database_url, BYSTANDER.id)
    async with story(database_url, notify_grace_seconds=3600) as bot:
        await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")
        await bot.say(BYSTANDER, "/setasylum Qaisha Aqan rejected")
        refused = await bot.say(EDITOR, "/undo")
        card = await bot.say(FOLLOWER, "/person Qaisha Aqan")
    text = refused.text or ""
    assert text.startswith("Not taken back for <b>Qaisha Aqan</b>")
    assert f'It was changed again since: editor <a href="tg://user?id={BYSTANDER.id}">' in text
    assert "Asylum: <b>asylum rejected</b>" in (card.text or "")


async def test_undo_after_a_record_field_change_says_so_and_takes_back_nothing_older(
    engine: AsyncEngine,
) -> None:
    person_id = await _followed_person(engine)
    await _set_asylum(engine, person_id, "refugee", FIRST)
    async with session_scope(engine) as session:
        person = await session.get(Person, person_id)
        assert person is not None
        by = MadeBy(actor_id=FIRST, grace=GRACE)
        assert await set_person_field(
            session=session, person=person, field="origin", value="Ili", by=by
        )
    result = await _undo(engine, FIRST)
    assert result.outcome == UndoOutcome.NOT_UNDOABLE
    assert await _asylum(engine, person_id) == "refugee"  # the older change stands
