"""The audit log as /audit reads it: who did what and when, newest first, a page at a time.

Read only. `audit_entry` is append-only (the database refuses an UPDATE or a DELETE of it,
migration 0007), and nothing here writes it: each change writes its own entry in its own
transaction (`storage/timeline.record_change`, `set_visibility`, `undo_last_change`, …).
Pages are read by keyset on the entry's id, newest first. Since no entry is ever removed,
the entry a page button pages from is still there: a page read from it towards older
entries has newer ones (that entry at least), and the other way round.
"""

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEntry, Event

AUDIT_PAGE = 10
UNDO = "undo"  # the action of an /undo's entry; its detail is the id of the event taken back


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit log, newest first, and whether there is more each way."""

    entries: list[AuditEntry]
    newer: bool
    older: bool


async def audit_page(
    *,
    session: AsyncSession,
    person_id: int | None = None,
    before: int | None = None,
    after: int | None = None,
    size: int = AUDIT_PAGE,
) -> AuditPage:
    """The newest entries (about `person_id` only, if given); or, with `before`, those just
    older than that entry; or, with `after`, those just newer. Empty when none are that way."""
    statement = select(AuditEntry)
    if person_id is not None:
        statement = statement.where(col(AuditEntry.person_id) == person_id)
    if after is not None:
        statement = statement.where(col(AuditEntry.id) > after).order_by(col(AuditEntry.id))
        found = list((await session.exec(statement.limit(size + 1))).all())
        entries = found[:size][::-1]
        return AuditPage(entries=entries, newer=len(found) > size, older=bool(entries))
    if before is not None:
        statement = statement.where(col(AuditEntry.id) < before)
    statement = statement.order_by(col(AuditEntry.id).desc()).limit(size + 1)
    found = list((await session.exec(statement)).all())
    entries = found[:size]
    return AuditPage(
        entries=entries, newer=before is not None and bool(entries), older=len(found) > size
    )


def undone_event_id(entry: AuditEntry) -> int | None:
    """The event an /undo's entry took back (None for any other entry)."""
    detail = (entry.detail or "").strip()
    return int(detail) if entry.action == UNDO and detail.isdigit() else None


async def undone_events(*, session: AsyncSession, entries: list[AuditEntry]) -> dict[int, Event]:
    """The changes the /undo entries among `entries` took back, by event id: one query."""
    ids = {event_id for entry in entries if (event_id := undone_event_id(entry)) is not None}
    if not ids:
        return {}
    found = await session.exec(select(Event).where(col(Event.id).in_(ids)))
    return {event.id: event for event in found.all() if event.id is not None}
