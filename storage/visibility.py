"""Who may see a person: everyone (public), or only owners, editors and viewers, in their
private chats (restricted).

A restricted person's record is never shown in a group or followed by one; pushes about them
reach only the private chats of owners, editors and viewers (a viewer sees the records and
changes nothing, so hears what they follow by name like an editor), whoever followed them
before.
"""

import json
from datetime import datetime

from sqlalchemy import ColumnElement, and_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Admin,
    AuditEntry,
    Chat,
    Delivery,
    DeliveryState,
    Event,
    Person,
    Role,
    Visibility,
)

VISIBILITY_CHANGED = "visibility_changed"
# The roles that keep the records; and those that may see restricted people: the keepers and
# the viewers (who see the records and the audit, and change nothing).
KEEPERS = (Role.OWNER, Role.EDITOR)
READERS = (*KEEPERS, Role.VIEWER)


def sees_restricted() -> ColumnElement[bool]:
    """Chats allowed to hear about a restricted person: an owner's, editor's or viewer's
    private chat (a private chat's id is its user's id)."""
    readers = select(Admin.user_id).where(col(Admin.role).in_(READERS))
    return and_(col(Chat.kind) == "private", col(Chat.id).in_(readers))


async def set_visibility(
    *,
    session: AsyncSession,
    person: Person,
    visibility: Visibility,
    actor_id: int | None,
    now: datetime,
) -> bool:
    """Make a person public or restricted, with its audit entry; False if it was so already.

    Restricting also drops what was still owed about them to chats that may not see them.
    Nobody is told: followers are not notified of a change of visibility.
    """
    assert person.id is not None
    old = person.visibility
    if old == visibility:
        return False
    person.visibility = visibility
    person.updated_at = now
    session.add(person)
    session.add(
        AuditEntry(
            actor_id=actor_id,
            action=VISIBILITY_CHANGED,
            person_id=person.id,
            detail=json.dumps({"old": old, "new": visibility.value}),
            at=now,
        )
    )
    if visibility == Visibility.RESTRICTED:
        await drop_owed_to_outsiders(session, [person.id])
    return True


async def drop_owed_to_outsiders(session: AsyncSession, person_ids: list[int]) -> None:
    """Drop what is still owed about these people (restricted now) to chats that may not see
    them."""
    about_person = select(Event.id).where(col(Event.person_id).in_(person_ids))
    outsiders = select(Chat.id).where(~sees_restricted())
    await session.exec(
        update(Delivery)
        .where(
            col(Delivery.state) == DeliveryState.PENDING,
            col(Delivery.event_id).in_(about_person),
            col(Delivery.chat_id).in_(outsiders),
        )
        .values(
            state=DeliveryState.DROPPED,
            lease_until=None,
            last_error="person restricted to editors",
        )
    )
