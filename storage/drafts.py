"""Editors' commands waiting for them (`EditorDraft`): a choice among several people, a
confirmation, a step of guided editing. In the database, so they survive a restart and every
process sees them; each is the editor's own, in the chat where it was made."""

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import EditorDraft, utcnow

# A draft not taken up for this long is gone (and deleted when its editor makes another).
DRAFT_LIFETIME = timedelta(days=1)


async def save_draft(
    *, session: AsyncSession, user_id: int, chat_id: int, kind: str, state: Mapping[str, Any]
) -> EditorDraft:
    """Keep a waiting command; the editor's drafts that have lapsed are deleted on the way."""
    now = utcnow()
    await session.exec(
        delete(EditorDraft).where(
            col(EditorDraft.user_id) == user_id,
            col(EditorDraft.updated_at) < now - DRAFT_LIFETIME,
        )
    )
    draft = EditorDraft(
        user_id=user_id,
        chat_id=chat_id,
        kind=kind,
        state=json.dumps(state, ensure_ascii=False, sort_keys=True),
        created_at=now,
        updated_at=now,
    )
    session.add(draft)
    await session.flush()
    return draft


def draft_state(draft: EditorDraft) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(draft.state)
    return state


async def find_draft(
    *,
    session: AsyncSession,
    user_id: int,
    chat_id: int,
    kind: str,
    draft_id: int | None = None,
    now: datetime | None = None,
) -> EditorDraft | None:
    """The editor's live draft of `kind` in this chat (the one numbered `draft_id`, or the
    latest); None if there is none, or it is someone else's, or it lapsed."""
    statement = (
        select(EditorDraft)
        .where(
            col(EditorDraft.user_id) == user_id,
            col(EditorDraft.chat_id) == chat_id,
            col(EditorDraft.kind) == kind,
            col(EditorDraft.updated_at) >= (now or utcnow()) - DRAFT_LIFETIME,
        )
        .order_by(col(EditorDraft.id).desc())
        .limit(1)
    )
    if draft_id is not None:
        statement = statement.where(col(EditorDraft.id) == draft_id)
    return (await session.exec(statement)).first()


async def take_draft(
    *, session: AsyncSession, user_id: int, chat_id: int, kind: str, draft_id: int
) -> dict[str, Any] | None:
    """The state of the draft, which is deleted: taken up once (a second press finds none)."""
    draft = await find_draft(
        session=session, user_id=user_id, chat_id=chat_id, kind=kind, draft_id=draft_id
    )
    if draft is None:
        return None
    result = await session.exec(delete(EditorDraft).where(col(EditorDraft.id) == draft.id))
    # A concurrent press took it between the read and the delete.
    return draft_state(draft) if result.rowcount == 1 else None


async def drop_drafts(
    *, session: AsyncSession, user_id: int, chat_id: int, kinds: tuple[str, ...] | None = None
) -> int:
    """Forget the editor's drafts in this chat (of these kinds, or all); returns how many."""
    statement = delete(EditorDraft).where(
        col(EditorDraft.user_id) == user_id, col(EditorDraft.chat_id) == chat_id
    )
    if kinds is not None:
        statement = statement.where(col(EditorDraft.kind).in_(kinds))
    result = await session.exec(statement)
    return int(result.rowcount or 0)
