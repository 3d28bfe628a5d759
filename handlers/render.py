"""Every message the bot sends, replies and pushes alike: pure functions of records and a language.

Every stored value is HTML-escaped here; every message is kept under Telegram's 4,096 characters.
"""

import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from html import escape, unescape
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.lists import format_list

from handlers.i18n import LANGUAGES, key_for, t
from handlers.parsing import OUTCOME_WORDS
from handlers.writing import kazakh_ablative, reader_name, same_place
from storage.following import Following, chosen_kinds
from storage.history import PersonHearings
from storage.models import (
    AsylumStatus,
    Case,
    ChangeKind,
    DetentionStatus,
    Event,
    EventKind,
    Hearing,
    HearingStatus,
    NameWatch,
    Person,
    RelationKind,
    SubscriptionScope,
    Verification,
    Visibility,
)
from storage.names import NameMatch
from storage.outbox import DeliveryStats
from storage.people import HearingSlot, PersonCard
from storage.records import APPEAL, CASE_FIELDS, PERSON_FIELDS, SPELLING
from storage.reminders import offset_of
from storage.timeline import NETTED_HEARING_KINDS, change_subject, load_value

MAX_MESSAGE = 4096
_ELLIPSIS = "…"
_LABEL = 48  # characters of a button's label


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


# A part's marker, "\n(2/3)", takes at most this much of its room.
_MARKER_ROOM = telegram_length("\n(9999/9999)")
# Where a part may end, best first: between paragraphs, between lines, between words.
_BREAKS = ("\n\n", "\n", " ")


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """The message as it is if it fits in `limit` UTF-16 units; otherwise parts that do, each
    marked "(1/3)", "(2/3)" …, cut between paragraphs, else lines, else words (within a
    word only when one word alone is longer than a part). No tag or character reference is
    cut: tags open at a cut are closed at the end of the part and opened again in the next
    (should one tag alone take more than a quarter of a part, the parts are plain text).
    """
    if telegram_length(text) <= limit:
        return [text]
    room = limit - _MARKER_ROOM
    cutter = _MessageCutter(text)
    if cutter.longest_tag > room // 4:
        cutter = _MessageCutter(escape(html_to_plain(text), quote=False))
    pieces = cutter.cut(room)
    return [f"{piece}\n({number}/{len(pieces)})" for number, piece in enumerate(pieces, 1)]


class _MessageCutter:
    """One text as a row of units (a character, or a whole tag or reference) to cut."""

    def __init__(self, text: str) -> None:
        units = list(_MARKUP_UNIT.finditer(text))
        self.units = [unit.group() for unit in units]
        self.ends = [0]  # self.ends[i]: the length of units[:i]
        for unit in self.units:
            self.ends.append(self.ends[-1] + telegram_length(unit))
        self.longest_tag = max(
            (telegram_length(unit.group()) for unit in units if unit.group(2)), default=0
        )

    def cut(self, room: int) -> list[str]:
        pieces: list[str] = []
        start = 0
        opened: list[tuple[str, str]] = []  # (name, opening tag) open where a piece starts
        while start < len(self.units):
            reopen = "".join(tag for _, tag in opened)
            budget = room - telegram_length(reopen)
            while True:
                end, resume = self._end(start, max(budget, 1))
                still_open = _open_tags(opened, self.units[start:end])
                close = "".join(f"</{name}>" for name, _ in reversed(still_open))
                body = "".join(self.units[start:end])
                overflow = telegram_length(reopen + body + close) - room
                if overflow <= 0 or end == start + 1:
                    break
                budget -= overflow
            pieces.append(reopen + body + close)
            opened, start = still_open, resume
        return pieces

    def _end(self, start: int, budget: int) -> tuple[int, int]:
        """Where a piece from `start` within `budget` ends, and where the next one starts."""
        fits = max(start + 1, bisect_right(self.ends, self.ends[start] + budget) - 1)
        if fits >= len(self.units):
            return len(self.units), len(self.units)
        # A piece holds something to read, not only blank space.
        text_at = next((index for index in range(start, fits) if self.units[index].strip()), fits)
        for separator in _BREAKS:
            width = len(separator)
            for end in range(fits, text_at, -1):
                if "".join(self.units[end : end + width]) == separator:
                    return end, end + width
        return fits, fits


def _open_tags(opened: list[tuple[str, str]], units: list[str]) -> list[tuple[str, str]]:
    """The tags still open after `units`, given those open before them."""
    still_open = list(opened)
    for unit in units:
        tag = _MARKUP_UNIT.match(unit)
        if tag is None or not tag.group(2):
            continue
        closing, name = tag.groups()
        if not closing:
            still_open.append((name.lower(), unit))
            continue
        for index in range(len(still_open) - 1, -1, -1):
            if still_open[index][0] == name.lower():
                del still_open[index]
                break
    return still_open


_TAG = re.compile(r"<[^>]+>")


def html_to_plain(text: str) -> str:
    """Telegram HTML as plain text: tags dropped, entities decoded."""
    return unescape(_TAG.sub("", text))


def _locale(language: str) -> str:
    return {"kk": "kk_KZ", "ru": "ru_RU"}.get(language, "en_GB")


# A hearing's moment, weekday first where the language puts it: `Thu 3 Dec 2026, 10:00`,
# `чт, 3 дек. 2026, 10:00`, `2026 ж. 3 желтоқсан, бейсенбі, 10:00`.
_WHEN = {
    "en": "EEE d MMM y, HH:mm",
    "ru": "EEE, d MMM y, HH:mm",
    "kk": "y 'ж'. d MMMM, EEEE, HH:mm",
}


def format_when(moment: datetime, tz: str, language: str) -> str:
    """A moment in a court's local time, with its weekday: `Thu 3 Dec 2026, 10:00`."""
    return format_datetime(
        moment, _WHEN.get(language, _WHEN["en"]), tzinfo=ZoneInfo(tz), locale=_locale(language)
    )


# `2018`, `2018-08`, `2018-08-14` as the object of "since": `2018`, `August 2018`,
# `14 Aug 2018`; Russian months in the genitive, years with its abbreviation for "year";
# Kazakh as its official dates write them (year, month, day), made ablative by
# `kazakh_ablative`.
_PARTIAL_DATE = {
    "en": ("y", "MMMM y", "d MMM y"),
    "ru": ("y 'г'.", "MMMM y 'г'.", "d MMMM y 'г'."),  # noqa: RUF001
    "kk": ("y 'жыл'", "y 'жылғы' MMMM", "y 'жылғы' d MMMM"),
}


def format_partial_date(value: str, language: str) -> str:
    """`2018`, `2018-08` or `2018-08-14` in the reader's language (as "since" takes it)."""
    parts = [int(part) for part in value.split("-")]
    moment = date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    pattern = _PARTIAL_DATE.get(language, _PARTIAL_DATE["en"])[len(parts) - 1]
    return format_date(moment, pattern, locale=_locale(language))


def format_since(value: str, language: str) -> str:
    """`since 14 Aug 2018` in the reader's language (Kazakh: the date in the ablative)."""
    shown = format_partial_date(value, language)
    if language == "kk":
        *before, last = shown.split(" ")
        shown = " ".join([*before, kazakh_ablative(last)])
    return t(language, "card.since", date=shown)


def status_label(field: str, status: str | None, language: str) -> str:
    return t(language, f"{field}.{status or 'unknown'}")


def _source_link(source: str) -> str:
    """A source as a link when it is one, else as written (escaped)."""
    if source.startswith(("http://", "https://")):
        return f'<a href="{escape(source, quote=True)}">{escape(source)}</a>'
    return escape(source)


_LEVELS = frozenset(level.value for level in Verification)


def render_provenance(source: str | None, verification: str | None, language: str) -> str:
    """Where a change comes from: `Source: <link> · confirmed by a document`; a change
    without a source says so (`No source given`); a level not given is not guessed."""
    if source:
        said = t(language, "provenance.source", source=_source_link(source))
    else:
        said = t(language, "provenance.no_source")
    if verification in _LEVELS:
        said += " · " + t(language, f"verification.{verification}")
    return said


def record_word(prefix: str, value: str, language: str) -> str:
    """A value from a fixed list (`stage.`, `ethnicity.`) in the reader's language, matched
    case-insensitively against the list's keys and texts; any other value as stored."""
    key = key_for(prefix, value)
    return t(language, key) if key else escape(value)


@cache
def _territories(language: str) -> dict[str, str]:
    """Territory names in `language`, by ISO code (Babel's CLDR data)."""
    territories = Locale.parse(_locale(language)).territories
    return {str(code): str(name) for code, name in territories.items()}


@cache
def _territory_codes() -> dict[str, str]:
    """ISO territory codes by their names in our languages and by the codes, lower-cased."""
    codes: dict[str, str] = {}
    for language in LANGUAGES:
        codes.update({name.casefold(): code for code, name in _territories(language).items()})
    codes.update({code.casefold(): code for code in codes.values()})
    return codes


def country_name(value: str, language: str) -> str:
    """A country, named by its English (Russian, Kazakh) name or ISO code, in the reader's
    language (China → Китай, Қытай); anything else as stored."""
    code = _territory_codes().get(value.strip().casefold())
    if code is None or not code.isalpha():
        return escape(value)
    return escape(_territories(language).get(code, value))


# The spellings of several people's names, by person id (storage `spellings_of_people`).
Spellings = Mapping[int, Sequence[str]]


def shown_name(person: Person, spellings: Sequence[str], language: str) -> str:
    """The person's name as shown to a reader (plain text): in their script if one of
    `spellings` is, else the canonical name."""
    return reader_name([person.name, *spellings], language)


def person_title(person: Person, spellings: Sequence[str], language: str) -> str:
    """`<b>Name</b> #id`, the name in the reader's script if one of `spellings` is."""
    return f"<b>{escape(shown_name(person, spellings, language))}</b> #{person.id}"


def listed_title(person: Person, spellings: Spellings, language: str) -> str:
    """`person_title` for one of several people whose spellings were read together."""
    return person_title(person, spellings.get(person.id or 0, ()), language)


def _status_line(person: Person, field: str, language: str) -> str:
    line = t(
        language, f"card.{field}", status=status_label(field, getattr(person, field), language)
    )
    since = getattr(person, f"{field}_since")
    if since:
        line += " " + format_since(since, language)
    note = getattr(person, f"{field}_note")
    if note:
        line += f" — <i>{escape(note)}</i>"
    return line


def _fact(name: str, value: object, language: str) -> str:
    if name == "ethnicity":
        return record_word("ethnicity.", str(value), language)
    if name in ("citizenship", "location"):
        return country_name(str(value), language)
    return escape(str(value))


def _facts_line(person: Person, language: str) -> str | None:
    facts = [
        t(language, f"card.{name}", value=_fact(name, value, language))
        for name in ("birth_year", "age_note", "ethnicity", "citizenship", "origin", "location")
        if (value := getattr(person, name))
    ]
    return " · ".join(facts) if facts else None


def _case_line(card: PersonCard, language: str) -> str | None:
    case = card.case
    if case is None:
        return None
    city = None if case.court and case.city and same_place(case.court, case.city) else case.city
    parts = [escape(part) for part in (case.charge, case.court, city) if part]
    line = t(language, "card.case", case=", ".join(parts) or "—")
    details = [
        t(
            language,
            f"card.case_{name}",
            value=record_word("stage.", value, language) if name == "stage" else escape(value),
        )
        for name in ("case_number", "stage", "verdict", "sentence", "note")
        if (value := getattr(case, name))
    ]
    return "\n".join([line, *details])


def _record_lines(card: PersonCard, language: str) -> list[str]:
    """The case's lawyer and the case it appeals; the person's co-defendants and relatives
    (public people only: a card never names a restricted one)."""
    lines = []
    case = card.case
    if case is not None and case.lawyer:
        lines.append(t(language, "card.lawyer", value=escape(case.lawyer)))
    if (appealed := card.appealed) is not None:
        parts = [escape(part) for part in (appealed.case_number, appealed.court) if part]
        lines.append(t(language, "card.appeal_of", case=", ".join(parts) or f"#{appealed.id}"))
    for kind in RelationKind:
        related = [
            escape(r.other.name) + f" #{r.other.id}" + (f" ({escape(r.note)})" if r.note else "")
            for r in card.relations
            if r.kind == kind and r.other.visibility == Visibility.PUBLIC
        ]
        if related:
            lines.append(t(language, f"card.{kind}", people=", ".join(related)))
    return lines


def render_hearing_slot(slot: HearingSlot, language: str) -> str:
    """`3 Dec 2026, 10:00, Zharkent district court`."""
    assert slot.hearing.starts_at is not None
    when = format_when(slot.hearing.starts_at, slot.case.tz, language)
    place = slot.hearing.place or slot.case.court
    return f"{when}, {escape(place)}" if place else when


def render_person_card(card: PersonCard, language: str, link: str | None = None) -> str:
    person = card.person
    shown = shown_name(person, card.spellings, language)
    lines = [person_title(person, card.spellings, language)]
    others = list(dict.fromkeys(s for s in [person.name, *card.spellings] if s != shown))
    if others:
        lines.append(t(language, "card.also", names=escape(", ".join(others))))
    if facts := _facts_line(person, language):
        lines.append(facts)
    lines.append(_status_line(person, "detention", language))
    lines.append(_status_line(person, "asylum", language))
    if case_line := _case_line(card, language):
        lines.append(case_line)
    lines.extend(_record_lines(card, language))
    if card.next_hearing:
        when = render_hearing_slot(card.next_hearing, language)
        lines.append(t(language, "card.next_hearing", when=when))
    else:
        lines.append(t(language, "card.no_hearing"))
    last = card.last_event
    last_source = last.source if last else None
    if last:
        lines.append(t(language, "card.last_change", change=describe_event(last, language)))
        lines.append(render_provenance(last.source, last.verification, language))
    # The last change's source is said beside it, not a second time in the list.
    if sources := [source for source in card.sources if source != last_source]:
        lines.append(t(language, "card.sources", sources=_join_sources(sources)))
    if link:
        lines.append(t(language, "card.link", link=escape(link)))
    return fit("\n".join(lines))


def _join_sources(sources: Sequence[str]) -> str:
    return "; ".join(_source_link(source) for source in sources)


def _hearing_when(value: dict[str, str], language: str) -> str:
    when = format_when(datetime.fromisoformat(value["starts_at"]), value["tz"], language)
    return f"{when}, {escape(value['place'])}" if value.get("place") else when


# The changes that move one hearing, and those that change one status.
_HEARING_KINDS = NETTED_HEARING_KINDS
_STATUS_FIELDS = {EventKind.ASYLUM_CHANGED: "asylum", EventKind.DETENTION_CHANGED: "detention"}


@dataclass(frozen=True)
class NetChange:
    """What the changes of one grace window to one thing (a hearing, a status) come to: the
    first one's old value → the last one's new value; said with the last one's provenance,
    the change that set the value followers are told. One change alone is its own net change.
    """

    first: Event
    last: Event

    @property
    def kind(self) -> str:
        """A hearing set and then moved is told as set, at its final time."""
        set_first = self.first.kind == EventKind.HEARING_SET
        return EventKind.HEARING_SET if set_first else self.last.kind

    @property
    def old(self) -> dict[str, Any]:
        return load_value(self.first.old_value)

    @property
    def new(self) -> dict[str, Any]:
        return load_value(self.last.new_value)

    @property
    def unchanged(self) -> bool:
        """Changed and changed back inside the window: it ends where it started."""
        if self.first is self.last or not self.old:
            return False
        if self.kind in _HEARING_KINDS:
            return all(self.old.get(key) == self.new.get(key) for key in ("starts_at", "place"))
        return self.kind in _STATUS_FIELDS and self.old.get("status") == self.new.get("status")


def net_changes(events: Sequence[Event]) -> list[NetChange]:
    """The changes of one grace window, in order, those to one hearing or one status merged
    into one net change (old of the first → new of the last), at the place of the first."""
    merged: list[list[Event]] = []
    by_subject: dict[tuple[str, object], list[Event]] = {}
    for event in events:
        subject = change_subject(event.kind, event.new_value)
        if subject is not None and subject in by_subject:
            by_subject[subject].append(event)
            continue
        group = [event]
        merged.append(group)
        if subject is not None:
            by_subject[subject] = group
    return [NetChange(first=group[0], last=group[-1]) for group in merged]


def describe_event(event: Event, language: str) -> str:
    """What changed, old → new, in one line."""
    return describe_change(NetChange(first=event, last=event), language)


def describe_change(change: NetChange, language: str) -> str:
    """What changed, old → new, in one line (a change taken back inside its window: what
    stays as it was)."""
    old, new = change.old, change.new
    kind = EventKind(change.kind)
    if kind in _HEARING_KINDS:
        if change.unchanged:
            return t(language, "event.hearing_unchanged", when=_hearing_when(new, language))
        text = t(language, f"event.{kind}", when=_hearing_when(new, language))
        if old:
            # The earlier time belongs to the sentence: `moved to X (was Y).`
            was = t(language, "event.was", old=_hearing_when(old, language))
            text = f"{text.removesuffix('.')} {was}."
        return text
    if kind in _STATUS_FIELDS:
        field = _STATUS_FIELDS[kind]
        if change.unchanged:
            status = status_label(field, new.get("status"), language)
            return t(language, f"event.{field}_unchanged", status=status)
        return t(
            language,
            f"event.{kind}",
            new=status_label(field, new.get("status"), language),
            old=status_label(field, old.get("status"), language),
        )
    if kind == EventKind.PERSON_ADDED:
        return t(language, "event.person_added")
    if kind == EventKind.RECORD_CHANGED:
        return t(language, "event.record_changed", text=_describe_record_change(new, language))
    if kind in (EventKind.HEARING_CANCELLED, EventKind.HEARING_HELD) and new.get("starts_at"):
        return _describe_hearing_end(kind, new, language)
    if kind == EventKind.VERDICT and "verdict" in new:
        text = t(language, "event.verdict", text=_verdict_text(new, language))
        if old.get("verdict") or old.get("sentence"):
            text += " " + t(language, "event.was", old=_verdict_text(old, language))
        return text
    if kind == EventKind.REMINDER:
        return _describe_reminder(change.last, new, language)
    return t(language, f"event.{kind}", text=escape(new.get("text", "")))


# The fields a record_changed event names, each with its translated name (`record.<field>`).
_RECORD_FIELDS = frozenset(
    [*PERSON_FIELDS, *CASE_FIELDS, SPELLING, APPEAL, *(kind.value for kind in RelationKind)]
)


def _record_value(field: str, value: object, language: str) -> str:
    """One value of a record's field as a reader sees it (HTML-escaped)."""
    if isinstance(value, dict):
        if field == "appeal":
            stage = value.get("stage")
            parts = [record_word("stage.", stage, language) if stage else None]
            parts.append(escape(value["court"]) if value.get("court") else None)
            return ", ".join(part for part in parts if part) or "—"
        if value.get("person_id") is None:  # a restricted person: never named in a timeline
            return t(language, "record.hidden_person")
        note = f" ({escape(str(value['note']))})" if value.get("note") else ""
        return f"{escape(str(value.get('name')))} #{value.get('person_id')}{note}"
    if field == "stage":
        return record_word("stage.", str(value), language)
    if field in ("citizenship", "location"):
        return country_name(str(value), language)
    return escape(str(value))


def _describe_record_change(value: dict[str, Any], language: str) -> str:
    """`court: Zharkent district court → Almaty regional court`, the field's name translated;
    a value added or removed says so."""
    field = value.get("field")
    if field not in _RECORD_FIELDS:  # written before fields were named: its text, if any
        return escape(str(value.get("text", "")))
    name = t(language, f"record.{field}")
    old, new = value.get("old"), value.get("new")
    if old is None:
        return t(language, "record.added", field=name, new=_record_value(field, new, language))
    if new is None:
        return t(language, "record.removed", field=name, old=_record_value(field, old, language))
    return t(
        language,
        "record.changed",
        field=name,
        old=_record_value(field, old, language),
        new=_record_value(field, new, language),
    )


def _describe_hearing_end(kind: EventKind, value: dict[str, Any], language: str) -> str:
    """`hearing of Thu 3 Dec 2026, 10:00 cancelled.`, `… held: adjourned. <i>text</i>`."""
    when = _hearing_when(value, language)
    if kind == EventKind.HEARING_CANCELLED:
        return t(language, "event.hearing_cancelled_on", when=when)
    text = t(language, f"event.held_{value.get('outcome')}", when=when)
    return f"{text} <i>{escape(value['text'])}</i>" if value.get("text") else text


def _verdict_text(value: dict[str, Any], language: str) -> str:
    """`<b>guilty</b>; sentence: 6 months`."""
    text = f"<b>{escape(value.get('verdict') or '—')}</b>"
    if sentence := value.get("sentence"):
        text += "; " + t(language, "event.sentence", value=escape(sentence))
    return text


def hearing_outcome(outcome: str, language: str) -> str:
    """A held hearing's outcome as stored (`adjourned: text`), its kind in the reader's
    language (`отложено: text`)."""
    word, colon, text = outcome.partition(":")
    if word not in OUTCOME_WORDS:
        return escape(outcome)
    return t(language, f"outcome.{word}") + (f":{escape(text)}" if colon else "")


def render_push(
    changes: Sequence[Event], person: Person, language: str, spellings: Sequence[str] = ()
) -> str:
    """The message a follower receives about the changes of one grace window (may exceed one
    message: the sender sends it in parts, see `split_message`); the name in the reader's
    script if one of `spellings` is.

    Changes to one hearing or one status are told as their net change (`net_changes`); one
    changed and changed back is left out, unless nothing else is left to tell. Each change
    says where it comes from (`render_provenance`); a reminder is not a change and does not.
    """
    netted = net_changes(changes)
    told = [change for change in netted if not change.unchanged] or netted
    lines = [f"🔔 {person_title(person, spellings, language)}"]
    for change in told:
        line = describe_change(change, language)
        lines.append(f"• {line}" if len(told) > 1 else line)
        if change.kind != EventKind.REMINDER:
            lines.append(render_provenance(change.last.source, change.last.verification, language))
    return "\n".join(lines)


def render_digest(
    pushes: Sequence[tuple[Person, Sequence[Event], Sequence[str]]], language: str
) -> str:
    """The day's changes for a chat that chose a daily digest (may exceed one message): per
    person, the changes and the spellings of their name."""
    texts = [
        render_push(changes, person, language, spellings) for person, changes, spellings in pushes
    ]
    return "\n\n".join([t(language, "digest.title", count=len(pushes)), *texts])


# The commands that set a status, and the status each sets.
_STATUS_COMMANDS = {"setasylum": AsylumStatus, "setdetention": DetentionStatus}


def render_refusal(command: str, reason: str, language: str) -> str:
    """Why a command's arguments were refused (a translation key's text); an unknown status
    lists the statuses that command takes, each as it is written and as it reads."""
    statuses = _STATUS_COMMANDS.get(command)
    if reason != "error.bad_status" or statuses is None:
        return t(language, reason)
    field = command.removeprefix("set")
    choices = "\n".join(
        f"• <code>{status.value}</code> — {status_label(field, status.value, language)}"
        for status in statuses
    )
    return t(language, f"error.bad_status_{field}", statuses=choices)


def render_nobody(query: str, language: str) -> str:
    """Nobody matched a `<who>`: an id (`#999`) that no person has, or a name."""
    if query.startswith("#"):
        return t(language, "find.no_number", number=escape(query))
    return t(language, "find.none", query=escape(query))


def render_candidates(people: Sequence[Person], spellings: Spellings, language: str) -> str:
    lines = [t(language, "find.several")]
    lines += [f"• {listed_title(person, spellings, language)}" for person in people]
    return fit("\n".join(lines))


def render_matches(
    matches: Sequence[tuple[NameMatch, Person]], spellings: Spellings, language: str
) -> str:
    """The /find answer: each person found (the name in the reader's script), with the
    spelling that matched when it is another."""
    lines = [t(language, "find.found", count=len(matches))]
    for match, person in matches:
        names = spellings.get(person.id or 0, ())
        line = f"• {person_title(person, names, language)}"
        if match.spelling != shown_name(person, names, language):
            line += f" — {escape(match.spelling)}"
        lines.append(line)
    return fit("\n".join(lines))


def render_hearings(slots: Sequence[HearingSlot], spellings: Spellings, language: str) -> str:
    if not slots:
        return t(language, "hearings.none")
    lines = [t(language, "hearings.title")]
    lines += [
        f"• {render_hearing_slot(slot, language)} — "
        + listed_title(slot.person, spellings, language)
        for slot in slots
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


def following_title(following: Following, spellings: Spellings, language: str) -> str:
    """What a follow takes in: a person, everyone, or a court or a city."""
    subscription = following.subscription
    if following.person is not None:
        return listed_title(following.person, spellings, language)
    if subscription.scope == SubscriptionScope.ALL:
        return t(language, "following.everyone")
    place = f"<b>{escape(subscription.place or '')}</b>"
    return t(language, f"following.{subscription.scope}", place=place)


def following_label(following: Following, spellings: Spellings, language: str) -> str:
    """`following_title` as plain text, short enough for a button."""
    subscription = following.subscription
    person = following.person
    if person is not None:
        label = shown_name(person, spellings.get(person.id or 0, ()), language)
    elif subscription.scope == SubscriptionScope.ALL:
        label = t(language, "following.everyone")
    else:
        label = t(language, f"following.{subscription.scope}", place=subscription.place or "")
    return label if len(label) <= _LABEL else label[: _LABEL - 1] + _ELLIPSIS


def _kinds_heard(following: Following, language: str) -> str:
    kinds = chosen_kinds(following.subscription)
    if len(kinds) == len(ChangeKind):
        return t(language, "following.every_kind")
    named = [t(language, f"following.kind_{kind}") for kind in kinds]
    return format_list(named, locale=_locale(language))


def render_followings(
    followings: Sequence[Following],
    spellings: Spellings,
    language: str,
    *,
    first: int = 1,
    total: int | None = None,
) -> str:
    """The /subscriptions list (one page of it: numbered from `first`, of `total`)."""
    if not followings:
        return t(language, "subscriptions.none")
    lines = [t(language, "subscriptions.title")]
    for number, following in enumerate(followings, first):
        line = f"{number}. {following_title(following, spellings, language)} — "
        line += _kinds_heard(following, language)
        if following.subscription.muted:
            line += " · " + t(language, "following.muted_mark")
        lines.append(line)
    if total is not None and total > len(followings):
        last = first + len(followings) - 1
        lines.append(t(language, "following.shown", first=first, last=last, count=total))
    return fit("\n".join(lines))


def render_following(following: Following, spellings: Spellings, language: str) -> str:
    """One follow, as its buttons change it: what it takes in, what it tells, muted or not."""
    lines = [
        following_title(following, spellings, language),
        t(language, "following.tells", kinds=_kinds_heard(following, language)),
    ]
    if following.subscription.muted:
        lines.append(t(language, "following.muted"))
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


def render_history(
    person: Person, spellings: Sequence[str], events: Sequence[Event], tz: str, language: str
) -> str:
    """A page of /history: each change with its date (the court's time), old → new, where
    it comes from, and whether it was a correction that followers were not told of."""
    lines = [t(language, "history.title", person=person_title(person, spellings, language))]
    if not events:
        lines.append(t(language, "history.empty"))
    for event in events:
        when = format_when(event.effective_at, tz, language)
        change = describe_event(event, language)
        if event.correction:
            change += " <i>" + t(language, "history.correction") + "</i>"
        lines.append(f"• <b>{when}</b> — {change}")
        lines.append(render_provenance(event.source, event.verification, language))
    return fit("\n".join(lines))


def _hearing_line(hearing: Hearing, case: Case, language: str, *, gone_by: bool) -> str:
    if hearing.starts_at is not None:
        line = format_when(hearing.starts_at, case.tz, language)
    else:
        line = escape(hearing.date_note or "—")
    if place := hearing.place or case.court:
        line += f", {escape(place)}"
    if gone_by or hearing.status != HearingStatus.SCHEDULED:
        line += " — " + t(language, f"hearing_status.{hearing.status}")
    if hearing.outcome:
        line += f": <i>{hearing_outcome(hearing.outcome, language)}</i>"
    return f"• {line}"


def render_person_hearings(
    person: Person, spellings: Sequence[str], hearings: PersonHearings, language: str
) -> str:
    """A person's hearings (the court's local time): to come, soonest first; then the last
    ones gone by, each with its status."""
    title = person_title(person, spellings, language)
    lines = [t(language, "person_hearings.title", person=title)]
    if not hearings.upcoming:
        lines.append(t(language, "person_hearings.none_ahead"))
    lines += [
        _hearing_line(hearing, case, language, gone_by=False)
        for hearing, case in hearings.upcoming
    ]
    if hearings.past:
        lines.append(t(language, "person_hearings.past"))
        lines += [
            _hearing_line(hearing, case, language, gone_by=True) for hearing, case in hearings.past
        ]
    return fit("\n".join(lines))


# --- name watches ----------------------------------------------------------------------------


# A whole day as each language writes it in full (Russian: after "до", in the genitive).
_FULL_DAY = {"en": "d MMMM y", "ru": "d MMMM y 'г'.", "kk": "y 'жылғы' d MMMM"}  # noqa: RUF001


def format_day(moment: datetime, language: str) -> str:
    """`2 March 2027` (the day in Almaty's calendar is close enough for a 90-day watch)."""
    pattern = _FULL_DAY.get(language, _FULL_DAY["en"])
    return format_date(moment.date(), pattern, locale=_locale(language))


def render_watch_offer(name: str, language: str) -> str:
    """Nobody is called `name` yet: the offer to watch for it (the name is the one bold part;
    the Watch button reads it back from there)."""
    return t(language, "watch.offer", name=escape(name))


def render_watch_started(watch: NameWatch, language: str, *, already: bool = False) -> str:
    key = "watch.already" if already else "watch.started"
    return t(language, key, name=escape(watch.name), date=format_day(watch.expires_at, language))


def render_watch_match(
    watched: str,
    changes: Sequence[Event],
    person: Person,
    language: str,
    spellings: Sequence[str] = (),
) -> str:
    """A person just added matches a watched name: which, and the push about them."""
    header = t(language, "watch.matched", name=escape(watched))
    return f"{header}\n{render_push(changes, person, language, spellings)}"


def render_watch_ended(watch: NameWatch, language: str) -> str:
    """The note sent when a watch's time is up."""
    return t(language, "watch.ended", name=escape(watch.name))


def render_name_watches(watches: Sequence[NameWatch], language: str) -> str:
    """The names a chat watches for (for /subscriptions; empty when it watches for none)."""
    if not watches:
        return ""
    lines = [t(language, "watches.title")]
    lines += [
        "• "
        + t(
            language,
            "watches.item",
            name=escape(watch.name),
            date=format_day(watch.expires_at, language),
        )
        for watch in watches
    ]
    return fit("\n".join(lines))
