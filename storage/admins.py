"""Who may keep the records: owners (from ADMIN_IDS), editors and viewers."""

from collections.abc import Iterable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Admin, AuditEntry, Role


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


async def role_of(*, session: AsyncSession, user_id: int) -> Role | None:
    admin = await session.get(Admin, user_id)
    return None if admin is None else Role(admin.role)
