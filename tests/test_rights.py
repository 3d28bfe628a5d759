"""Who may see and change what: restricted people reach editors' private chats only, and in a
group only its administrators change what it follows and how (SQLite and PostgreSQL)."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from storage.engine import session_scope
from storage.following import ensure_chat, subscribe
from storage.models import (
    Admin,
    AuditEntry,
    Delivery,
    DeliveryState,
    Person,
    Role,
    Visibility,
)
from storage.outbox import expand_due_events
from storage.people import add_person
from storage.visibility import set_visibility
from tests.factories import change_status

NOW = datetime(2030, 1, 1, tzinfo=UTC)
EDITOR_CHAT, VIEWER_CHAT, STRANGER_CHAT = 7001, 7008, 7004
GROUP_CHAT = -1001234567890123
EDITOR_IN_A_GROUP = -1009999999999  # not a private chat, whoever is in it


async def _followers_of(engine: AsyncEngine, person_id: int) -> None:
    """An editor, a viewer, a stranger and two groups follow the person, and everyone."""
    async with session_scope(engine) as session:
        session.add(Admin(user_id=EDITOR_CHAT, role=Role.EDITOR))
        session.add(Admin(user_id=VIEWER_CHAT, role=Role.VIEWER))
        for chat_id in (EDITOR_CHAT, VIEWER_CHAT, STRANGER_CHAT, GROUP_CHAT, EDITOR_IN_A_GROUP):
            kind = "private" if chat_id > 0 else "supergroup"
            await ensure_chat(session=session, chat_id=chat_id, kind=kind, language="en")
            await subscribe(session=session, chat_id=chat_id, person_id=person_id)
            await subscribe(session=session, chat_id=chat_id, person_id=None)


async def _pushed_to(engine: AsyncEngine) -> list[int]:
    async with session_scope(engine) as session:
        await expand_due_events(session=session, now=NOW)
        pending = select(Delivery.chat_id).where(Delivery.state == DeliveryState.PENDING)
        return sorted((await session.exec(pending.order_by(col(Delivery.chat_id)))).all())


async def test_a_push_about_a_restricted_person_reaches_editors_private_chats_only(
    engine: AsyncEngine,
) -> None:
    async with session_scope(engine) as session:
        person = await add_person(
            session=session, name="Murager Alimuly", actor_id=1, pushed=False
        )
    assert person.id is not None
    await _followers_of(engine, person.id)
    async with session_scope(engine) as session:
        restricted = await session.get(Person, person.id)
        assert restricted is not None
        assert await set_visibility(
            session=session,
            person=restricted,
            visibility=Visibility.RESTRICTED,
            actor_id=EDITOR_CHAT,
            now=NOW,
        )
        await change_status(session, restricted)
    assert await _pushed_to(engine) == [EDITOR_CHAT]


async def test_restricting_drops_what_outsiders_were_still_owed_and_is_audited(
    engine: AsyncEngine,
) -> None:
    async with session_scope(engine) as session:
        person = await add_person(session=session, name="Qaisha Aqan", actor_id=1, pushed=False)
    assert person.id is not None
    await _followers_of(engine, person.id)
    async with session_scope(engine) as session:
        await change_status(session, person)
    everyone = [GROUP_CHAT, EDITOR_IN_A_GROUP, EDITOR_CHAT, STRANGER_CHAT, VIEWER_CHAT]
    assert await _pushed_to(engine) == everyone
    async with session_scope(engine) as session:
        assert await set_visibility(
            session=session,
            person=person,
            visibility=Visibility.RESTRICTED,
            actor_id=EDITOR_CHAT,
            now=NOW,
        )
        assert not await set_visibility(
            session=session,
            person=person,
            visibility=Visibility.RESTRICTED,
            actor_id=EDITOR_CHAT,
            now=NOW,
        )
    assert await _pushed_to(engine) == [EDITOR_CHAT]
    async with session_scope(engine) as session:
        (audit,) = (
            await session.exec(select(AuditEntry).where(AuditEntry.action == "visibility_changed"))
        ).all()
        assert (audit.actor_id, audit.person_id) == (EDITOR_CHAT, person.id)
        assert audit.detail == '{"old": "public", "new": "restricted"}'
