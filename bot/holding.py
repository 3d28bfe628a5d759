"""When a push may go: quiet hours hold it, a daily digest gathers it, urgent news breaks through.

Pure functions of a chat's settings, the changes and the time; the chat's clock is the
bot's time zone (CASEWATCH_TZ).
"""

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.models import DetentionStatus, Event, EventKind
from storage.timeline import load_value

URGENT_WITHIN = timedelta(hours=24)
# Detention news that cannot wait until morning.
URGENT_DETENTION = frozenset(
    {
        DetentionStatus.PRETRIAL_DETENTION,
        DetentionStatus.HOUSE_ARREST,
        DetentionStatus.IMPRISONED,
        DetentionStatus.DEPORTED,
        DetentionStatus.EXTRADITED,
    }
)


# The changes that may send people to a court, or keep them from going: their time counts.
_COMING_HEARING = (EventKind.HEARING_SET, EventKind.HEARING_MOVED, EventKind.HEARING_CANCELLED)


def is_urgent(changes: Sequence[Event], now: datetime) -> bool:
    """A verdict, a detention or deportation, or a hearing set, moved or called off into, out
    of or within the next 24 hours (people may be on their way to it). A hearing gone by
    (held, adjourned) is news, not an alarm."""
    for event in changes:
        new = load_value(event.new_value)
        if event.kind == EventKind.VERDICT:
            return True
        if event.kind == EventKind.DETENTION_CHANGED and new.get("status") in URGENT_DETENTION:
            return True
        if event.kind not in _COMING_HEARING:
            continue
        for value in (new, load_value(event.old_value)):
            starts_at = value.get("starts_at")
            if starts_at and datetime.fromisoformat(starts_at) - now <= URGENT_WITHIN:
                return True
    return False


def parse_clock_range(value: str) -> tuple[time, time]:
    """`22:00-07:00` → (22:00, 07:00)."""
    start, end = value.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def quiet_until(quiet_hours: str | None, now: datetime, tz: str) -> datetime | None:
    """The end of the quiet hours `now` falls in, or None when it is not quiet."""
    if not quiet_hours:
        return None
    start, end = parse_clock_range(quiet_hours)
    local = now.astimezone(ZoneInfo(tz))
    today_end = datetime.combine(local.date(), end, tzinfo=local.tzinfo)
    clock = local.time()
    if start <= end:
        quiet = start <= clock < end
        until = today_end
    else:  # across midnight, e.g. 22:00-07:00
        quiet = clock >= start or clock < end
        until = today_end if clock < end else today_end + timedelta(days=1)
    return until if quiet else None


def digest_due(digest_hour: int | None, now: datetime, tz: str) -> datetime | None:
    """When a non-urgent push to a digest chat goes: None inside its digest hour (now)."""
    if digest_hour is None:
        return None
    local = now.astimezone(ZoneInfo(tz))
    if local.hour == digest_hour:
        return None
    moment = datetime.combine(local.date(), time(digest_hour), tzinfo=local.tzinfo)
    return moment if moment > local else moment + timedelta(days=1)


def hold_until(
    *,
    quiet_hours: str | None,
    digest_hour: int | None,
    changes: Sequence[Event],
    now: datetime,
    tz: str,
) -> datetime | None:
    """When to send instead of now, or None to send now."""
    if is_urgent(changes, now):
        return None
    later = digest_due(digest_hour, now, tz)
    quiet_end = quiet_until(quiet_hours, later or now, tz)
    return quiet_end or later
