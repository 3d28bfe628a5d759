"""Every message the bot sends, replies and pushes alike: pure functions of records and a language.

Every stored value is HTML-escaped here; every message is kept under Telegram's 4,096 characters.
"""

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from html import escape, unescape
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_timedelta
from babel.lists import format_list

from handlers.i18n import t
from storage.following import Following
from storage.models import Event, EventKind, Person
from storage.names import NameMatch
from storage.outbox import DeliveryStats
from storage.people import HearingSlot, PersonCard
from storage.reminders import offset_of
from storage.timeline import load_value

MAX_MESSAGE = 4096
_ELLIPSIS = "…"


def telegram_length(text: str) -> int:
    """Telegram's measure of a message: UTF-16 code units (an emoji beyond U+FFFF is two).

    Measured on the HTML as sent, tags and entities included: never less than the text
    Telegram shows, so a message within the limit by this measure is within it there.
    """
    return len(text.encode("utf-16-le")) // 2


# A tag, an HTML entity, or one character: the units a message may be cut between.
_MARKUP_UNIT = re.compile(r"<(/?)([\w-]*)[^>]*>|&#?\w+;|.", re.DOTALL)


def fit(text: str, limit: int = MAX_MESSAGE) -> str:
    """The message as it is if it is within Telegram's limit, else cut short with an ellipsis.

    Cut at the last line break that keeps at least half of what fits (else the last space,
    else anywhere), never inside a tag or an HTML entity; the tags left open are closed.
    """
    if telegram_length(text) <= limit:
        return text
    budget = limit - telegram_length(_ELLIPSIS)
    # The last cut that fits before a line break, before a space, and before anything:
    # (index in text, length kept, tags open there).
    cuts: dict[str, tuple[int, int, tuple[str, ...]]] = {}
    open_tags: list[str] = []
    closing = 0  # length of the end tags the open tags need
    kept = 0
    for unit in _MARKUP_UNIT.finditer(text):
        if kept + closing > budget:
            break
        cut = (unit.start(), kept, tuple(open_tags))
        cuts[""] = cut
        if unit.group() in ("\n", " "):
            cuts[unit.group()] = cut
        kept += telegram_length(unit.group())
        if unit.group(2):  # a tag
            end_tag = len(f"</{unit.group(2)}>")
            if not unit.group(1):
                open_tags.append(unit.group(2))
                closing += end_tag
            elif open_tags:
                open_tags.pop()
                closing -= end_tag
    index, _, tags = next(
        (cuts[before] for before in ("\n", " ") if cuts.get(before, (0, 0))[1] >= budget // 2),
        cuts[""],
    )
    return text[:index] + "".join(f"</{tag}>" for tag in reversed(tags)) + _ELLIPSIS


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Parts under `limit`, cut at paragraph boundaries (then lines, then anywhere)."""
    parts: list[str] = []
    for paragraph in text.split("\n\n"):
        pieces = [paragraph] if len(paragraph) <= limit else _cut_lines(paragraph, limit)
        for piece in pieces:
            if parts and len(parts[-1]) + 2 + len(piece) <= limit:
                parts[-1] += "\n\n" + piece
            else:
                parts.append(piece)
    return parts


def _cut_lines(paragraph: str, limit: int) -> list[str]:
    pieces: list[str] = []
    for line in paragraph.split("\n"):
        chunks = [line[start : start + limit] for start in range(0, len(line), limit)] or [""]
        for chunk in chunks:
            if pieces and len(pieces[-1]) + 1 + len(chunk) <= limit:
                pieces[-1] += "\n" + chunk
            else:
                pieces.append(chunk)
    return pieces


_TAG = re.compile(r"<[^>]+>")


def html_to_plain(text: str) -> str:
    """Telegram HTML as plain text: tags dropped, entities decoded."""
    return unescape(_TAG.sub("", text))


def _locale(language: str) -> str:
    return {"kk": "kk_KZ", "ru": "ru_RU"}.get(language, "en_GB")


def format_when(moment: datetime, tz: str, language: str) -> str:
    """A moment in a court's local time: `3 Dec 2026, 10:00`."""
    return format_datetime(moment, "d MMM y, HH:mm", tzinfo=ZoneInfo(tz), locale=_locale(language))


def format_partial_date(value: str, language: str) -> str:
    """`2018`, `2018-08` or `2018-08-14` in the reader's language."""
    parts = [int(part) for part in value.split("-")]
    if len(parts) == 1:
        return str(parts[0])
    if len(parts) == 2:
        return format_date(date(parts[0], parts[1], 1), "MMMM y", locale=_locale(language))
    return format_date(date(*parts), "d MMM y", locale=_locale(language))


def status_label(field: str, status: str | None, language: str) -> str:
    return t(language, f"{field}.{status or 'unknown'}")


def _source(source: str | None, language: str) -> str:
    if not source:
        return ""
    if source.startswith(("http://", "https://")):
        shown = f'<a href="{escape(source, quote=True)}">{escape(source)}</a>'
    else:
        shown = escape(source)
    return t(language, "card.source", source=shown)


def person_title(person: Person) -> str:
    return f"<b>{escape(person.name)}</b> #{person.id}"


def _status_line(person: Person, field: str, language: str) -> str:
    line = t(
        language, f"card.{field}", status=status_label(field, getattr(person, field), language)
    )
    since = getattr(person, f"{field}_since")
    if since:
        line += " " + t(language, "card.since", date=format_partial_date(since, language))
    note = getattr(person, f"{field}_note")
    if note:
        line += f" — <i>{escape(note)}</i>"
    return line


def _facts_line(person: Person, language: str) -> str | None:
    facts = [
        t(language, f"card.{name}", value=escape(str(value)))
        for name in ("birth_year", "age_note", "ethnicity", "citizenship", "origin", "location")
        if (value := getattr(person, name))
    ]
    return " · ".join(facts) if facts else None


def _case_line(card: PersonCard, language: str) -> str | None:
    case = card.case
    if case is None:
        return None
    parts = [escape(part) for part in (case.charge, case.court, case.city) if part]
    line = t(language, "card.case", case=", ".join(parts) or "—")
    details = [
        t(language, f"card.case_{name}", value=escape(value))
        for name in ("case_number", "stage", "verdict", "sentence", "note")
        if (value := getattr(case, name))
    ]
    return "\n".join([line, *details])


def render_hearing_slot(slot: HearingSlot, language: str) -> str:
    """`3 Dec 2026, 10:00, Zharkent district court`."""
    assert slot.hearing.starts_at is not None
    when = format_when(slot.hearing.starts_at, slot.case.tz, language)
    place = slot.hearing.place or slot.case.court
    return f"{when}, {escape(place)}" if place else when


def render_person_card(card: PersonCard, language: str) -> str:
    person = card.person
    lines = [person_title(person)]
    others = [s for s in card.spellings if s != person.name]
    if others:
        lines.append(t(language, "card.also", names=escape(", ".join(others))))
    if facts := _facts_line(person, language):
        lines.append(facts)
    lines.append(_status_line(person, "detention", language))
    lines.append(_status_line(person, "asylum", language))
    if case_line := _case_line(card, language):
        lines.append(case_line)
    if card.next_hearing:
        when = render_hearing_slot(card.next_hearing, language)
        lines.append(t(language, "card.next_hearing", when=when))
    else:
        lines.append(t(language, "card.no_hearing"))
    if card.last_event:
        lines.append(
            t(language, "card.last_change", change=describe_event(card.last_event, language))
            + _source(card.last_event.source, language)
        )
    if card.sources:
        lines.append(t(language, "card.sources", sources=_join_sources(card.sources)))
    return fit("\n".join(lines))


def _join_sources(sources: Sequence[str]) -> str:
    return "; ".join(
        f'<a href="{escape(s, quote=True)}">{escape(s)}</a>'
        if s.startswith(("http://", "https://"))
        else escape(s)
        for s in sources
    )


def _hearing_when(value: dict[str, str], language: str) -> str:
    when = format_when(datetime.fromisoformat(value["starts_at"]), value["tz"], language)
    return f"{when}, {escape(value['place'])}" if value.get("place") else when


def describe_event(event: Event, language: str) -> str:
    """What changed, old → new, in one line."""
    old, new = load_value(event.old_value), load_value(event.new_value)
    kind = EventKind(event.kind)
    if kind in (EventKind.HEARING_SET, EventKind.HEARING_MOVED):
        text = t(language, f"event.{kind}", when=_hearing_when(new, language))
        if old:
            text += " " + t(language, "event.was", old=_hearing_when(old, language))
        return text
    if kind in (EventKind.ASYLUM_CHANGED, EventKind.DETENTION_CHANGED):
        field = "asylum" if kind == EventKind.ASYLUM_CHANGED else "detention"
        return t(
            language,
            f"event.{kind}",
            new=status_label(field, new.get("status"), language),
            old=status_label(field, old.get("status"), language),
        )
    if kind == EventKind.PERSON_ADDED:
        return t(language, "event.person_added")
    if kind == EventKind.REMINDER:
        return _describe_reminder(event, new, language)
    return t(language, f"event.{kind}", text=escape(new.get("text", "")))


def render_push(changes: Sequence[Event], person: Person, language: str) -> str:
    """The message a follower receives about the changes of one grace window."""
    lines = [f"🔔 {person_title(person)}"]
    for event in changes:
        line = describe_event(event, language)
        lines.append(f"• {line}" if len(changes) > 1 else line)
        if event.source:
            lines.append(_source(event.source, language).strip())
    return fit("\n".join(lines))


def render_digest(pushes: Sequence[tuple[Person, Sequence[Event]]], language: str) -> str:
    """The day's changes for a chat that chose a daily digest (may exceed one message)."""
    texts = [render_push(changes, person, language) for person, changes in pushes]
    return "\n\n".join([t(language, "digest.title", count=len(pushes)), *texts])


def render_candidates(people: Sequence[Person], language: str) -> str:
    lines = [t(language, "find.several")]
    lines += [f"• {person_title(person)}" for person in people]
    return fit("\n".join(lines))


def render_matches(matches: Sequence[tuple[NameMatch, Person]], language: str) -> str:
    """The /find answer: each person found, with the spelling that matched."""
    lines = [t(language, "find.found", count=len(matches))]
    for match, person in matches:
        line = f"• {person_title(person)}"
        if match.spelling != person.name:
            line += f" — {escape(match.spelling)}"
        lines.append(line)
    return fit("\n".join(lines))


def render_hearings(slots: Sequence[HearingSlot], language: str) -> str:
    if not slots:
        return t(language, "hearings.none")
    lines = [t(language, "hearings.title")]
    lines += [
        f"• {render_hearing_slot(slot, language)} — {person_title(slot.person)}" for slot in slots
    ]
    return fit("\n".join(lines))


def render_stats(stats: DeliveryStats, language: str) -> str:
    return t(
        language,
        "stats.text",
        pending=stats.pending,
        sent=stats.sent_last_hour,
        failed=stats.failed_last_hour,
        rate=f"{stats.sent_last_minute / 60:.1f}",
        dead=stats.dead,
    )


def render_followings(followings: Sequence[Following], language: str) -> str:
    if not followings:
        return t(language, "subscriptions.none")
    lines = [t(language, "subscriptions.title")]
    for following in followings:
        if following.person is None:
            lines.append("• " + t(language, "subscriptions.all"))
        else:
            lines.append(f"• {person_title(following.person)}")
    return fit("\n".join(lines))


# --- hearing reminders ---------------------------------------------------------------------

_MINUTE, _HOUR, _DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
_DURATION_UNITS: tuple[tuple[Literal["day", "hour", "minute"], timedelta], ...] = (
    ("day", _DAY),
    ("hour", _HOUR),
    ("minute", _MINUTE),
)
# A reminder this late (the scan runs about once a minute) still says its offset.
REMINDER_SLACK = timedelta(minutes=2)


def format_duration(length: timedelta, language: str, *, ahead: bool = False) -> str:
    """`1 day`, `90 minutes` (`in 1 day` when `ahead`), in the largest unit that measures
    it whole: `7 days`, never `1 week`."""
    unit, size = next(
        ((unit, size) for unit, size in _DURATION_UNITS if length >= size and not length % size),
        _DURATION_UNITS[-1],
    )
    count = max(1, round(length / size))
    # babel words it in the largest unit reaching `threshold`: a threshold of `count` is ours.
    return format_timedelta(
        count * size,
        threshold=count,
        granularity=unit,
        add_direction=ahead,
        locale=_locale(language),
    )


def time_left(offset: timedelta, left: timedelta) -> timedelta:
    """What a reminder says is left: its offset when it goes on time, else the time really
    left (a hearing set at short notice, a scan after downtime), rounded to the minute below
    two hours, to the hour below two days, else to the day."""
    if offset - left <= REMINDER_SLACK:
        return offset
    unit = _MINUTE if left < 2 * _HOUR else _HOUR if left < 2 * _DAY else _DAY
    return max(unit, round(left / unit) * unit)


def _describe_reminder(event: Event, value: dict[str, str], language: str) -> str:
    """`reminder: hearing in 1 day, 3 Dec 2026, 10:00, court` (the court's local time)."""
    left = datetime.fromisoformat(value["starts_at"]) - event.effective_at
    offset = offset_of(value.get("offset", "")) or left
    when = format_duration(time_left(offset, left), language, ahead=True)
    return t(language, "event.reminder", left=when, when=_hearing_when(value, language))


def render_reminder_offsets(offsets: Sequence[timedelta], language: str) -> str:
    """The /remind answer: when this chat is reminded before each hearing, or that it is not."""
    if not offsets:
        return t(language, "remind.off")
    lengths = [format_duration(offset, language) for offset in offsets]
    return t(language, "remind.on", offsets=format_list(lengths, locale=_locale(language)))
