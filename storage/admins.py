"""Who may keep the records: owners (from ADMIN_IDS), editors and viewers."""

from collections.abc import Iterable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Admin, AuditEntry, Chat, Role
from storage.visibility import KEEPERS


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


async def editors_languages(*, session: AsyncSession) -> list[tuple[int, str | None]]:
    """Each owner and editor, with the stored language of their private chat (None if the
    bot has none)."""
    statement = (
        select(Admin.user_id, Chat.language)
        .join(Chat, col(Chat.id) == col(Admin.user_id), isouter=True)
        .where(col(Admin.role).in_(KEEPERS))
        .order_by(col(Admin.user_id))
    )
    return [(user_id, lang) for user_id, lang in (await session.exec(statement)).all()]
