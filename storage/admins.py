"""Who may keep the records: owners (from ADMIN_IDS), editors and viewers."""

from collections.abc import Iterable

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Admin, Role


async def sync_owners(*, session: AsyncSession, owner_ids: Iterable[int]) -> None:
    """Make every id in ADMIN_IDS an owner (existing roles of others are kept)."""
    for user_id in owner_ids:
        admin = await session.get(Admin, user_id)
        if admin is None:
            session.add(Admin(user_id=user_id, role=Role.OWNER))
        elif admin.role != Role.OWNER:
            admin.role = Role.OWNER
            session.add(admin)


async def role_of(*, session: AsyncSession, user_id: int) -> Role | None:
    admin = await session.get(Admin, user_id)
    return None if admin is None else Role(admin.role)
