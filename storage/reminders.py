"""Hearing reminders: before each scheduled hearing, its followers are reminded at their offsets.

A periodic scan (`queue_due_reminders`) finds the reminders that are due and writes each as an
event of kind `reminder` with its deliveries, straight into the outbox: the sender delivers
them like any push. A reminder is one (hearing, start time, offset); its dedup key makes it
at most once, across scans, restarts and processes. The start time in the key means a moved
hearing is reminded at its new time only; a cancelled or postponed one is not scheduled, so
it is never found.

A chat's offsets are stored canonically, largest first: `7d,1d,1h` ("" for none).
"""

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, exists
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.following import ensure_chat, told_of
from storage.models import (
    Case,
    ChangeKind,
    Chat,
    Event,
    EventKind,
    Hearing,
    HearingStatus,
    Person,
    Subscription,
    Visibility,
)
from storage.outbox import queue_deliveries
from storage.people import HearingSlot
from storage.timeline import insert_ignoring_conflicts

MIN_OFFSET = timedelta(minutes=5)  # the scan runs about once a minute
MAX_OFFSET = timedelta(days=30)
MAX_OFFSETS = 6
DEFAULT_OFFSETS: str = Chat.model_fields["reminder_offsets"].default
# The changes that move a hearing; a reminder waits until they are out of their grace window.
HEARING_CHANGES = (EventKind.HEARING_SET, EventKind.HEARING_MOVED, EventKind.HEARING_CANCELLED)

_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_OFFSET = re.compile(r"(\d{1,5})([dhm])")
_SEPARATORS = re.compile(r"[,;\s]+")
_KEYS_PER_QUERY = 500


def offset_of(token: str) -> timedelta | None:
    """`30m`, `2h`, `7d` → that long; None when `token` is not written so."""
    match = _OFFSET.fullmatch(token.strip().lower())
    return None if match is None else int(match.group(1)) * _UNITS[match.group(2)]


def offset_token(offset: timedelta) -> str:
    """The canonical way to write an offset: in the largest unit that divides it (`1d`, `90m`)."""
    for unit, size in _UNITS.items():
        if offset % size == timedelta(0):
            return f"{offset // size}{unit}"
    raise ValueError(f"not a whole number of minutes: {offset}")


def chat_offsets(stored: str | None) -> tuple[timedelta, ...]:
    """The offsets a chat's stored setting stands for, largest first (`off` or "": none).

    Tokens that are not offsets from MIN_OFFSET to MAX_OFFSET are ignored.
    """
    offsets = {
        offset
        for token in _SEPARATORS.split(stored or "")
        if (offset := offset_of(token)) is not None and MIN_OFFSET <= offset <= MAX_OFFSET
    }
    return tuple(sorted(offsets, reverse=True))


def stored_offsets(offsets: Iterable[timedelta]) -> str:
    """What `chat_offsets` reads back: `7d,1d,1h`, or "" for none."""
    return ",".join(offset_token(offset) for offset in sorted(set(offsets), reverse=True))


def due_offset(offsets: Sequence[timedelta], left: timedelta) -> timedelta | None:
    """Which of a chat's offsets to remind at when `left` remains before the hearing, if any.

    The smallest offset not shorter than `left`: its moment has come and is the most recent
    one. Larger offsets are stale (a hearing set 30 minutes ahead is not also reminded
    "in 1 day"; after hours of downtime the 1 h reminder goes, not the missed 1 d one) and
    smaller ones are not due yet.
    """
    due = [offset for offset in offsets if offset >= left]
    return min(due) if due else None


async def reminder_offsets(*, session: AsyncSession, chat_id: int) -> tuple[timedelta, ...]:
    """When a chat is reminded before hearings (the default for a chat not seen yet)."""
    chat = await session.get(Chat, chat_id)
    return chat_offsets(DEFAULT_OFFSETS if chat is None else chat.reminder_offsets)


async def set_reminder_offsets(
    *, session: AsyncSession, chat_id: int, kind: str, language: str, offsets: Sequence[timedelta]
) -> None:
    """Remind this chat at `offsets` before each hearing (none: no reminders)."""
    chat = await ensure_chat(session=session, chat_id=chat_id, kind=kind, language=language)
    chat.reminder_offsets = stored_offsets(offsets)
    session.add(chat)


@dataclass(frozen=True)
class _Reminder:
    """One due reminder, and the stored offset settings of the chats it is owed to."""

    slot: HearingSlot
    offset: timedelta
    settings: tuple[str, ...]

    @property
    def starts_at(self) -> datetime:
        assert self.slot.hearing.starts_at is not None
        return self.slot.hearing.starts_at.astimezone(UTC)

    @property
    def key(self) -> str:
        start = self.starts_at.isoformat()
        return f"reminder:{self.slot.hearing.id}:{start}:{offset_token(self.offset)}"


async def queue_due_reminders(
    *, session: AsyncSession, now: datetime, horizon: timedelta = MAX_OFFSET
) -> int:
    """Write the hearing reminders that are due as events with their deliveries (no commit).

    Looks at the scheduled hearings not yet started, within the largest offset any following
    chat uses (at most `horizon` ahead), of people someone follows. Each chat gets the
    reminder of its `due_offset`; each (hearing, start time, offset) is written once, with one
    delivery per active chat that follows the person then and is due at that offset.
    Returns the number of deliveries queued.
    """
    settings = await _settings_in_use(session)
    if not settings:
        return 0
    reach = min(horizon, max(offsets[0] for offsets in settings.values()))
    slots = await _hearings_to_remind(session, now=now, until=now + reach)
    due = [reminder for slot in slots for reminder in _due_reminders(slot, settings, now)]
    written = await _written(session, [reminder.key for reminder in due])
    queued = 0
    for reminder in due:
        if reminder.key not in written:
            queued += await _queue(session, reminder, now)
    return queued


async def _settings_in_use(session: AsyncSession) -> dict[str, tuple[timedelta, ...]]:
    """The distinct offset settings of active chats that follow anyone, read."""
    statement = (
        select(Chat.reminder_offsets)
        .join(Subscription, col(Subscription.chat_id) == col(Chat.id))
        .where(col(Chat.active).is_(True))
        .distinct()
    )
    stored = (await session.exec(statement)).all()
    read = {setting: chat_offsets(setting) for setting in stored}
    return {setting: offsets for setting, offsets in read.items() if offsets}


async def _hearings_to_remind(
    session: AsyncSession, *, now: datetime, until: datetime
) -> list[HearingSlot]:
    statement = (
        select(Hearing, Case, Person)
        .join(Case, col(Hearing.case_id) == col(Case.id))
        .join(Person, col(Case.person_id) == col(Person.id))
        .where(
            col(Hearing.status) == HearingStatus.SCHEDULED,
            col(Hearing.starts_at) > now,
            col(Hearing.starts_at) <= until,
            _followed(),
            _settled(),
        )
        .order_by(col(Hearing.starts_at), col(Hearing.id))
    )
    rows = (await session.exec(statement)).all()
    return [HearingSlot(hearing=h, case=c, person=p) for h, c, p in rows]


def _followed() -> ColumnElement[bool]:
    """Some active chat hears of the person's hearings (storage/following.py `told_of`)."""
    told = told_of(
        person_id=col(Case.person_id),
        public=col(Person.visibility) == Visibility.PUBLIC,
        changes=[ChangeKind.HEARINGS],
    )
    return exists().where(col(Chat.active).is_(True), told)


def _settled() -> ColumnElement[bool]:
    """No change to the person's hearings is still in its grace window (it may yet be undone,
    and its own push goes first)."""
    pending = exists().where(
        col(Event.person_id) == col(Case.person_id),
        col(Event.kind).in_(HEARING_CHANGES),
        col(Event.expanded_at).is_(None),
    )
    return ~pending


def _due_reminders(
    slot: HearingSlot, settings: dict[str, tuple[timedelta, ...]], now: datetime
) -> list[_Reminder]:
    """The reminders of one hearing due now, each with the settings that choose it."""
    assert slot.hearing.starts_at is not None
    left = slot.hearing.starts_at - now
    chosen: dict[timedelta, list[str]] = {}
    for setting, offsets in settings.items():
        offset = due_offset(offsets, left)
        if offset is not None:
            chosen.setdefault(offset, []).append(setting)
    return [
        _Reminder(slot=slot, offset=offset, settings=tuple(sorted(chosen[offset])))
        for offset in sorted(chosen, reverse=True)
    ]


async def _written(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of these reminders were written before (by any scan, in any process)."""
    found: set[str] = set()
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = keys[start : start + _KEYS_PER_QUERY]
        statement = select(Event.dedup_key).where(col(Event.dedup_key).in_(chunk))
        found.update((await session.exec(statement)).all())
    return found


async def _queue(session: AsyncSession, reminder: _Reminder, now: datetime) -> int:
    """Write one reminder and its deliveries, if anyone is owed it and it is not written yet."""
    person, hearing, case = reminder.slot.person, reminder.slot.hearing, reminder.slot.case
    assert person.id is not None
    public = person.visibility == Visibility.PUBLIC
    owed = col(Chat.reminder_offsets).in_(reminder.settings)
    told = told_of(person_id=person.id, public=public, changes=[ChangeKind.HEARINGS])
    anyone = select(Chat.id).where(col(Chat.active).is_(True), told, owed).limit(1)
    if (await session.exec(anyone)).first() is None:
        return 0
    value = {
        "hearing_id": hearing.id,
        "starts_at": reminder.starts_at.isoformat(),
        "tz": case.tz,
        "place": hearing.place or case.court,
        "offset": offset_token(reminder.offset),
    }
    row = {
        "person_id": person.id,
        "kind": EventKind.REMINDER.value,
        "new_value": json.dumps(value, ensure_ascii=False, sort_keys=True),
        "effective_at": now,
        "dedup_key": reminder.key,
        "created_at": now,
        "not_before": now,
        "expanded_at": now,  # not for the normal fan-out: its deliveries are written here
        "cancelled": False,
    }
    if not await insert_ignoring_conflicts(session, Event, [row]):
        return 0  # another process wrote it just now
    event_id = (
        await session.exec(select(Event.id).where(col(Event.dedup_key) == reminder.key))
    ).one()
    assert event_id is not None
    return await queue_deliveries(
        session=session,
        event_id=event_id,
        person_id=person.id,
        public=public,
        changes=[ChangeKind.HEARINGS],
        now=now,
        chats=owed,
    )
