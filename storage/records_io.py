"""Import and export of the records: people with their cases, hearings and relations, as JSON
or CSV (the file schema is in the README, "Import and export").

Import is validated row by row, all or nothing: `import_records` writes in the caller's one
transaction and raises `ImportRejected` (the caller rolls back) when any row is refused, after
reading every row, so that the report names each bad row. It is idempotent: people are matched
by `id` when given, else by their exact canonical name; a value that is already so is not
written again and makes no event. An import adds and changes, and never deletes.

Both directions stream: rows are read, looked up and written a batch at a time (one query per
table per batch, inserts and updates as executemany), so a file of 50,000 people needs neither
50,000 round trips nor the whole file in memory.
"""

import csv
import json
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import count, islice
from typing import Any, TextIO
from uuid import uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, bindparam, insert, or_, select, text, update
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import dialect_name
from storage.models import (
    AsylumStatus,
    AuditEntry,
    Case,
    DetentionStatus,
    Event,
    EventKind,
    Hearing,
    HearingStatus,
    Person,
    PersonName,
    PersonRelation,
    PersonSource,
    RelationKind,
    Visibility,
    plausible_birth_year,
)
from storage.names import name_key
from storage.timeline import IMPORTED, audit_row, event_row, hold_together
from storage.visibility import drop_owed_to_outsiders

FORMATS = ("json", "csv")
BATCH = 500
IMPORT_CACHE_KIB = 64 * 1024
IMPORT_ACTION = "import"
QUIET_ACTION = "import_changed"  # the audit entry of changes followers are not told about
# The fields whose changes followers are told about (`record_changed` events, as guided
# editing writes them); a change to any other field is written to the audit log only.
TOLD_FIELDS = frozenset(
    {
        "birth_year",
        "age_note",
        "citizenship",
        "origin",
        "location",
        "court",
        "city",
        "charge",
        "case_number",
        "stage",
        "lawyer",
        "spelling",
    }
)

PERSON_TABLE: Table = Person.__table__  # type: ignore[attr-defined]
NAME_TABLE: Table = PersonName.__table__  # type: ignore[attr-defined]
SOURCE_TABLE: Table = PersonSource.__table__  # type: ignore[attr-defined]
CASE_TABLE: Table = Case.__table__  # type: ignore[attr-defined]
HEARING_TABLE: Table = Hearing.__table__  # type: ignore[attr-defined]
RELATION_TABLE: Table = PersonRelation.__table__  # type: ignore[attr-defined]
EVENT_TABLE: Table = Event.__table__  # type: ignore[attr-defined]
AUDIT_TABLE: Table = AuditEntry.__table__  # type: ignore[attr-defined]


def _columns(model: type[SQLModel], kinds: dict[str, str]) -> dict[str, tuple[str, int | None]]:
    """Each field's kind of value, and the longest text its column keeps (None: any)."""
    columns = model.__table__.c  # type: ignore[attr-defined]
    return {
        name: (kind, getattr(columns[name].type, "length", None)) for name, kind in kinds.items()
    }


# What each field holds: a kind of value (and, read from its column, its longest length).
PERSON_FIELDS = _columns(
    Person,
    {
        "name": "text",
        "birth_year": "year",
        "age_note": "text",
        "gender": "text",
        "ethnicity": "text",
        "citizenship": "text",
        "origin": "text",
        "location": "text",
        "detention": "detention",
        "detention_since": "since",
        "detention_note": "text",
        "asylum": "asylum",
        "asylum_since": "since",
        "asylum_note": "text",
        "visibility": "visibility",
        "verification": "word",
        "summary": "text",
    },
)
CASE_FIELDS = _columns(
    Case,
    {
        "court": "text",
        "city": "text",
        "tz": "tz",
        "charge": "text",
        "case_number": "text",
        "stage": "text",
        "verdict": "text",
        "sentence": "text",
        "note": "text",
        "lawyer": "text",
        "appeal_of": "id",
    },
)
HEARING_FIELDS = _columns(
    Hearing,
    {
        "starts_at": "moment",
        "date_note": "text",
        "place": "text",
        "kind": "text",
        "status": "hearing_status",
        "outcome": "text",
    },
)
# Fields that may not be empty, and what an empty one becomes.
DEFAULTS: dict[str, str] = {
    "visibility": Visibility.PUBLIC,
    "verification": "reported",
    "status": HearingStatus.SCHEDULED,
}
PERSON_LISTS = ("spellings", "sources", "relations", "cases")

# The CSV columns, in the order an export writes them. `;` or `,` separates them (read from
# the header line); lists inside a cell are separated by " | ".
CSV_PERSON = ("person_id", *PERSON_FIELDS, "spellings", "sources", "relations")
CSV_CASE = (
    "case_id",
    "court",
    "city",
    "tz",
    "charge",
    "case_number",
    "stage",
    "verdict",
    "sentence",
    "case_note",
    "lawyer",
    "appeal_of",
)
CSV_HEARING = (
    "hearing_id",
    "hearing_date",
    "hearing_time",
    "date_note",
    "place",
    "hearing_kind",
    "hearing_status",
    "outcome",
)
CSV_COLUMNS = (*CSV_PERSON, *CSV_CASE, *CSV_HEARING)
# CSV column -> field, where the two names differ.
CSV_CASE_FIELD = {"case_note": "note"}
CSV_HEARING_FIELD = {"hearing_kind": "kind", "hearing_status": "status"}
LIST_SEPARATOR = " | "
_SINCE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
_WORD = re.compile(r"[a-z_]+")
_RELATION = re.compile(r"(?P<kind>\w+)\s*=\s*(?P<who>[^()]+?)\s*(?:\((?P<note>.*)\))?")


# --- what is reported ------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """A refused row: its number in the file, a reason key (`import.row.<reason>`, translated
    by the caller) and the detail (the field and the value, or the rows it collides with)."""

    row: int
    reason: str
    detail: str = ""


@dataclass
class ImportReport:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)


class RecordsFileError(Exception):
    """The file as a whole cannot be read: `reason` (`import.file.<reason>`) and detail."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


class ImportRejected(Exception):
    """Some rows were refused: nothing is to be written (the caller's transaction rolls back)."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{len(report.rejected)} rows refused")
        self.report = report


class _Refused(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


# --- the records read from a file ------------------------------------------------------


@dataclass
class HearingRecord:
    id: int | None
    # Only the fields the file gives. `starts_at` is aware, or naive: local time in the
    # court's time zone (a CSV date and time).
    values: dict[str, Any]


@dataclass
class CaseRecord:
    id: int | None
    values: dict[str, Any]
    hearings: list[HearingRecord] = field(default_factory=list)


@dataclass(frozen=True)
class RelationRecord:
    kind: str
    other_id: int | None  # `#12`
    other_name: str | None  # or an exact canonical name
    note: str | None


@dataclass
class PersonRecord:
    row: int
    id: int | None
    values: dict[str, Any]  # only the fields the file gives; `name` always
    spellings: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    relations: list[RelationRecord] = field(default_factory=list)
    cases: list[CaseRecord] = field(default_factory=list)


Row = PersonRecord | RowError


# --- values ---------------------------------------------------------------------------


def _check(name: str, kind: str, limit: int | None, raw: Any) -> Any:
    """The value of field `name` from a file (a string from CSV, any JSON value), checked."""
    if isinstance(raw, str):
        raw = raw.strip()
    if raw is None or raw == "":
        return DEFAULTS.get(name)
    if kind in ("year", "id"):
        number = _integer(name, raw)
        if kind == "year" and not plausible_birth_year(number):
            raise _Refused("bad_year", f"{name}: {raw}")
        if kind == "id" and number < 1:
            raise _Refused("bad_number", f"{name}: {raw}")
        return number
    if kind == "moment":
        return _moment(name, raw)
    if not isinstance(raw, str):
        raise _Refused("not_text", f"{name}: {raw!r}")
    if limit is not None and len(raw) > limit:
        raise _Refused("too_long", f"{name}: {len(raw)} > {limit}")
    allowed = {
        "detention": DetentionStatus,
        "asylum": AsylumStatus,
        "visibility": Visibility,
        "hearing_status": HearingStatus,
    }.get(kind)
    if allowed is not None and raw not in set(allowed):
        raise _Refused("bad_status", f"{name}: {raw}")
    if kind == "since" and not _SINCE.fullmatch(raw):
        raise _Refused("bad_date", f"{name}: {raw}")
    if kind == "word" and not _WORD.fullmatch(raw):
        raise _Refused("bad_status", f"{name}: {raw}")
    if kind == "tz":
        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError):
            raise _Refused("bad_tz", f"{name}: {raw}") from None
    return raw


def _integer(name: str, raw: Any) -> int:
    if isinstance(raw, bool):
        raise _Refused("bad_number", f"{name}: {raw}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.lstrip("#").isdigit():
        return int(raw.lstrip("#"))
    raise _Refused("bad_number", f"{name}: {raw}")


def _moment(name: str, raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise _Refused("bad_date", f"{name}: {raw!r}")
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise _Refused("bad_date", f"{name}: {raw}") from None


def _fields(source: Mapping[str, Any], spec: Mapping[str, tuple[str, int | None]]) -> dict:
    return {
        name: _check(name, kind, limit, source[name])
        for name, (kind, limit) in spec.items()
        if name in source
    }


def _strings(name: str, raw: Any, limit: int) -> list[str]:
    """A list of strings (JSON) or a cell of them separated by " | " (CSV)."""
    if raw is None or raw == "":
        return []
    items = raw.split("|") if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise _Refused("not_text", f"{name}: {raw!r}")
    found = [item.strip() for item in items if item.strip()]
    for item in found:
        if len(item) > limit:
            raise _Refused("too_long", f"{name}: {len(item)} > {limit}")
    return list(dict.fromkeys(found))


def _relation(kind: Any, who: Any, note: Any) -> RelationRecord:
    if kind not in set(RelationKind):
        raise _Refused("bad_relation", f"kind: {kind}")
    note = _check("note", "text", 200, note)
    if isinstance(who, int) and not isinstance(who, bool):
        return RelationRecord(kind, who, None, note)
    if isinstance(who, str) and who.strip():
        who = who.strip()
        if who.startswith("#"):
            return RelationRecord(kind, _integer("relations", who), None, note)
        return RelationRecord(kind, None, who, note)
    raise _Refused("bad_relation", f"{who!r}")


# --- reading JSON ------------------------------------------------------------------------


def read_json(stream: TextIO, *, chunk: int = 1 << 20) -> Iterator[Row]:
    """Each person of a JSON list of people, checked (or the reason it is refused), reading
    the file a chunk at a time: a person is decoded as soon as the whole of it is read."""
    decoder = json.JSONDecoder()
    buffer, position, ended = "", 0, False

    def more() -> bool:
        nonlocal buffer, position, ended
        data = stream.read(chunk)
        buffer, position, ended = buffer[position:] + data, 0, not data
        return bool(data)

    def skip_blank() -> None:
        nonlocal position
        while True:
            while position < len(buffer) and buffer[position].isspace():
                position += 1
            if position < len(buffer) or not more():
                return

    more()
    skip_blank()
    if position >= len(buffer):
        raise RecordsFileError("empty")
    if buffer[position] != "[":
        raise RecordsFileError("not_a_list")
    position += 1
    row = 0
    while True:
        skip_blank()
        if position >= len(buffer):
            raise RecordsFileError("bad_json", "the list is not closed with ]")
        if buffer[position] == "]":
            position += 1
            skip_blank()
            if position < len(buffer):
                raise RecordsFileError("bad_json", "text after the closing ]")
            return
        if row and buffer[position] == ",":
            position += 1
            skip_blank()
        elif row:
            raise RecordsFileError("bad_json", f"a comma is missing after person {row}")
        while True:
            try:
                value, position = decoder.raw_decode(buffer, position)
                break
            except json.JSONDecodeError as error:
                if ended or not more():
                    raise RecordsFileError("bad_json", f"person {row + 1}: {error.msg}") from None
        row += 1
        yield person_from_json(row, value)


def person_from_json(row: int, value: Any) -> Row:
    """One person of a JSON file, checked."""
    try:
        if not isinstance(value, dict):
            raise _Refused("not_an_object")
        _no_unknown(value, {"id", *PERSON_FIELDS, *PERSON_LISTS})
        person = _person(row, value.get("id"), value)
        relations = value.get("relations") or []
        if not isinstance(relations, list):
            raise _Refused("bad_relation", repr(relations))
        for relation in relations:
            if not isinstance(relation, dict):
                raise _Refused("bad_relation", repr(relation))
            _no_unknown(relation, {"kind", "other_id", "other_name", "note"})
            who = relation.get("other_id") or relation.get("other_name")
            person.relations.append(_relation(relation.get("kind"), who, relation.get("note")))
        cases = value.get("cases") or []
        if not isinstance(cases, list):
            raise _Refused("not_an_object", "cases")
        for case in cases:
            if not isinstance(case, dict):
                raise _Refused("not_an_object", "cases")
            _no_unknown(case, {"id", "hearings", *CASE_FIELDS})
            record = CaseRecord(_id(case.get("id")), _fields(case, CASE_FIELDS))
            for hearing in case.get("hearings") or []:
                if not isinstance(hearing, dict):
                    raise _Refused("not_an_object", "hearings")
                _no_unknown(hearing, {"id", *HEARING_FIELDS})
                values = _fields(hearing, HEARING_FIELDS)
                record.hearings.append(HearingRecord(_id(hearing.get("id")), values))
            person.cases.append(record)
        return person
    except _Refused as refused:
        return RowError(row, refused.reason, refused.detail)


def _person(row: int, raw_id: Any, source: Mapping[str, Any]) -> PersonRecord:
    values = _fields(source, PERSON_FIELDS)
    if not values.get("name"):
        raise _Refused("name_missing")
    return PersonRecord(
        row=row,
        id=_id(raw_id),
        values=values,
        spellings=_strings("spellings", source.get("spellings"), 200),
        sources=_strings("sources", source.get("sources"), 500),
    )


def _id(raw: Any) -> int | None:
    return _check("id", "id", None, raw)


def _no_unknown(value: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(value) - known)
    if unknown:
        raise _Refused("unknown_field", ", ".join(unknown))


# --- reading CSV -------------------------------------------------------------------------


def read_csv(stream: TextIO) -> Iterator[Row]:
    """The people of a CSV file, checked. A row is a person, a case of theirs, a hearing of
    that case, or any start of that: rows that follow with the same person (`person_id`, or
    the name when there is none) add cases and hearings to them; a row's case is the one
    before it when its case columns are empty or the same."""
    header = stream.readline()
    if not header.strip():
        raise RecordsFileError("empty")
    delimiter = ";" if header.count(";") > header.count(",") else ","
    columns = [
        column.strip().lower() for column in next(csv.reader([header], delimiter=delimiter))
    ]
    unknown = [column for column in columns if column not in CSV_COLUMNS]
    if unknown:
        raise RecordsFileError("unknown_columns", ", ".join(unknown))
    if "name" not in columns and "person_id" not in columns:
        raise RecordsFileError("no_name_column")
    reader = csv.reader(stream, delimiter=delimiter)
    current: PersonRecord | None = None
    refused: RowError | None = None
    first_cells: dict[str, str] = {}
    row = 1
    for cells in reader:
        row += 1
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns):
            raise RecordsFileError("too_many_cells", f"row {row}")
        named = dict(zip(columns, cells, strict=False))
        if current is not None or refused is not None:
            if _same_person(named, first_cells):
                if current is not None:
                    try:
                        _continue_person(current, named, first_cells)
                    except _Refused as error:
                        refused, current = RowError(row, error.reason, error.detail), None
                continue
            yield current or refused  # type: ignore[misc]
        current, refused, first_cells = None, None, named
        try:
            current = _csv_person(row, named)
        except _Refused as error:
            refused = RowError(row, error.reason, error.detail)
    if current is not None or refused is not None:
        yield current or refused  # type: ignore[misc]


def _same_person(named: Mapping[str, str], first: Mapping[str, str]) -> bool:
    this_id, first_id = named.get("person_id", "").strip(), first.get("person_id", "").strip()
    if this_id or first_id:
        return this_id == first_id
    name = named.get("name", "").strip()
    return bool(name) and name == first.get("name", "").strip()


def _csv_person(row: int, named: Mapping[str, str]) -> PersonRecord:
    person = _person(row, named.get("person_id"), named)
    for entry in _strings("relations", named.get("relations"), 500):
        match = _RELATION.fullmatch(entry)
        if match is None:
            raise _Refused("bad_relation", entry)
        person.relations.append(_relation(match["kind"], match["who"], match["note"]))
    _csv_case_and_hearing(person, named)
    return person


def _continue_person(
    person: PersonRecord, named: Mapping[str, str], first: Mapping[str, str]
) -> None:
    """A further row of the same person: its person columns empty or as on the first row."""
    for column in CSV_PERSON:
        value = named.get(column, "").strip()
        if value and value != first.get(column, "").strip():
            raise _Refused("person_columns_differ", column)
    _csv_case_and_hearing(person, named)


def _csv_case_and_hearing(person: PersonRecord, named: Mapping[str, str]) -> None:
    case_cells = {
        CSV_CASE_FIELD.get(column, column): named[column]
        for column in CSV_CASE
        if column != "case_id" and column in named
    }
    hearing = _csv_hearing(named)
    case_id = _check("case_id", "id", None, named.get("case_id"))
    given = case_id is not None or any(cell.strip() for cell in case_cells.values())
    if not given and hearing is None:
        return
    values = _fields(case_cells, CASE_FIELDS)
    previous = person.cases[-1] if person.cases else None
    same = previous is not None and (
        (case_id is not None and previous.id == case_id)
        or (
            case_id is None
            and previous.id is None
            and all(previous.values.get(k) == v for k, v in values.items() if v is not None)
        )
        or (not given)
    )
    if previous is None or not same:
        previous = CaseRecord(case_id, values)
        person.cases.append(previous)
    if hearing is not None:
        previous.hearings.append(hearing)


def _csv_hearing(named: Mapping[str, str]) -> HearingRecord | None:
    cells = {column: named[column].strip() for column in CSV_HEARING if column in named}
    if not any(cells.values()):
        return None
    fields = {
        CSV_HEARING_FIELD.get(column, column): cells[column]
        for column in ("date_note", "place", "hearing_kind", "hearing_status", "outcome")
        if column in cells
    }
    values = _fields(fields, HEARING_FIELDS)
    day, hour = cells.get("hearing_date", ""), cells.get("hearing_time", "")
    if day or hour:
        if not (day and hour):
            raise _Refused("date_and_time", f"hearing_date: {day}, hearing_time: {hour}")
        values["starts_at"] = datetime.combine(_csv_date(day), _csv_time(hour))
    elif "hearing_date" in cells:
        values["starts_at"] = None
    return HearingRecord(_check("hearing_id", "id", None, cells.get("hearing_id")), values)


def _csv_date(raw: str) -> date:
    for layout in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(raw, layout).date()
        except ValueError:
            pass
    raise _Refused("bad_date", f"hearing_date: {raw}")


def _csv_time(raw: str) -> time:
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise _Refused("bad_time", f"hearing_time: {raw}") from None


def read_records(stream: TextIO, file_format: str) -> Iterator[Row]:
    """The people of a file, checked; a file that cannot be read at all raises
    `RecordsFileError` (never a parser's own error)."""
    rows = read_csv(stream) if file_format == "csv" else read_json(stream)
    try:
        yield from rows
    except csv.Error as error:  # a cell longer than the csv module takes, a stray NUL…
        raise RecordsFileError("bad_csv", str(error)) from None
    except RecursionError:  # JSON nested deeper than any person is
        raise RecordsFileError("bad_json", "nested too deeply") from None


def format_of(filename: str) -> str | None:
    """`json` or `csv` from a file name's extension; None for anything else."""
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    return extension if extension in FORMATS else None


# --- writing an import -------------------------------------------------------------------


@dataclass
class _Target:
    """A record of the import: its id once known (a new row without one gets it on insert)."""

    id: int | None


@dataclass
class _PersonPlan:
    record: PersonRecord
    target: _Target
    new_row: dict[str, Any] | None = None
    changed_row: dict[str, Any] | None = None
    names: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    cases: list[tuple[_Target, dict[str, Any] | None, CaseRecord]] = field(default_factory=list)
    case_updates: list[dict[str, Any]] = field(default_factory=list)
    hearings: list[tuple[_Target, dict[str, Any]]] = field(default_factory=list)
    hearing_updates: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, dict | None, dict | None]] = field(default_factory=list)
    # Changes written to the audit log only: facts followers are not told about (gender,
    # summary, notes, sources, a hearing's room…), by field.
    quiet: dict[str, Any] = field(default_factory=dict)
    renamed_from: str | None = None


class _Importer:
    def __init__(
        self,
        session: AsyncSession,
        *,
        actor_id: int | None,
        notify: bool,
        grace: timedelta,
        now: datetime,
        default_tz: str,
    ) -> None:
        self.session = session
        self.actor_id = actor_id
        self.notify = notify
        self.grace = grace
        self.now = now
        self.default_tz = default_tz
        self.report = ImportReport()
        self.names: dict[str, list[int]] = {}
        self.new_names: dict[str, int] = {}  # names of people added without an id -> row
        self.person_rows: dict[int, int] = {}  # person id -> the row that named them
        self.case_rows: dict[int, int] = {}
        self.hearing_rows: dict[int, int] = {}
        self.new_people: set[int] = set()
        self.relations: list[tuple[int, int, RelationRecord]] = []  # row, person id, relation
        self.appeals: list[tuple[int, int, _Target, int]] = []  # row, person, case, appealed
        self.restricted: list[int] = []  # people this import makes restricted
        # Dedup keys of this import's events: one random part, then a count, so that they
        # go into the unique index in order (a random key per event would scatter them).
        self.key = uuid4().hex
        self.numbers = count()

    async def _run(self, statement: Any, rows: Sequence[Mapping[str, Any]] | None = None) -> Any:
        return await _run(self.session, statement, rows)

    async def start(self) -> None:
        rows = await self._run(select(PERSON_TABLE.c.id, PERSON_TABLE.c.name))
        for person_id, name in rows:
            self.names.setdefault(name, []).append(person_id)

    def refuse(self, row: int, reason: str, detail: str = "") -> None:
        self.report.rejected.append(RowError(row, reason, detail))

    async def add(self, rows: Sequence[Row]) -> None:
        records = []
        for row in rows:
            if isinstance(row, RowError):
                self.report.rejected.append(row)
            else:
                records.append(row)
        plans = []
        for record in records:
            try:
                plans.append((record, self._match(record)))
            except _Refused as refused:
                self.refuse(record.row, refused.reason, refused.detail)
        targets = [target_id for _, target_id in plans if target_id is not None]
        people = await self._rows(PERSON_TABLE, PERSON_TABLE.c.id, targets)
        state = await self._state(list(people), plans)
        made = []
        for record, target_id in plans:
            try:
                made.append(self._plan(record, target_id, people.get(target_id), state))
            except _Refused as refused:
                self.refuse(record.row, refused.reason, refused.detail)
        if not self.report.rejected:
            await self._write(made)

    def _match(self, record: PersonRecord) -> int | None:
        """The id of the person the record is (None: a new person without an id)."""
        name = record.values["name"]
        if record.id is not None:
            target_id: int | None = record.id
        else:
            ids = self.names.get(name, [])
            if len(ids) > 1:
                raise _Refused("name_ambiguous", ", ".join(f"#{i}" for i in ids))
            target_id = ids[0] if ids else None
            if target_id is None:
                first = self.new_names.setdefault(name, record.row)
                if first != record.row:
                    raise _Refused("duplicate", f"{name}, row {first}")
        if target_id is not None:
            earlier = self.person_rows.get(target_id)
            if earlier is not None:
                raise _Refused("duplicate", f"#{target_id}, row {earlier}")
            self.person_rows[target_id] = record.row
        return target_id

    async def _rows(self, table: Table, column: Any, ids: Sequence[int]) -> dict[Any, Any]:
        if not ids:
            return {}
        found = await self._run(select(table).where(column.in_(ids)).order_by(table.c.id))
        return {row.id: row._asdict() for row in found}

    async def _state(
        self, matched: Sequence[int], plans: Sequence[tuple[PersonRecord, int | None]]
    ) -> dict[str, Any]:
        """What is stored of the matched people: spellings, sources, cases and hearings, and
        the cases and hearings the file names by id (which may belong to someone else)."""
        spellings: dict[int, set[str]] = {}
        sources: dict[int, set[str]] = {}
        if matched:
            for person_id, spelling in await self._run(
                select(NAME_TABLE.c.person_id, NAME_TABLE.c.spelling).where(
                    NAME_TABLE.c.person_id.in_(matched)
                )
            ):
                spellings.setdefault(person_id, set()).add(spelling)
            for person_id, source in await self._run(
                select(SOURCE_TABLE.c.person_id, SOURCE_TABLE.c.source).where(
                    SOURCE_TABLE.c.person_id.in_(matched)
                )
            ):
                sources.setdefault(person_id, set()).add(source)
        case_ids = [c.id for r, _ in plans for c in r.cases if c.id is not None]
        cases = await self._cases(matched, case_ids)
        hearing_ids = [h.id for r, _ in plans for c in r.cases for h in c.hearings if h.id]
        hearings = await self._hearings(list(cases), hearing_ids)
        cases_of: dict[int, list[dict[str, Any]]] = {}
        for case in cases.values():
            cases_of.setdefault(case["person_id"], []).append(case)
        hearings_of: dict[int, list[dict[str, Any]]] = {}
        for hearing in hearings.values():
            hearings_of.setdefault(hearing["case_id"], []).append(hearing)
        return {
            "spellings": spellings,
            "sources": sources,
            "cases": cases,
            "hearings": hearings,
            "cases_of": cases_of,
            "hearings_of": hearings_of,
        }

    async def _cases(self, person_ids: Sequence[int], ids: Sequence[int]) -> dict[int, Any]:
        if not person_ids and not ids:
            return {}
        found = await self._run(
            select(CASE_TABLE)
            .where(or_(CASE_TABLE.c.person_id.in_(person_ids), CASE_TABLE.c.id.in_(ids)))
            .order_by(CASE_TABLE.c.id)
        )
        return {row.id: row._asdict() for row in found}

    async def _hearings(self, case_ids: Sequence[int], ids: Sequence[int]) -> dict[int, Any]:
        if not case_ids and not ids:
            return {}
        found = await self._run(
            select(HEARING_TABLE)
            .where(or_(HEARING_TABLE.c.case_id.in_(case_ids), HEARING_TABLE.c.id.in_(ids)))
            .order_by(HEARING_TABLE.c.id)
        )
        return {row.id: row._asdict() for row in found}

    # -- one person ---------------------------------------------------------------------

    def _plan(
        self,
        record: PersonRecord,
        target_id: int | None,
        stored: dict[str, Any] | None,
        state: Mapping[str, Any],
    ) -> _PersonPlan:
        plan = _PersonPlan(record, _Target(target_id))
        name = record.values["name"]
        wanted = list(dict.fromkeys([name, *record.spellings]))
        if stored is None:
            plan.new_row = {
                "id": target_id,
                **{key: DEFAULTS.get(key) for key in PERSON_FIELDS},
                **record.values,
                "created_at": self.now,
                "updated_at": self.now,
            }
            plan.names, plan.sources = wanted, record.sources
            plan.events.append((EventKind.PERSON_ADDED, None, {"name": name, "spellings": wanted}))
        else:
            self._person_changes(plan, stored, state)
        person_cases = state["cases_of"].get(stored["id"], []) if stored is not None else []
        for case in record.cases:
            self._case(plan, case, person_cases, state, new_person=stored is None)
        return plan

    def _person_changes(
        self, plan: _PersonPlan, stored: dict[str, Any], state: Mapping[str, Any]
    ) -> None:
        record = plan.record
        changed = {key: value for key, value in record.values.items() if stored.get(key) != value}
        if record.values["name"] != stored["name"]:
            plan.renamed_from = stored["name"]
        if record.values["name"] != stored["name"] and record.values["name"] in self.names:
            others = [i for i in self.names[record.values["name"]] if i != stored["id"]]
            if others:
                raise _Refused("name_taken", ", ".join(f"#{i}" for i in others))
        if changed.get("visibility") == Visibility.RESTRICTED:
            self.restricted.append(stored["id"])
        if changed:
            plan.changed_row = {**stored, **record.values, "updated_at": self.now}
            plan.changed_row["b_id"] = plan.changed_row.pop("id")
            for field_name in ("asylum", "detention"):
                if field_name in changed:
                    kind = (
                        EventKind.ASYLUM_CHANGED
                        if field_name == "asylum"
                        else EventKind.DETENTION_CHANGED
                    )
                    plan.events.append(
                        (
                            kind,
                            _status(stored, field_name) if stored.get(field_name) else None,
                            _status(plan.changed_row, field_name),
                        )
                    )
                    for key in (field_name, f"{field_name}_since", f"{field_name}_note"):
                        changed.pop(key, None)
            for key, value in changed.items():
                _field_change(plan, key, stored.get(key), value)
        known = state["spellings"].get(stored["id"], set())
        plan.names = [s for s in [record.values["name"], *record.spellings] if s not in known]
        plan.names = list(dict.fromkeys(plan.names))
        have = state["sources"].get(stored["id"], set())
        plan.sources = [source for source in record.sources if source not in have]
        for spelling in plan.names:
            _field_change(plan, "spelling", None, spelling)
        if plan.sources:
            plan.quiet["sources"] = {"old": None, "new": plan.sources}

    def _case(
        self,
        plan: _PersonPlan,
        case: CaseRecord,
        person_cases: list[dict[str, Any]],
        state: Mapping[str, Any],
        *,
        new_person: bool,
    ) -> None:
        stored = self._stored_case(plan, case, person_cases, state)
        values = dict(case.values)
        appeal_of = values.pop("appeal_of", None)
        if stored is None:
            target = _Target(case.id)
            row = {
                "id": case.id,
                **{key: None for key in CASE_FIELDS},
                "tz": self.default_tz,
                **values,
                "appeal_of": None,
                "created_at": self.now,
            }
            plan.cases.append((target, row, case))
            if not new_person:
                plan.quiet[f"case {len(plan.cases)}"] = {"old": None, "new": values}
            tz = row["tz"]
            stored_hearings: list[dict[str, Any]] = []
        else:
            target = _Target(stored["id"])
            changed = {k: v for k, v in values.items() if stored.get(k) != v}
            if changed:
                plan.case_updates.append(
                    {**stored, **values, "b_id": stored["id"], "appeal_of": stored["appeal_of"]}
                )
                if changed.get("verdict"):
                    plan.events.append((EventKind.VERDICT, None, {"text": changed.pop("verdict")}))
                for key, value in changed.items():
                    _field_change(plan, key, stored[key], value, case_id=stored["id"])
            plan.cases.append((target, None, case))
            tz = values.get("tz") or stored["tz"]
            stored_hearings = state["hearings_of"].get(stored["id"], [])
        if (stored is None and appeal_of is not None) or (
            stored is not None and "appeal_of" in case.values and stored["appeal_of"] != appeal_of
        ):
            self.appeals.append((plan.record.row, plan.target.id or 0, target, appeal_of))
        place = values.get("court") or (stored or {}).get("court")
        for hearing in case.hearings:
            self._hearing(plan, target, hearing, stored_hearings, state, tz, place, new_person)

    def _stored_case(
        self,
        plan: _PersonPlan,
        case: CaseRecord,
        person_cases: list[dict[str, Any]],
        state: Mapping[str, Any],
    ) -> dict[str, Any] | None:
        if case.id is not None:
            earlier = self.case_rows.get(case.id)
            if earlier is not None:
                raise _Refused("duplicate_case", f"#{case.id}, row {earlier}")
            self.case_rows[case.id] = plan.record.row
            stored = state["cases"].get(case.id)
            if stored is not None and stored["person_id"] != plan.target.id:
                raise _Refused("case_elsewhere", f"#{case.id}")
            return stored
        number = case.values.get("case_number")
        for stored in person_cases:
            if number and stored["case_number"] == number:
                return stored
        keys = ("court", "city", "charge", "case_number")
        for stored in reversed(person_cases):
            if all(stored[key] == case.values.get(key, stored[key]) for key in keys):
                return stored
        return None

    def _hearing(
        self,
        plan: _PersonPlan,
        case: _Target,
        hearing: HearingRecord,
        stored_hearings: list[dict[str, Any]],
        state: Mapping[str, Any],
        tz: str,
        court: str | None,
        new_person: bool,
    ) -> None:
        values = dict(hearing.values)
        starts_at = values.get("starts_at")
        if starts_at is not None:
            if starts_at.tzinfo is None:
                starts_at = starts_at.replace(tzinfo=ZoneInfo(tz))
            values["starts_at"] = starts_at.astimezone(UTC)
        stored = self._stored_hearing(plan, hearing, values, stored_hearings, state)
        if stored is None:
            row = {
                "id": hearing.id,
                **{key: None for key in HEARING_FIELDS},
                "status": HearingStatus.SCHEDULED,
                **values,
                "sequence": 0,
            }
            plan.hearings.append((case, row))
            if new_person:
                return
            if row["starts_at"] is not None:
                plan.events.append((EventKind.HEARING_SET, None, _moment_value(row, tz, court)))
            else:
                plan.quiet[f"hearing {len(plan.hearings)}"] = {"old": None, "new": values}
            return
        changed = {k: v for k, v in values.items() if stored.get(k) != v}
        if not changed:
            return
        revised = {**stored, **values}
        if any(key in changed for key in ("starts_at", "place", "status")):
            revised["sequence"] = stored["sequence"] + 1
        revised["b_id"] = revised.pop("id")
        plan.hearing_updates.append(revised)
        if "starts_at" in changed and revised["starts_at"] is not None:
            old = _moment_value(stored, tz, court) if stored["starts_at"] else None
            kind = EventKind.HEARING_MOVED if old else EventKind.HEARING_SET
            plan.events.append((kind, old, _moment_value(revised, tz, court)))
        elif changed.get("status") == HearingStatus.CANCELLED:
            value = _moment_value(stored, tz, court) if stored["starts_at"] else {}
            plan.events.append((EventKind.HEARING_CANCELLED, value or None, value))
        else:
            for key, value in changed.items():
                plan.quiet[f"hearing #{stored['id']} {key}"] = {"old": stored[key], "new": value}

    def _stored_hearing(
        self,
        plan: _PersonPlan,
        hearing: HearingRecord,
        values: Mapping[str, Any],
        stored_hearings: list[dict[str, Any]],
        state: Mapping[str, Any],
    ) -> dict[str, Any] | None:
        if hearing.id is not None:
            earlier = self.hearing_rows.get(hearing.id)
            if earlier is not None:
                raise _Refused("duplicate_hearing", f"#{hearing.id}, row {earlier}")
            self.hearing_rows[hearing.id] = plan.record.row
            stored = state["hearings"].get(hearing.id)
            if stored is not None and stored not in stored_hearings:
                raise _Refused("hearing_elsewhere", f"#{hearing.id}")
            return stored
        for stored in stored_hearings:
            if values.get("starts_at") is not None and stored["starts_at"] == values["starts_at"]:
                return stored
            if (
                values.get("starts_at") is None
                and stored["starts_at"] is None
                and values.get("date_note") == stored["date_note"]
            ):
                return stored
        return None

    # -- writing a batch ----------------------------------------------------------------

    async def _write(self, plans: Sequence[_PersonPlan]) -> None:
        await self._insert_with_ids(
            PERSON_TABLE, [(p.target, p.new_row) for p in plans if p.new_row is not None]
        )
        for plan in plans:
            assert plan.target.id is not None
            name = plan.record.values["name"]
            self.person_rows[plan.target.id] = plan.record.row
            if plan.new_row is not None:
                self.new_people.add(plan.target.id)
                self.names.setdefault(name, []).append(plan.target.id)
                self.report.added += 1
            elif plan.changed_row is not None or plan.events or plan.quiet or plan.names:
                self.report.changed += 1
            else:
                self.report.unchanged += 1
            if plan.renamed_from is not None:
                self.names[plan.renamed_from].remove(plan.target.id)
                self.names.setdefault(name, []).append(plan.target.id)
            for relation in plan.record.relations:
                self.relations.append((plan.record.row, plan.target.id, relation))
        await self._update(PERSON_TABLE, [p.changed_row for p in plans if p.changed_row])
        if self.restricted:  # what was still owed about them to chats that may not see them
            await drop_owed_to_outsiders(self.session, self.restricted)
            self.restricted = []
        await self._insert(
            NAME_TABLE,
            [
                {"person_id": p.target.id, "spelling": s, "key": name_key(s)}
                for p in plans
                for s in p.names
            ],
        )
        await self._insert(
            SOURCE_TABLE,
            [{"person_id": p.target.id, "source": s} for p in plans for s in p.sources],
        )
        new_cases = []
        for plan in plans:
            for target, row, _ in plan.cases:
                if row is not None:
                    new_cases.append((target, {**row, "person_id": plan.target.id}))
        await self._insert_with_ids(CASE_TABLE, new_cases)
        await self._update(CASE_TABLE, [row for p in plans for row in p.case_updates])
        await self._insert_with_ids(
            HEARING_TABLE,
            [
                (_Target(row["id"]), {**row, "case_id": c.id})
                for p in plans
                for c, row in p.hearings
            ],
        )
        await self._update(HEARING_TABLE, [row for p in plans for row in p.hearing_updates])
        await self._events(plans)

    async def _insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self._run(insert(table), rows)

    async def _insert_with_ids(
        self, table: Table, rows: Sequence[tuple[_Target, dict[str, Any]]]
    ) -> None:
        """Insert rows keeping the ids the file gives; the others get new ids, in order."""
        given = [row for target, row in rows if target.id is not None]
        if given:
            await self._insert(table, given)
            await self._advance_sequence(table)
        without = [(target, row) for target, row in rows if target.id is None]
        if without:
            values = [{k: v for k, v in row.items() if k != "id"} for _, row in without]
            statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            result = await self._run(statement, values)
            for (target, _), new_id in zip(without, result.scalars().all(), strict=True):
                target.id = new_id

    async def _advance_sequence(self, table: Table) -> None:
        """PostgreSQL: the id sequence past the ids given, so new rows do not collide."""
        if dialect_name(self.session) != "postgresql":
            return
        await self._run(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f'GREATEST((SELECT MAX(id) FROM "{table.name}"), '
                f"nextval(pg_get_serial_sequence('{table.name}', 'id'))))"
            )
        )

    async def _update(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = [c.name for c in table.columns if c.name != "id" and c.name in rows[0]]
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({name: bindparam(name) for name in columns})
        )
        await self._run(statement, [{k: r[k] for k in ["b_id", *columns]} for r in rows])

    async def _events(self, plans: Sequence[_PersonPlan]) -> None:
        events, audits, told = [], [], list[int]()
        for plan in plans:
            person_id = plan.target.id
            source = plan.record.sources[0] if plan.record.sources else None
            for kind, old, new in plan.events:
                events.append(self._event(person_id, kind, old, new, source))
                audits.append(self._audit(person_id, kind, old, new, source))
            if plan.events and person_id is not None:
                told.append(person_id)
            if plan.quiet:
                audits.append(self._audit(person_id, QUIET_ACTION, None, plan.quiet, source))
        if self.notify and told:
            await hold_together(self.session, told, self.now, self.now + self.grace)
        await self._insert(EVENT_TABLE, events)
        await self._insert(AUDIT_TABLE, audits)

    def _event(
        self, person_id: int | None, kind: str, old: Any, new: Any, source: str | None
    ) -> dict[str, Any]:
        return event_row(
            person_id=person_id,
            kind=kind,
            old=old,
            new=new,
            actor_id=self.actor_id,
            source=source,
            verification=None,
            correction=False,
            now=self.now,
            not_before=self.now + self.grace if self.notify else self.now,
            pushed=self.notify,
            dedup_key=f"{IMPORTED}{kind}:{self.key}:{next(self.numbers)}",
        )

    def _audit(
        self, person_id: int | None, kind: str, old: Any, new: Any, source: str | None
    ) -> dict[str, Any]:
        return audit_row(
            actor_id=self.actor_id,
            action=kind,
            person_id=person_id,
            old=old,
            new=new,
            source=source,
            now=self.now,
            imported=True,
        )

    # -- what needs the whole file ------------------------------------------------------

    async def finish(self) -> None:
        """Relations and appeals (they may name records further down the file), then the
        import's own audit entry; raises ImportRejected if any row was refused."""
        if not self.report.rejected:
            await self._relations()
            await self._appeals()
        if self.report.rejected:
            self.report.rejected.sort(key=lambda error: error.row)
            raise ImportRejected(self.report)
        summary = {
            "added": self.report.added,
            "changed": self.report.changed,
            "unchanged": self.report.unchanged,
            "notify": self.notify,
        }
        await self._insert(
            AUDIT_TABLE,
            [
                {
                    "actor_id": self.actor_id,
                    "action": IMPORT_ACTION,
                    "person_id": None,
                    "detail": _json(summary),
                    "at": self.now,
                }
            ],
        )

    async def _relations(self) -> None:
        wanted: dict[tuple[int, int, str], tuple[int, str | None]] = {}
        for row, person_id, relation in self.relations:
            other = relation.other_id
            if other is None:
                ids = self.names.get(relation.other_name or "", [])
                if len(ids) != 1:
                    reason = "name_ambiguous" if ids else "unknown_person"
                    self.refuse(row, reason, f"relations: {relation.other_name}")
                    continue
                other = ids[0]
            if other == person_id:
                self.refuse(row, "bad_relation", f"#{other}")
                continue
            low, high = sorted((person_id, other))
            wanted[(low, high, relation.kind)] = (row, relation.note)
        if not wanted:
            return
        everyone = {pid for low, high, _ in wanted for pid in (low, high)}
        existing_people = set(
            (
                await self._run(select(PERSON_TABLE.c.id).where(PERSON_TABLE.c.id.in_(everyone)))
            ).scalars()
        )
        stored = {
            (r.person_id, r.other_id, r.kind): r
            for r in await self._run(
                select(RELATION_TABLE).where(RELATION_TABLE.c.person_id.in_(everyone))
            )
        }
        inserts, updates, audits = [], [], []
        for (low, high, kind), (row, note) in wanted.items():
            missing = {low, high} - existing_people
            if missing:
                self.refuse(row, "unknown_person", ", ".join(f"#{i}" for i in sorted(missing)))
                continue
            found = stored.get((low, high, kind))
            if found is None:
                inserts.append(
                    {
                        "person_id": low,
                        "other_id": high,
                        "kind": kind,
                        "note": note,
                        "created_at": self.now,
                    }
                )
            elif found.note != note:
                updates.append({"b_id": found.id, "note": note})
            else:
                continue
            value = {"relation": kind, "person_id": low, "other_id": high, "note": note}
            audits += [
                self._audit(person_id, "relation", None, value, None)
                for person_id in (low, high)
                if person_id not in self.new_people
            ]
        if self.report.rejected:
            return
        await self._insert(RELATION_TABLE, inserts)
        await self._update(RELATION_TABLE, updates)
        await self._insert(AUDIT_TABLE, audits)

    async def _appeals(self) -> None:
        if not self.appeals:
            return
        named = [appealed for *_, appealed in self.appeals if appealed is not None]
        existing = set(
            (await self._run(select(CASE_TABLE.c.id).where(CASE_TABLE.c.id.in_(named)))).scalars()
        )
        updates = []
        for row, _, case, appealed in self.appeals:
            if appealed is not None and (appealed not in existing or appealed == case.id):
                self.refuse(row, "unknown_case", f"appeal_of: #{appealed}")
                continue
            updates.append({"b_id": case.id, "appeal_of": appealed})
        if not self.report.rejected:
            await self._update(CASE_TABLE, updates)


async def _run(
    session: AsyncSession, statement: Any, rows: Sequence[Mapping[str, Any]] | None = None
) -> Any:
    """A statement (executemany with `rows`) on the session's connection, in its transaction;
    rows come back as plain rows, not as records kept by the session."""
    connection = await session.connection()
    return await connection.execute(statement, rows)


def _field_change(plan: _PersonPlan, field_name: str, old: Any, new: Any, **more: Any) -> None:
    """A field changed: an event when followers are told of such a field (in the shape guided
    editing writes, `record_changed`), else a line of the import's audit entry."""
    if field_name in TOLD_FIELDS:
        value = {"field": field_name, "old": old, "new": new, **more}
        value["text"] = f"{field_name}: {old or '—'} → {new or '—'}"
        previous = {"field": field_name, "value": old, **more} if old is not None else None
        plan.events.append((EventKind.RECORD_CHANGED, previous, value))
    else:
        label = f"case #{more['case_id']} {field_name}" if "case_id" in more else field_name
        plan.quiet[label] = {"old": old, "new": new}


def _status(row: Mapping[str, Any], field_name: str) -> dict[str, Any]:
    return {
        "status": row.get(field_name),
        "since": row.get(f"{field_name}_since"),
        "note": row.get(f"{field_name}_note"),
    }


def _moment_value(row: Mapping[str, Any], tz: str, court: str | None) -> dict[str, Any]:
    """A hearing as hearing events carry it (see storage/people.py)."""
    return {
        "hearing_id": row.get("id") or row.get("b_id"),
        "starts_at": row["starts_at"].isoformat(),
        "tz": tz,
        "place": row.get("place") or court,
    }


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


async def import_records(
    *,
    session: AsyncSession,
    rows: Iterable[Row],
    actor_id: int | None,
    default_tz: str,
    notify: bool = False,
    grace: timedelta = timedelta(0),
    now: datetime,
    batch: int = BATCH,
) -> ImportReport:
    """Write the people of `rows` (from `read_json` / `read_csv`) in the caller's
    transaction; raises `ImportRejected` with every refused row (roll back), or
    `RecordsFileError` when the file as a whole cannot be read.

    Events are written as history only (`pushed=False`: nobody is told) unless `notify`;
    each with its audit entry (`actor_id`: the editor, None from the command line).
    """
    importer = _Importer(
        session, actor_id=actor_id, notify=notify, grace=grace, now=now, default_tz=default_tz
    )
    async with _roomy_cache(session):
        await importer.start()
        for chunk in _batches(rows, batch):
            await importer.add(chunk)
        await importer.finish()
    return importer.report


@asynccontextmanager
async def _roomy_cache(session: AsyncSession) -> AsyncIterator[None]:
    """SQLite: a page cache big enough for a large import's indexes while it lasts (the
    default 2 MiB makes a long transaction spill and read back pages over and over)."""
    if dialect_name(session) != "sqlite":
        yield
        return
    await _run(session, text(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}"))
    try:
        yield
    finally:
        await _run(session, text("PRAGMA cache_size = -2000"))


# --- export --------------------------------------------------------------------------


async def export_people(
    *, session: AsyncSession, include_restricted: bool, batch: int = BATCH
) -> AsyncIterator[dict[str, Any]]:
    """Every person (restricted ones only if asked) as a JSON-ready dict, in order of id, with
    their cases and hearings in order of id; read a batch of people at a time."""
    last = 0
    while True:
        statement = (
            select(PERSON_TABLE)
            .where(PERSON_TABLE.c.id > last)
            .order_by(PERSON_TABLE.c.id)
            .limit(batch)
        )
        if not include_restricted:
            statement = statement.where(PERSON_TABLE.c.visibility == Visibility.PUBLIC)
        people = [row._asdict() for row in await _run(session, statement)]
        if not people:
            return
        ids = [person["id"] for person in people]
        lists = await _lists_of(session, ids, include_restricted)
        for person in people:
            yield _exported(person, lists)
        last = ids[-1]


async def _lists_of(
    session: AsyncSession, ids: Sequence[int], include_restricted: bool
) -> dict[str, Any]:
    spellings: dict[int, list[str]] = {}
    for person_id, spelling in await _run(
        session,
        select(NAME_TABLE.c.person_id, NAME_TABLE.c.spelling)
        .where(NAME_TABLE.c.person_id.in_(ids))
        .order_by(NAME_TABLE.c.id),
    ):
        spellings.setdefault(person_id, []).append(spelling)
    sources: dict[int, list[str]] = {}
    for person_id, source in await _run(
        session,
        select(SOURCE_TABLE.c.person_id, SOURCE_TABLE.c.source)
        .where(SOURCE_TABLE.c.person_id.in_(ids))
        .order_by(SOURCE_TABLE.c.id),
    ):
        sources.setdefault(person_id, []).append(source)
    relations = await _relations_of(session, ids, include_restricted)
    cases: dict[int, list[dict[str, Any]]] = {}
    case_rows = [
        row._asdict()
        for row in await _run(
            session,
            select(CASE_TABLE).where(CASE_TABLE.c.person_id.in_(ids)).order_by(CASE_TABLE.c.id),
        )
    ]
    hearings: dict[int, list[dict[str, Any]]] = {}
    for row in await _run(
        session,
        select(HEARING_TABLE)
        .where(HEARING_TABLE.c.case_id.in_([case["id"] for case in case_rows]))
        .order_by(HEARING_TABLE.c.id),
    ):
        hearings.setdefault(row.case_id, []).append(row._asdict())
    for case in case_rows:
        case["hearings"] = hearings.get(case["id"], [])
        cases.setdefault(case["person_id"], []).append(case)
    return {"spellings": spellings, "sources": sources, "relations": relations, "cases": cases}


async def _relations_of(
    session: AsyncSession, ids: Sequence[int], include_restricted: bool
) -> dict[int, list[dict[str, Any]]]:
    """Each person's relations, from either side, to people who may be exported too."""
    rows = (
        await _run(
            session,
            select(RELATION_TABLE)
            .where(or_(RELATION_TABLE.c.person_id.in_(ids), RELATION_TABLE.c.other_id.in_(ids)))
            .order_by(RELATION_TABLE.c.id),
        )
    ).all()
    hidden: set[int] = set()
    if not include_restricted and rows:
        others = {pid for row in rows for pid in (row.person_id, row.other_id)}
        hidden = set(
            (
                await _run(
                    session,
                    select(PERSON_TABLE.c.id).where(
                        PERSON_TABLE.c.id.in_(others),
                        PERSON_TABLE.c.visibility != Visibility.PUBLIC,
                    ),
                )
            ).scalars()
        )
    found: dict[int, list[dict[str, Any]]] = {}
    wanted = set(ids)
    for row in rows:
        for person_id, other_id in ((row.person_id, row.other_id), (row.other_id, row.person_id)):
            if person_id in wanted and other_id not in hidden:
                found.setdefault(person_id, []).append(
                    {"kind": row.kind, "other_id": other_id, "note": row.note}
                )
    for listed in found.values():
        listed.sort(key=lambda relation: (relation["other_id"], relation["kind"]))
    return found


def _exported(person: dict[str, Any], lists: Mapping[str, Any]) -> dict[str, Any]:
    person_id = person["id"]
    spellings = [s for s in lists["spellings"].get(person_id, []) if s != person["name"]]
    return {
        "id": person_id,
        "name": person["name"],
        "spellings": spellings,
        **{key: person[key] for key in PERSON_FIELDS if key != "name"},
        "sources": lists["sources"].get(person_id, []),
        "relations": lists["relations"].get(person_id, []),
        "cases": [_exported_case(case) for case in lists["cases"].get(person_id, [])],
    }


def _exported_case(case: dict[str, Any]) -> dict[str, Any]:
    zone = ZoneInfo(case["tz"])
    return {
        "id": case["id"],
        **{key: case[key] for key in CASE_FIELDS},
        "hearings": [
            {
                "id": hearing["id"],
                "starts_at": _local(hearing["starts_at"], zone),
                **{key: hearing[key] for key in HEARING_FIELDS if key != "starts_at"},
            }
            for hearing in case["hearings"]
        ],
    }


def _local(moment: datetime | None, zone: ZoneInfo) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back the stored UTC without its zone
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).isoformat()


async def write_json(people: AsyncIterator[dict[str, Any]], out: TextIO) -> int:
    """A JSON list, one person a line; returns how many."""
    count = 0
    out.write("[")
    async for person in people:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(person, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


async def write_csv(people: AsyncIterator[dict[str, Any]], out: TextIO) -> int:
    """One row per hearing (per case without hearings, per person without cases), the
    person's and the case's columns repeated on each; returns how many people."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    async for person in people:
        count += 1
        person_cells = [
            person["id"],
            *(person[key] for key in PERSON_FIELDS),
            LIST_SEPARATOR.join(person["spellings"]),
            LIST_SEPARATOR.join(person["sources"]),
            LIST_SEPARATOR.join(_relation_cell(r) for r in person["relations"]),
        ]
        if not person["cases"]:
            writer.writerow(_cells(person_cells))
        for case in person["cases"]:
            case_cells = [case["id"], *(case[CSV_CASE_FIELD.get(c, c)] for c in CSV_CASE[1:])]
            if not case["hearings"]:
                writer.writerow(_cells(person_cells + case_cells))
            for hearing in case["hearings"]:
                writer.writerow(_cells(person_cells + case_cells + _hearing_cells(hearing)))
    return count


def _relation_cell(relation: Mapping[str, Any]) -> str:
    note = f" ({relation['note']})" if relation["note"] else ""
    return f"{relation['kind']}=#{relation['other_id']}{note}"


def _hearing_cells(hearing: Mapping[str, Any]) -> list[Any]:
    starts_at = hearing["starts_at"]
    moment = datetime.fromisoformat(starts_at) if starts_at else None
    return [
        hearing["id"],
        moment.date().isoformat() if moment else None,
        moment.time().isoformat("seconds" if moment.second else "minutes") if moment else None,
        hearing["date_note"],
        hearing["place"],
        hearing["kind"],
        hearing["status"],
        hearing["outcome"],
    ]


def _cells(values: Sequence[Any]) -> list[str]:
    return ["" if value is None else str(value) for value in values]


async def export_records(
    *, session: AsyncSession, out: TextIO, file_format: str, include_restricted: bool
) -> int:
    """Write every record this reader may see to `out`; returns how many people."""
    people = export_people(session=session, include_restricted=include_restricted)
    if file_format == "csv":
        return await write_csv(people, out)
    return await write_json(people, out)
