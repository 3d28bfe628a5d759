"""Calendar files (iCalendar, RFC 5545) of hearings, for the calendar apps on people's phones.

Each hearing is one VEVENT in its court's time zone (with the VTIMEZONE that defines it). Its
UID is an HMAC of the hearing's id, so it stays the same across files without telling the id,
and its SEQUENCE is `Hearing.sequence`, raised whenever the time, place or status changes:
an app that imported an earlier file moves or cancels the hearing instead of adding a second.
Texts are plain (not HTML): the library escapes what iCalendar needs escaped.
"""

import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from hashlib import sha256
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from handlers.i18n import t
from handlers.writing import reader_name, same_place
from storage.models import HearingStatus
from storage.people import HearingSlot

PRODID = "-//casewatch//hearings//EN"
# A hearing's end is never known: an hour holds its place in the day.
LENGTH = timedelta(hours=1)
# Shown in calendars as called off (STATUS:CANCELLED), kept so that apps drop their copy.
CALLED_OFF = (HearingStatus.CANCELLED, HearingStatus.POSTPONED)
# How far around its hearings a time zone's rules are written out.
ZONE_MARGIN = timedelta(days=366)


def hearing_uid(key: bytes, hearing_id: int) -> str:
    """The hearing's UID in every file: opaque, and the same as long as `key` is."""
    digest = hmac.new(key, f"hearing:{hearing_id}".encode(), sha256).hexdigest()
    return f"{digest[:32]}@casewatch"


def render_calendar(
    slots: Sequence[HearingSlot],
    language: str,
    *,
    key: bytes,
    now: datetime,
    spellings: Mapping[int, Sequence[str]],
) -> bytes:
    """An .ics file with one event per hearing that has a time (`now` stamps each one); each
    person named in the reader's script where one of their `spellings` (by id) is in it."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", t(language, "calendar.name"))
    for slot in slots:
        names = [slot.person.name, *spellings.get(slot.person.id or 0, ())]
        calendar.add_component(_event(slot, reader_name(names, language), language, key, now))
    starts = [slot.hearing.starts_at for slot in slots if slot.hearing.starts_at]
    if starts:
        calendar.add_missing_timezones(
            first_date=(min(starts) - ZONE_MARGIN).date(),
            last_date=(max(starts) + ZONE_MARGIN).date(),
        )
    return calendar.to_ical()


def _event(slot: HearingSlot, name: str, language: str, key: bytes, now: datetime) -> Event:
    hearing, case = slot.hearing, slot.case
    assert hearing.id is not None and hearing.starts_at is not None
    event = Event()
    event.add("uid", hearing_uid(key, hearing.id))
    event.add("dtstamp", now)
    event.add("sequence", hearing.sequence)
    event.add("dtstart", hearing.starts_at.astimezone(ZoneInfo(case.tz)))
    event.add("duration", LENGTH)
    event.add("status", "CANCELLED" if hearing.status in CALLED_OFF else "CONFIRMED")
    event.add("summary", _summary(slot, name, language))
    if location := _location(slot):
        event.add("location", location)
    if description := _description(slot, language):
        event.add("description", description)
    return event


def _summary(slot: HearingSlot, name: str, language: str) -> str:
    """`Court hearing: Qaisha Aqan`, or that it is cancelled or postponed."""
    status = slot.hearing.status
    key = f"calendar.summary_{status}" if status in CALLED_OFF else "calendar.summary"
    return t(language, key, person=name)


def _location(slot: HearingSlot) -> str | None:
    """The hearing's place (else the court), and the city unless the place names it."""
    place = slot.hearing.place or slot.case.court
    city = slot.case.city
    if place and city and not same_place(place, city):
        return f"{place}, {city}"
    return place or city


def _description(slot: HearingSlot, language: str) -> str:
    """What the hearing is, and the case: number, charge, court."""
    facts = (
        ("calendar.kind", slot.hearing.kind),
        ("calendar.case_number", slot.case.case_number),
        ("calendar.charge", slot.case.charge),
        ("calendar.court", slot.case.court),
    )
    return "\n".join(t(language, key, value=value) for key, value in facts if value)
