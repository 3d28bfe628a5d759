"""The records casewatch keeps (docs/ARCHITECTURE.md, "Records").

Times are stored in UTC and always come back timezone-aware (see `UTCDateTime`).
Telegram chat and user ids are 64-bit.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    Integer,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

# Autoincrement ids: BIGINT on PostgreSQL, but SQLite only autoincrements INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and returned timezone-aware, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def column_length(model: type[SQLModel], name: str) -> int:
    """The longest text a table's column keeps (its `max_length`)."""
    length: int = model.__table__.c[name].type.length  # type: ignore[attr-defined]
    return length


def _when(**kwargs: Any) -> Any:
    """A timestamp column; `default_now` fills it on insert."""
    default_now = kwargs.pop("default_now", False)
    if default_now:
        kwargs["default_factory"] = utcnow
    return Field(sa_type=UTCDateTime, **kwargs)


class AsylumStatus(StrEnum):
    NONE = "none"
    APPLIED = "applied"
    ASYLUM_SEEKER = "asylum_seeker"
    REFUGEE = "refugee"
    REJECTED = "rejected"
    APPEAL = "appeal"
    GRANTED_ABROAD = "granted_abroad"


class DetentionStatus(StrEnum):
    FREE = "free"
    PRETRIAL_DETENTION = "pretrial_detention"
    HOUSE_ARREST = "house_arrest"
    RESTRICTED_FREEDOM = "restricted_freedom"
    IMPRISONED = "imprisoned"
    RELEASED = "released"
    DEPORTED = "deported"
    EXTRADITED = "extradited"


class HearingStatus(StrEnum):
    SCHEDULED = "scheduled"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"
    HELD = "held"


class Visibility(StrEnum):
    PUBLIC = "public"
    RESTRICTED = "restricted"


class Role(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"


class EventKind(StrEnum):
    PERSON_ADDED = "person_added"
    HEARING_SET = "hearing_set"
    HEARING_MOVED = "hearing_moved"
    HEARING_CANCELLED = "hearing_cancelled"
    ASYLUM_CHANGED = "asylum_changed"
    DETENTION_CHANGED = "detention_changed"
    HEARING_HELD = "hearing_held"  # with its outcome: adjourned, or a verdict
    VERDICT = "verdict"
    NOTE = "note"
    RECORD_CHANGED = "record_changed"  # a field of the person or their case (guided editing)
    REMINDER = "reminder"  # a hearing is near: written by the reminder scan, not a change


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DROPPED = "dropped"
    DEAD = "dead"


class SubscriptionScope(StrEnum):
    PERSON = "person"
    ALL = "all"
    COURT = "court"  # every person whose case is at the court named in `place`
    CITY = "city"  # every person whose case is in the city named in `place`


class Verification(StrEnum):
    """How a change is known to be true (`Event.verification`), strongest first."""

    DOCUMENT = "document"  # confirmed by a document: a ruling, a decision, a court notice
    RELATIVE = "relative"  # confirmed by a relative or the lawyer
    MEDIA = "media"  # reported by the media
    UNVERIFIED = "unverified"


class CaseStage(StrEnum):
    INVESTIGATION = "investigation"
    TRIAL = "trial"
    APPEAL = "appeal"
    CASSATION = "cassation"
    CLOSED = "closed"


class RelationKind(StrEnum):
    CO_DEFENDANT = "co_defendant"
    RELATIVE = "relative"


class ChangeKind(StrEnum):
    """What a follow may choose to hear about (`Subscription.kinds`); each event kind is one."""

    HEARINGS = "hearings"
    ASYLUM = "asylum"
    DETENTION = "detention"
    VERDICTS = "verdicts"
    NOTES = "notes"


# --- people and their proceedings -------------------------------------------------------


# A year of birth before this is a typo, as is one after the present year.
EARLIEST_BIRTH_YEAR = 1900


def plausible_birth_year(year: int) -> bool:
    """Whether a year can be someone's year of birth: from 1900 to this year."""
    return EARLIEST_BIRTH_YEAR <= year <= utcnow().year


class PersonBase(SQLModel):
    name: str = Field(max_length=200)
    birth_year: int | None = None
    age_note: str | None = None
    gender: str | None = Field(default=None, max_length=20)
    ethnicity: str | None = Field(default=None, max_length=100)
    citizenship: str | None = Field(default=None, max_length=100)
    origin: str | None = Field(default=None, max_length=200)
    location: str | None = Field(default=None, max_length=200)
    detention: str | None = Field(default=None, max_length=40)
    detention_since: str | None = Field(default=None, max_length=10)  # ISO date, or YYYY-MM, YYYY
    detention_note: str | None = Field(default=None, sa_type=Text)
    asylum: str | None = Field(default=None, max_length=40)
    asylum_since: str | None = Field(default=None, max_length=10)
    asylum_note: str | None = Field(default=None, sa_type=Text)
    visibility: str = Field(default=Visibility.PUBLIC, max_length=20)
    verification: str = Field(default="reported", max_length=20)
    summary: str | None = Field(default=None, sa_type=Text)


class Person(PersonBase, table=True):
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    created_at: datetime = _when(default_now=True)
    updated_at: datetime = _when(default_now=True)


class PersonName(SQLModel, table=True):
    """One spelling of a person's name; `key` is its folded form used for matching."""

    __tablename__ = "person_name"
    __table_args__ = (UniqueConstraint("person_id", "spelling"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    person_id: int = Field(foreign_key="person.id", index=True, sa_type=BigInteger)
    spelling: str = Field(max_length=200)
    key: str = Field(max_length=200, index=True)


class PersonSource(SQLModel, table=True):
    __tablename__ = "person_source"
    __table_args__ = (UniqueConstraint("person_id", "source"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    person_id: int = Field(foreign_key="person.id", index=True, sa_type=BigInteger)
    source: str = Field(max_length=500)


class CaseBase(SQLModel):
    court: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    tz: str = Field(default="Asia/Almaty", max_length=64)
    charge: str | None = Field(default=None, max_length=300)
    case_number: str | None = Field(default=None, max_length=100)
    stage: str | None = Field(default=None, max_length=100)
    verdict: str | None = Field(default=None, sa_type=Text)
    sentence: str | None = Field(default=None, max_length=300)
    note: str | None = Field(default=None, sa_type=Text)
    lawyer: str | None = Field(default=None, max_length=200)  # only a lawyer named in public


class Case(CaseBase, table=True):
    # Follows of a court or a city find their people through these.
    __table_args__ = (Index("ix_case_court", "court"), Index("ix_case_city", "city"))

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    person_id: int = Field(foreign_key="person.id", index=True, sa_type=BigInteger)
    # The case this one appeals (an appeal or cassation is a case of its own).
    appeal_of: int | None = Field(
        default=None, foreign_key="case.id", index=True, sa_type=BigInteger
    )
    created_at: datetime = _when(default_now=True)


class PersonRelation(SQLModel, table=True):
    """Two people linked: co-defendants in one case, or relatives (`note`: "sister").

    Stored once, `person_id` < `other_id`; it reads the same from either side."""

    __tablename__ = "person_relation"
    __table_args__ = (UniqueConstraint("person_id", "other_id", "kind", name="uq_relation"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    person_id: int = Field(foreign_key="person.id", index=True, sa_type=BigInteger)
    other_id: int = Field(foreign_key="person.id", index=True, sa_type=BigInteger)
    kind: str = Field(max_length=20)
    note: str | None = Field(default=None, max_length=200)
    created_at: datetime = _when(default_now=True)


class HearingBase(SQLModel):
    starts_at: datetime | None = _when(default=None, index=True)
    date_note: str | None = Field(default=None, max_length=300)  # a date given only in words
    place: str | None = Field(default=None, max_length=300)
    kind: str | None = Field(default=None, max_length=60)
    status: str = Field(default=HearingStatus.SCHEDULED, max_length=20)
    outcome: str | None = Field(default=None, sa_type=Text)
    # Raised each time the date, time or status changes: calendar apps update, not duplicate.
    sequence: int = 0


class Hearing(HearingBase, table=True):
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    case_id: int = Field(foreign_key="case.id", index=True, sa_type=BigInteger)


# --- the timeline and the outbox -------------------------------------------------------


class Event(SQLModel, table=True):
    """One change on the public timeline, and the source of every push about it.

    `old_value` / `new_value` hold JSON so that a push can show old -> new in any language.
    `not_before` is the end of the grace window; `expanded_at` is set once its deliveries exist.
    """

    __table_args__ = (
        Index("ix_event_due", "expanded_at", "not_before"),
        # A person's events, and their history newest first a page at a time (keyset on id).
        Index("ix_event_person_history", "person_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    person_id: int = Field(foreign_key="person.id", sa_type=BigInteger)
    kind: str = Field(max_length=40)
    old_value: str | None = Field(default=None, sa_type=Text)
    new_value: str | None = Field(default=None, sa_type=Text)
    source: str | None = Field(default=None, max_length=500)
    verification: str | None = Field(default=None, max_length=20)  # a `Verification`
    # A correction made with --silent: the record changed, nobody was told.
    correction: bool = False
    effective_at: datetime = _when(default_now=True)
    actor_id: int | None = Field(default=None, sa_type=BigInteger)
    dedup_key: str = Field(max_length=200, unique=True)
    created_at: datetime = _when(default_now=True)
    not_before: datetime = _when(default_now=True)
    expanded_at: datetime | None = _when(default=None)
    cancelled: bool = False
    # Changes to one person inside one grace window go out as one message, on the last one.
    merged_into: int | None = Field(default=None, sa_type=BigInteger, index=True)


class Chat(SQLModel, table=True):
    id: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    kind: str = Field(default="private", max_length=20)
    language: str = Field(default="en", max_length=8)
    reminder_offsets: str = Field(default="1d,1h", max_length=100)
    quiet_hours: str | None = Field(default=None, max_length=20)
    digest_hour: int | None = None
    active: bool = True
    # When the bot was blocked or removed; its follows are kept a while for a comeback.
    deactivated_at: datetime | None = _when(default=None)
    created_at: datetime = _when(default_now=True)


class Subscription(SQLModel, table=True):
    """A chat following one person (`person_id`), everyone (`scope` = all), or a court or a
    city (`place`: every person whose case is there, people added later included)."""

    __table_args__ = (
        UniqueConstraint("chat_id", "scope", "person_id", name="uq_subscription"),
        # The constraint above lets NULL person ids repeat: one "everyone" follow per chat.
        Index(
            "uq_subscription_all",
            "chat_id",
            unique=True,
            sqlite_where=text("scope = 'all'"),
            postgresql_where=text("scope = 'all'"),
        ),
        # ... and one follow of each court or city per chat.
        Index(
            "uq_subscription_place",
            "chat_id",
            "scope",
            "place",
            unique=True,
            sqlite_where=text("place IS NOT NULL"),
            postgresql_where=text("place IS NOT NULL"),
        ),
        Index("ix_subscription_place", "scope", "place"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    chat_id: int = Field(foreign_key="chat.id", index=True, sa_type=BigInteger)
    scope: str = Field(default=SubscriptionScope.PERSON, max_length=20)
    person_id: int | None = Field(
        default=None, foreign_key="person.id", index=True, sa_type=BigInteger
    )
    place: str | None = Field(default=None, max_length=200)
    # Comma-separated `ChangeKind`s this follow hears about; None: every kind.
    kinds: str | None = Field(default=None, max_length=300)
    muted: bool = False  # kept, but tells nothing until unmuted
    created_at: datetime = _when(default_now=True)


class NameWatch(SQLModel, table=True):
    """A chat waiting for a name nobody has entered yet: told when a person with a matching
    spelling is added, until `expires_at` (then told that the watch ended, `ended_at`)."""

    __tablename__ = "name_watch"
    __table_args__ = (UniqueConstraint("chat_id", "key", name="uq_name_watch"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    chat_id: int = Field(foreign_key="chat.id", index=True, sa_type=BigInteger)
    name: str = Field(max_length=200)  # as the subscriber typed it
    key: str = Field(max_length=200, index=True)  # storage.names.name_key of `name`
    created_at: datetime = _when(default_now=True)
    expires_at: datetime = _when(index=True)
    ended_at: datetime | None = _when(default=None)


class Delivery(SQLModel, table=True):
    """One message owed to one chat about one event: the outbox."""

    __table_args__ = (
        UniqueConstraint("event_id", "chat_id", name="uq_delivery_event_chat"),
        Index("ix_delivery_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    event_id: int = Field(foreign_key="event.id", sa_type=BigInteger)
    chat_id: int = Field(foreign_key="chat.id", index=True, sa_type=BigInteger)
    state: str = Field(default=DeliveryState.PENDING, max_length=20)
    attempts: int = 0
    # Of a message sent in parts (too long for one), how many Telegram has accepted.
    parts_sent: int = 0
    next_attempt_at: datetime = _when(default_now=True)
    lease_until: datetime | None = _when(default=None)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    last_error: str | None = Field(default=None, max_length=500)
    failed_at: datetime | None = _when(default=None)  # the last failed attempt
    created_at: datetime = _when(default_now=True)
    sent_at: datetime | None = _when(default=None)


# --- who may do what, and what they did -------------------------------------------------


class Admin(SQLModel, table=True):
    user_id: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    role: str = Field(default=Role.EDITOR, max_length=20)
    added_by: int | None = Field(default=None, sa_type=BigInteger)
    added_at: datetime = _when(default_now=True)


class AdminInvite(SQLModel, table=True):
    """A role given to a @username the bot has no user id for yet: taken up (an `Admin` row
    made) the first time that user's role is checked, until `expires_at`."""

    __tablename__ = "admin_invite"

    username: str = Field(primary_key=True, max_length=64)  # lower case, without the @
    role: str = Field(default=Role.EDITOR, max_length=20)
    added_by: int | None = Field(default=None, sa_type=BigInteger)
    added_at: datetime = _when(default_now=True)
    expires_at: datetime = _when()


class AuditEntry(SQLModel, table=True):
    """Append-only: who did what to which record. The database refuses to update or delete
    a row (triggers made by migration 0007)."""

    __tablename__ = "audit_entry"
    # A person's entries, newest first a page at a time (/audit <who>: keyset on id).
    __table_args__ = (Index("ix_audit_entry_person_history", "person_id", "id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    actor_id: int | None = Field(default=None, sa_type=BigInteger, index=True)
    action: str = Field(max_length=60)
    person_id: int | None = Field(default=None, sa_type=BigInteger)
    detail: str | None = Field(default=None, sa_type=Text)
    at: datetime = _when(default_now=True)


class Secret(SQLModel, table=True):
    """Random keys made once and shared by every process: they sign button data and derive
    calendar UIDs, so both survive restarts and mean the same in every process."""

    name: str = Field(primary_key=True, max_length=60)
    value: str = Field(max_length=200)
    created_at: datetime = _when(default_now=True)


class EditorDraft(SQLModel, table=True):
    """An editor's command waiting for them: a choice among several people, a confirmation,
    or a step of guided editing. Kept in the database so it survives a restart and is seen by
    every process; `state` is JSON, read by the handler that made it (`kind`)."""

    __tablename__ = "editor_draft"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    user_id: int = Field(sa_type=BigInteger, index=True)
    chat_id: int = Field(sa_type=BigInteger)
    kind: str = Field(max_length=40)
    state: str = Field(sa_type=Text)
    created_at: datetime = _when(default_now=True)
    updated_at: datetime = _when(default_now=True)


class ProcessedUpdate(SQLModel, table=True):
    """Telegram update ids already applied, so an editor command is never applied twice."""

    __tablename__ = "processed_update"

    update_id: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    at: datetime = _when(default_now=True)
