"""Command arguments, parsed by pure functions (no Telegram, no database).

Each parser returns a small record or raises `BadArguments` with the translation key
of the reason; the handler then answers with that reason and the command's usage.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.models import (
    AsylumStatus,
    DetentionStatus,
    SubscriptionScope,
    Verification,
    Visibility,
)
from storage.reminders import MAX_OFFSET, MAX_OFFSETS, MIN_OFFSET, offset_of

MAX_NAME = 200
MAX_PLACE = 300
MAX_QUERY = 100
MAX_HEARINGS_DAYS = 366
# Row ids are the database's signed 64-bit integers, from 1.
MAX_ID = 2**63 - 1


class BadArguments(ValueError):
    """The arguments do not fit the command; `reason` is a translation key."""

    def __init__(self, reason: str = "error.usage") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Who:
    """A reference to a person: `#<id>` or any spelling of a name.

    Written as an id that no row can have (`#²`, `#-1`, 25 digits), it keeps its text and
    names nobody (names never start with `#`).
    """

    person_id: int | None = None
    text: str = ""

    @property
    def label(self) -> str:
        """The reference as the user wrote it."""
        return self.text or f"#{self.person_id}"

    @property
    def is_id(self) -> bool:
        """Written as an id: looked up by id alone, never among the names."""
        return self.person_id is not None or self.text.startswith("#")


@dataclass(frozen=True)
class PlaceName:
    """A court or a city as a subscriber wrote it (`court Zharkent`)."""

    scope: SubscriptionScope
    text: str


# The words that make /subscribe follow a court or a city, in each of our languages.
_PLACE_WORDS = {
    "court": SubscriptionScope.COURT,
    "суд": SubscriptionScope.COURT,
    "сот": SubscriptionScope.COURT,
    "city": SubscriptionScope.CITY,
    "город": SubscriptionScope.CITY,
    "қала": SubscriptionScope.CITY,
}


@dataclass(frozen=True)
class Provenance:
    """Where a change comes from, written at the end of a change command:
    `[source-url] [document|relative|lawyer|media|unverified] [--silent]`, in any order."""

    source: str | None = None
    verification: Verification | None = None
    silent: bool = False  # a correction: the record changes, nobody is told


# The words for each verification level an editor may write, in each of our languages.
VERIFICATION_WORDS = {
    Verification.DOCUMENT: ("document", "doc", "документ", "құжат"),
    Verification.RELATIVE: ("relative", "lawyer", "родственник", "адвокат", "туыс", "туысы"),
    Verification.MEDIA: ("media", "сми", "бақ"),
    Verification.UNVERIFIED: ("unverified", "непроверено", "тексерілмеген"),
}
_VERIFICATION_OF = {word: level for level, words in VERIFICATION_WORDS.items() for word in words}
SILENT = "--silent"


@dataclass(frozen=True)
class HearingArgs:
    who: Who
    local_start: datetime  # naive: the court's local time
    place: str | None
    provenance: Provenance = Provenance()


@dataclass(frozen=True)
class StatusArgs:
    who: Who
    status: str
    provenance: Provenance = Provenance()

    @property
    def source(self) -> str | None:
        return self.provenance.source


@dataclass(frozen=True)
class HearingsWindow:
    """Which upcoming hearings to list: [start, end) in UTC, optionally at one place."""

    start: datetime
    end: datetime | None
    place: str | None


# ASCII digits only: `\d` would also take "١٢" and the digits of every other script.
_ID_DIGITS = re.compile(r"[0-9]+")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
# A link written without its scheme: `www.example.org/…`, `azattyq.org/a/123`.
_BARE_LINK = re.compile(r"(www\.\S+|[\w-]+(\.[\w-]+)+/\S*)", re.IGNORECASE)
MAX_SOURCE = 500
_SETHEARING = re.compile(
    r"^(?P<who>.+?)\s+(?P<date>\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4})"
    r"\s+(?P<time>\d{1,2}:\d{2})(?:\s+(?P<place>.+))?$",
    re.DOTALL,
)
_LAST_WORD = re.compile(r"(?P<rest>.*?)\s*(?P<word>\S+)\s*", re.DOTALL)
_LOCAL_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_DAYS = re.compile(r"(\d{1,3})d")


def parse_id(text: str) -> int | None:
    """A row id written in ASCII digits, from 1 to 2**63 - 1; None for anything else."""
    if not _ID_DIGITS.fullmatch(text) or len(text.lstrip("0")) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def id_reference(text: str) -> Who:
    """The person an id from a link or a button names (`/start p12`, `card:12`)."""
    person_id = parse_id(text)
    if person_id is not None:
        return Who(person_id=person_id)
    shown = text if len(text) <= MAX_QUERY else text[:MAX_QUERY] + "…"
    return Who(text=f"#{shown}")


def parse_who(text: str) -> Who:
    """`#12` → person 12; anything else is a name to look up."""
    text = " ".join(text.split())
    if not text:
        raise BadArguments("error.who_missing")
    if text.startswith("#") and (person_id := parse_id(text[1:])) is not None:
        return Who(person_id=person_id)
    if len(text) > MAX_QUERY:
        raise BadArguments("error.too_long")
    return Who(text=text)


def parse_query(text: str) -> str:
    """A /find query: one line of at most MAX_QUERY characters."""
    query = " ".join(text.split())
    if not query:
        raise BadArguments("error.usage")
    if len(query) > MAX_QUERY:
        raise BadArguments("error.too_long")
    return query


def parse_target(text: str) -> Who | PlaceName | None:
    """`all` (None), `court <name>` or `city <name>`, or a person: /subscribe, /unsubscribe."""
    if text.strip().lower() == "all":
        return None
    word, *rest = text.split(maxsplit=1) or [""]
    scope = _PLACE_WORDS.get(word.lower())
    if scope is None:
        return parse_who(text)
    name = " ".join("".join(rest).split())
    if not name:
        raise BadArguments("following.place_missing")
    if len(name) > MAX_QUERY:
        raise BadArguments("error.too_long")
    return PlaceName(scope=scope, text=name)


def parse_spellings(text: str) -> list[str]:
    """`/addperson Name; other spelling; …` → the canonical name first, no repeats."""
    names = list(dict.fromkeys(" ".join(part.split()) for part in text.split(";")))
    names = [name for name in names if name]
    if not names:
        raise BadArguments("error.usage")
    if any(len(name) > MAX_NAME for name in names):
        raise BadArguments("error.too_long")
    if any(name.startswith("#") for name in names):
        raise BadArguments("error.name_hash")
    return names


def split_provenance(text: str) -> tuple[str, Provenance]:
    """The command's text without its trailing provenance words, and those words read
    (line breaks in the rest are kept: free text may follow a colon or a new line).

    A link without `https://` is refused as such (not taken for a status or a place).
    """
    rest = text.strip()
    source: str | None = None
    verification: Verification | None = None
    silent = False
    while match := _LAST_WORD.fullmatch(rest):
        word = match.group("word")
        if word.lower() == SILENT and not silent:
            silent = True
        elif _URL.fullmatch(word) and source is None:
            if len(word) > MAX_SOURCE:
                raise BadArguments("error.too_long")
            source = word
        elif word.lower() in _VERIFICATION_OF and verification is None:
            verification = _VERIFICATION_OF[word.lower()]
        elif source is None and _BARE_LINK.fullmatch(word):
            raise BadArguments("error.source_scheme")
        else:
            break
        rest = match.group("rest")
    return rest, Provenance(source=source, verification=verification, silent=silent)


def parse_date(text: str) -> date:
    """`2026-12-03` or, as written locally, `03.12.2026` (`3.12.2026`)."""
    try:
        if match := _LOCAL_DATE.fullmatch(text):
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError as error:
        raise BadArguments("error.bad_datetime") from error


def parse_sethearing(text: str) -> HearingArgs:
    """`<who> <YYYY-MM-DD|DD.MM.YYYY> <HH:MM> [place] [provenance]`."""
    text, provenance = split_provenance(text.strip())
    match = _SETHEARING.match(text)
    if match is None:
        raise BadArguments("error.usage")
    day = parse_date(match.group("date"))
    try:
        hour, minute = (int(part) for part in match.group("time").split(":"))
        local_start = datetime.combine(day, time(hour, minute))
    except ValueError as error:
        raise BadArguments("error.bad_datetime") from error
    place = " ".join((match.group("place") or "").split()) or None
    if place and len(place) > MAX_PLACE:
        raise BadArguments("error.too_long")
    return HearingArgs(
        who=parse_who(match.group("who")),
        local_start=local_start,
        place=place,
        provenance=provenance,
    )


def _parse_status(text: str, allowed: frozenset[str]) -> StatusArgs:
    """`<who> <status> [provenance]`; a status of two words may be written with a space
    (`house arrest`) or a hyphen."""
    text, provenance = split_provenance(text)
    words = text.replace("-", "_").split()
    if len(words) < 2:
        raise BadArguments("error.usage")
    two = "_".join(words[-2:]).lower()
    if len(words) > 2 and two in allowed:
        words[-2:] = [two]
    status = words.pop().lower()
    if status not in allowed:
        raise BadArguments("error.bad_status")
    who = " ".join(text.split()[: len(words)])
    return StatusArgs(who=parse_who(who), status=status, provenance=provenance)


ASYLUM_STATUSES = frozenset(status.value for status in AsylumStatus)
DETENTION_STATUSES = frozenset(status.value for status in DetentionStatus)


def parse_setasylum(text: str) -> StatusArgs:
    return _parse_status(text, ASYLUM_STATUSES)


def parse_setdetention(text: str) -> StatusArgs:
    return _parse_status(text, DETENTION_STATUSES)


def parse_hearings_window(text: str, *, now: datetime, tz: str) -> HearingsWindow:
    """`today`, `tomorrow`, `week`, `<N>d`, a city or court, or nothing (all upcoming)."""
    word = " ".join(text.split()).lower()
    zone = ZoneInfo(tz)
    midnight = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    if not word:
        return HearingsWindow(start=now, end=None, place=None)
    if word == "today":
        return HearingsWindow(start=now, end=midnight + timedelta(days=1), place=None)
    if word == "tomorrow":
        start = midnight + timedelta(days=1)
        return HearingsWindow(start=start, end=start + timedelta(days=1), place=None)
    if word == "week":
        return HearingsWindow(start=now, end=now + timedelta(days=7), place=None)
    if match := _DAYS.fullmatch(word):
        days = int(match.group(1))
        if not 1 <= days <= MAX_HEARINGS_DAYS:
            raise BadArguments("error.bad_days")
        return HearingsWindow(start=now, end=now + timedelta(days=days), place=None)
    if len(word) > MAX_QUERY:
        raise BadArguments("error.too_long")
    return HearingsWindow(start=now, end=None, place=word)


_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?")


def _clock(text: str) -> str:
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise BadArguments("error.bad_hours")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        raise BadArguments("error.bad_hours")
    return f"{hour:02d}:{minute:02d}"


def parse_quiet_hours(text: str) -> str | None:
    """`22-07` or `22:30-07:00` → "22:30-07:00"; `off` → None."""
    text = text.strip().lower()
    if text == "off":
        return None
    start, separator, end = text.partition("-")
    if not separator:
        raise BadArguments("error.usage")
    start, end = _clock(start), _clock(end)
    if start == end:
        raise BadArguments("error.bad_hours")
    return f"{start}-{end}"


def parse_digest_hour(text: str) -> int | None:
    """`20` or `20:00` → 20 (a daily digest at that hour); `off` → None (instant messages)."""
    text = text.strip().lower()
    if text == "off":
        return None
    clock = _clock(text)
    if not clock.endswith(":00"):
        raise BadArguments("error.bad_hours")
    return int(clock[:2])


_OFFSET_SEPARATORS = re.compile(r"[,;\s]+")


def parse_offsets(text: str) -> tuple[timedelta, ...]:
    """`7d,1d,1h` (minutes, hours, days) → those offsets, largest first; `off` → none."""
    words = [word for word in _OFFSET_SEPARATORS.split(text.strip().lower()) if word]
    if not words:
        raise BadArguments("error.usage")
    if words == ["off"]:
        return ()
    offsets: set[timedelta] = set()
    for word in words:
        offset = offset_of(word)
        if offset is None:
            raise BadArguments("error.bad_offset")
        if not MIN_OFFSET <= offset <= MAX_OFFSET:
            raise BadArguments("error.offset_range")
        offsets.add(offset)
    if len(offsets) > MAX_OFFSETS:
        raise BadArguments("error.too_many_offsets")
    return tuple(sorted(offsets, reverse=True))


VISIBILITIES = frozenset(visibility.value for visibility in Visibility)


@dataclass(frozen=True)
class VisibilityArgs:
    who: Who
    visibility: Visibility


def parse_setvisibility(text: str) -> VisibilityArgs:
    """`<who> public|restricted`."""
    words = text.split()
    if len(words) < 2:
        raise BadArguments("error.usage")
    word = words.pop().lower()
    if word not in VISIBILITIES:
        raise BadArguments("error.bad_visibility")
    return VisibilityArgs(who=parse_who(" ".join(words)), visibility=Visibility(word))


# --- hearings gone by, verdicts, notes (/cancelhearing, /held, /setverdict, /note) ---------

MAX_VERDICT = 2000
MAX_NOTE = 1000
MAX_OUTCOME = 1000
# Of a verdict written `<verdict>; <sentence>`, a sentence longer than this stays in the verdict.
MAX_SENTENCE = 300
# How a hearing ended, in each of our languages (`/held <who> adjourned`).
OUTCOME_WORDS = {
    "adjourned": ("adjourned", "отложено", "отложено.", "қалдырылды"),
    "verdict": ("verdict", "приговор", "үкім"),
}
_OUTCOME_OF = {word: outcome for outcome, words in OUTCOME_WORDS.items() for word in words}
# The free text of a command begins after the first colon or line break.
_FREE_TEXT = re.compile(r"[:\n]")


@dataclass(frozen=True)
class WhoArgs:
    """A command about a person and nothing else (`/cancelhearing <who>`)."""

    who: Who
    provenance: Provenance = Provenance()


@dataclass(frozen=True)
class HeldArgs:
    who: Who
    outcome: str  # a key of OUTCOME_WORDS
    text: str | None
    provenance: Provenance = Provenance()


@dataclass(frozen=True)
class VerdictArgs:
    who: Who
    verdict: str
    sentence: str | None
    provenance: Provenance = Provenance()


@dataclass(frozen=True)
class NoteArgs:
    who: Who
    text: str
    provenance: Provenance = Provenance()


def split_free_text(text: str) -> tuple[str, str | None]:
    """`<head>: <text>` or `<head>\\n<text>` → (head, text); no colon or line break: no text.
    The text keeps its own line breaks; None when it is empty."""
    match = _FREE_TEXT.search(text)
    if match is None:
        return text.strip(), None
    return text[: match.start()].strip(), text[match.end() :].strip() or None


def _free_text(text: str | None, limit: int, too_long: str) -> str:
    if not text:
        raise BadArguments("error.text_missing")
    if len(text) > limit:
        raise BadArguments(too_long)
    return text


def parse_cancelhearing(text: str) -> WhoArgs:
    """`<who> [provenance]`."""
    rest, provenance = split_provenance(text)
    if not rest:
        raise BadArguments("error.usage")
    return WhoArgs(who=parse_who(rest), provenance=provenance)


def parse_held(text: str) -> HeldArgs:
    """`<who> adjourned|verdict[: text] [provenance]` (the text may follow on a new line;
    `<who>: adjourned …` is understood too)."""
    rest, provenance = split_provenance(text)
    head, said = split_free_text(rest)
    words = head.split()
    if len(words) < 2 or words[-1].lower() not in _OUTCOME_OF:
        first, _, after = (said or "").partition(" ")
        if not words or first.lower() not in _OUTCOME_OF:
            raise BadArguments("error.bad_outcome" if len(words) > 1 or said else "error.usage")
        words.append(first)
        said = after.strip() or None
    outcome = _OUTCOME_OF[words.pop().lower()]
    if said is not None:
        said = _free_text(said, MAX_OUTCOME, "error.outcome_too_long")
    return HeldArgs(
        who=parse_who(" ".join(words)), outcome=outcome, text=said, provenance=provenance
    )


def parse_setverdict(text: str) -> VerdictArgs:
    """`<who>: <verdict>[; <sentence>] [source-url]`; a sentence after the first `;` is kept
    apart when it is short enough to be one."""
    rest, provenance = split_provenance(text)
    head, said = split_free_text(rest)
    verdict = _free_text(said, MAX_VERDICT, "error.verdict_too_long")
    found, _, sentence = verdict.partition(";")
    if found.strip() and sentence.strip() and len(sentence.strip()) <= MAX_SENTENCE:
        verdict, shown = found.strip(), sentence.strip()
    else:
        shown = None
    return VerdictArgs(who=parse_who(head), verdict=verdict, sentence=shown, provenance=provenance)


def parse_note(text: str) -> NoteArgs:
    """`<who>: <text> [source-url]` (or the text on a new line)."""
    rest, provenance = split_provenance(text)
    head, said = split_free_text(rest)
    return NoteArgs(
        who=parse_who(head),
        text=_free_text(said, MAX_NOTE, "error.note_too_long"),
        provenance=provenance,
    )
