"""Who may keep the records: owners (from ADMIN_IDS), editors and viewers.

Owners add and remove editors and viewers (by user id, or by @username: an invitation taken
up the first time that user's role is checked). Every change of a role, and every invitation
made, withdrawn or taken up, writes its audit entry in the caller's transaction.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import case, delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Admin, AdminInvite, AuditEntry, Chat, Role, utcnow
from storage.timeline import insert_ignoring_conflicts
from storage.visibility import READERS

# How long an invitation by @username waits for that user to write to the bot.
INVITE_DAYS = 7
# Audit actions.
ADMIN_ADDED = "admin_added"
ADMIN_ROLE_CHANGED = "admin_role_changed"
ADMIN_REMOVED = "admin_removed"
ADMIN_INVITED = "admin_invited"
ADMIN_INVITE_REMOVED = "admin_invite_removed"
ADMIN_INVITE_TAKEN = "admin_invite_taken"


class RoleChange(StrEnum):
    """What `/admins add` or `/admins remove` came to."""

    ADDED = "added"
    CHANGED = "changed"  # had another role, has this one now
    UNCHANGED = "unchanged"  # had this role already
    REMOVED = "removed"
    NOT_FOUND = "not_found"  # nobody to remove
    OWNER = "owner"  # owners come from ADMIN_IDS: no command adds, changes or removes them


@dataclass(frozen=True)
class Roster:
    """Everyone with a role, owners first, then editors, then viewers (each by id), and the
    invitations still waiting (by username)."""

    admins: list[Admin]
    invites: list[AdminInvite]


async def sync_owners(*, session: AsyncSession, owner_ids: Iterable[int]) -> None:
    """Make the owners exactly the ids in ADMIN_IDS; other roles are kept.

    An owner no longer listed loses the role: one an owner had added as an editor (or
    viewer) before they were listed goes back to editor, anyone else is removed. Each loss
    is audited.
    """
    owners = set(owner_ids)
    for user_id in sorted(owners):
        admin = await session.get(Admin, user_id)
        if admin is None:
            session.add(Admin(user_id=user_id, role=Role.OWNER))
        elif admin.role != Role.OWNER:
            admin.role = Role.OWNER
            session.add(admin)
    unlisted = select(Admin).where(
        col(Admin.role) == Role.OWNER, col(Admin.user_id).not_in(owners)
    )
    for admin in (await session.exec(unlisted)).all():
        if admin.added_by is None:
            await session.delete(admin)
            action = "owner_removed"
        else:
            admin.role = Role.EDITOR
            session.add(admin)
            action = "owner_made_editor"
        session.add(AuditEntry(actor_id=None, action=action, detail=str(admin.user_id)))


async def role_of(
    *, session: AsyncSession, user_id: int, username: str | None = None
) -> Role | None:
    """The user's role now (None: no role). With the user's Telegram `username`, an
    invitation waiting for it is taken up first."""
    if username:
        taken = await take_up_invite(session=session, user_id=user_id, username=username)
        if taken is not None:
            return taken
    admin = await session.get(Admin, user_id)
    return None if admin is None else Role(admin.role)


async def take_up_invite(*, session: AsyncSession, user_id: int, username: str) -> Role | None:
    """The role an invitation to @`username` gives, now the user's (None: no invitation
    waiting, or the user is an owner, whose role stays). The invitation is gone once taken,
    with its audit entry."""
    invite = await session.get(AdminInvite, username.lower())
    if invite is None or invite.expires_at <= utcnow():
        return None
    admin = await session.get(Admin, user_id)
    if admin is not None and admin.role == Role.OWNER:
        return None
    # Two updates of the user's at once may both find the invitation: only the one that
    # deletes it gives the role.
    taken = await session.exec(
        delete(AdminInvite).where(col(AdminInvite.username) == invite.username)
    )
    if not taken.rowcount:
        return None
    role = Role(invite.role)
    if admin is None:
        row = {"user_id": user_id, "role": role, "added_by": invite.added_by}
        await insert_ignoring_conflicts(session, Admin, [row])
    else:
        admin.role = role
        session.add(admin)
    detail = {
        "user_id": user_id,
        "username": invite.username,
        "role": role.value,
        "added_by": invite.added_by,
    }
    _audit(session, user_id, ADMIN_INVITE_TAKEN, detail, utcnow())
    return role


async def roster(*, session: AsyncSession, now: datetime) -> Roster:
    """Everyone with a role, and the invitations not yet expired."""
    rank = case({Role.OWNER: 0, Role.EDITOR: 1}, value=col(Admin.role), else_=2)
    admins = await session.exec(select(Admin).order_by(rank, col(Admin.user_id)))
    invites = await session.exec(
        select(AdminInvite)
        .where(col(AdminInvite.expires_at) > now)
        .order_by(col(AdminInvite.username))
    )
    return Roster(admins=list(admins.all()), invites=list(invites.all()))


async def give_role(
    *, session: AsyncSession, user_id: int, role: Role, actor_id: int, now: datetime
) -> RoleChange:
    """Make `user_id` an editor or a viewer (an owner stays one), with its audit entry."""
    assert role != Role.OWNER, "owners come from ADMIN_IDS"
    admin = await session.get(Admin, user_id)
    if admin is not None and admin.role == Role.OWNER:
        return RoleChange.OWNER
    if admin is not None and admin.role == role:
        return RoleChange.UNCHANGED
    old = None if admin is None else admin.role
    if admin is None:
        session.add(Admin(user_id=user_id, role=role, added_by=actor_id, added_at=now))
    else:
        admin.role = role
        session.add(admin)
    detail = {"user_id": user_id, "role": role.value} | ({"old": old} if old else {})
    action = ADMIN_ADDED if old is None else ADMIN_ROLE_CHANGED
    _audit(session, actor_id, action, detail, now)
    return RoleChange.ADDED if old is None else RoleChange.CHANGED


async def take_role(
    *, session: AsyncSession, user_id: int, actor_id: int, now: datetime
) -> RoleChange:
    """Take an editor's or viewer's role away (an owner's stays), with its audit entry."""
    admin = await session.get(Admin, user_id)
    if admin is None:
        return RoleChange.NOT_FOUND
    if admin.role == Role.OWNER:
        return RoleChange.OWNER
    await session.delete(admin)
    await session.flush()
    detail = {"user_id": user_id, "role": admin.role}
    _audit(session, actor_id, ADMIN_REMOVED, detail, now)
    return RoleChange.REMOVED


async def invite(
    *, session: AsyncSession, username: str, role: Role, actor_id: int, now: datetime
) -> RoleChange:
    """Give a role to whoever writes to the bot as @`username` within INVITE_DAYS, with its
    audit entry. Inviting again renews the invitation (with the role now given)."""
    assert role != Role.OWNER, "owners come from ADMIN_IDS"
    name = username.lower()
    found = await session.get(AdminInvite, name)
    live = found is not None and found.expires_at > now
    if found is not None and live and found.role == role:
        return RoleChange.UNCHANGED
    expires_at = now + timedelta(days=INVITE_DAYS)
    if found is None:
        found = AdminInvite(username=name, role=role, added_by=actor_id, added_at=now)
    found.role, found.added_by, found.added_at, found.expires_at = role, actor_id, now, expires_at
    session.add(found)
    detail = {"username": name, "role": role.value, "expires_at": expires_at.isoformat()}
    _audit(session, actor_id, ADMIN_INVITED, detail, now)
    return RoleChange.CHANGED if live else RoleChange.ADDED


async def withdraw_invite(
    *, session: AsyncSession, username: str, actor_id: int, now: datetime
) -> RoleChange:
    """Withdraw the invitation waiting for @`username`, with its audit entry."""
    found = await session.get(AdminInvite, username.lower())
    if found is None or found.expires_at <= now:
        return RoleChange.NOT_FOUND
    await session.delete(found)
    await session.flush()
    detail = {"username": found.username, "role": found.role}
    _audit(session, actor_id, ADMIN_INVITE_REMOVED, detail, now)
    return RoleChange.REMOVED


def _audit(
    session: AsyncSession, actor_id: int, action: str, detail: Mapping[str, object], now: datetime
) -> None:
    session.add(AuditEntry(actor_id=actor_id, action=action, detail=json.dumps(detail), at=now))


async def menu_roles(*, session: AsyncSession) -> list[tuple[int, str | None, Role]]:
    """Each owner, editor and viewer, with the stored language of their private chat (None
    if the bot has none) and their role: whose command menu is their own."""
    statement = (
        select(Admin.user_id, Chat.language, Admin.role)
        .join(Chat, col(Chat.id) == col(Admin.user_id), isouter=True)
        .where(col(Admin.role).in_(READERS))
        .order_by(col(Admin.user_id))
    )
    rows = (await session.exec(statement)).all()
    return [(user_id, lang, Role(role)) for user_id, lang, role in rows]
