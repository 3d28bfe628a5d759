"""Quiet hours, digests and urgent news: when a push may go."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.holding import digest_due, hold_until, is_urgent, quiet_until
from handlers.parsing import BadArguments, parse_digest_hour, parse_quiet_hours
from storage.models import Event

TZ = "Asia/Almaty"  # UTC+5
NIGHT = datetime(2026, 11, 29, 18, 30, tzinfo=UTC)  # 23:30 in Almaty
MORNING = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 08:00 in Almaty


def _event(kind: str, **new: object) -> Event:
    return Event(person_id=1, kind=kind, new_value=json.dumps(new), dedup_key="k")


def test_quiet_hours_across_midnight_end_next_morning() -> None:
    assert quiet_until("22:00-07:00", NIGHT, TZ) == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    assert quiet_until("22:00-07:00", MORNING, TZ) is None
    early = datetime(2026, 11, 29, 0, 30, tzinfo=UTC)  # 05:30 in Almaty
    assert quiet_until("22:00-07:00", early, TZ) == datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    assert quiet_until(None, NIGHT, TZ) is None


def test_quiet_hours_within_one_day() -> None:
    assert quiet_until("13:00-14:00", MORNING, TZ) is None
    lunch = datetime(2026, 11, 29, 8, 15, tzinfo=UTC)  # 13:15
    assert quiet_until("13:00-14:00", lunch, TZ) == datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def test_digest_waits_for_its_hour_and_goes_during_it() -> None:
    assert digest_due(20, MORNING, TZ) == datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
    assert digest_due(8, MORNING, TZ) is None
    assert digest_due(7, MORNING, TZ) == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    assert digest_due(None, MORNING, TZ) is None


def test_urgent_news_breaks_through() -> None:
    soon = (NIGHT + timedelta(hours=10)).isoformat()
    later = (NIGHT + timedelta(days=3)).isoformat()
    assert is_urgent([_event("verdict", text="guilty")], NIGHT)
    assert is_urgent([_event("detention_changed", status="deported")], NIGHT)
    assert is_urgent([_event("hearing_moved", starts_at=soon)], NIGHT)
    assert not is_urgent([_event("hearing_moved", starts_at=later)], NIGHT)
    assert is_urgent([_event("hearing_cancelled", starts_at=soon)], NIGHT)
    gone_by = (NIGHT - timedelta(hours=2)).isoformat()
    assert not is_urgent([_event("hearing_held", starts_at=gone_by, outcome="adjourned")], NIGHT)
    assert not is_urgent([_event("detention_changed", status="released")], NIGHT)
    assert not is_urgent([_event("asylum_changed", status="refugee")], NIGHT)


def test_hold_combines_digest_and_quiet_hours() -> None:
    refugee = [_event("asylum_changed", status="refugee")]
    held = hold_until(
        quiet_hours="22:00-07:00", digest_hour=None, changes=refugee, now=NIGHT, tz=TZ
    )
    assert held == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    # A digest set inside quiet hours waits for their end.
    held = hold_until(quiet_hours="22:00-07:00", digest_hour=6, changes=refugee, now=NIGHT, tz=TZ)
    assert held == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    deported = [_event("detention_changed", status="deported")]
    assert (
        hold_until(quiet_hours="22:00-07:00", digest_hour=20, changes=deported, now=NIGHT, tz=TZ)
        is None
    )


def test_quiet_and_digest_arguments() -> None:
    assert parse_quiet_hours("22-07") == "22:00-07:00"
    assert parse_quiet_hours("22:30-7:05") == "22:30-07:05"
    assert parse_quiet_hours("OFF") is None
    assert parse_digest_hour("20") == 20 and parse_digest_hour("8:00") == 8
    assert parse_digest_hour("off") is None
    for bad in ("25-07", "22-22", "noon"):
        with pytest.raises(BadArguments):
            parse_quiet_hours(bad)
    for bad in ("24", "20:30", "x"):
        with pytest.raises(BadArguments):
            parse_digest_hour(bad)
