"""Subscriber chats and what they follow: a person, everyone, or a court or a city.

One rule says who follows whom (`covers`): a follow of a person takes in that person; a follow
of everyone, or of a court or a city, takes in every public person, or every public person with
a case there (`Case.court` / `Case.city` equal to the follow's `place`, read when asked, so
people added later are in). Pushes and reminders (`told_of`) are built on it;
`followed_person_ids` reads the same rule from a chat's side (which court and city columns
a place names is written once, in `_place_column`).

When a chat follows a person by name and also through everyone, a court or a city, the follow
by name decides alone: muting a person, or choosing only their hearings, holds even while the
chat follows their whole city. Otherwise any follow that takes the person in and wants the kind
of change is enough.
"""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    true,
    union,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import CompoundSelect
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from storage.models import (
    Case,
    ChangeKind,
    Chat,
    EventKind,
    Person,
    Subscription,
    SubscriptionScope,
    Visibility,
)
from storage.names import name_key
from storage.timeline import insert_ignoring_conflicts
from storage.visibility import sees_restricted

# Which choice of a follow each event kind falls under; None: every follow that takes the
# person in hears it, whatever kinds it chose (a person added: the point of following a court).
CHANGE_OF_EVENT: dict[str, ChangeKind | None] = {
    EventKind.PERSON_ADDED: None,
    EventKind.HEARING_SET: ChangeKind.HEARINGS,
    EventKind.HEARING_MOVED: ChangeKind.HEARINGS,
    EventKind.HEARING_CANCELLED: ChangeKind.HEARINGS,
    EventKind.HEARING_HELD: ChangeKind.HEARINGS,
    EventKind.REMINDER: ChangeKind.HEARINGS,
    EventKind.ASYLUM_CHANGED: ChangeKind.ASYLUM,
    EventKind.DETENTION_CHANGED: ChangeKind.DETENTION,
    EventKind.VERDICT: ChangeKind.VERDICTS,
    EventKind.NOTE: ChangeKind.NOTES,
    EventKind.RECORD_CHANGED: ChangeKind.NOTES,  # a field of the record: told with the notes
}
PLACE_SCOPES = (SubscriptionScope.COURT, SubscriptionScope.CITY)
# At most this many courts or cities are offered to choose from.
MAX_PLACES = 10


@dataclass(frozen=True)
class Following:
    """One subscription of a chat: a person, or everyone, a court or a city (`person` None)."""

    subscription: Subscription
    person: Person | None


@dataclass(frozen=True)
class Place:
    """A court or city as stored on cases, and one case there (a short handle for buttons)."""

    name: str
    case_id: int


async def ensure_chat(*, session: AsyncSession, chat_id: int, kind: str, language: str) -> Chat:
    """The subscriber chat, created on first contact (in the language of that contact)."""
    chat = await session.get(Chat, chat_id)
    if chat is None:
        chat = Chat(id=chat_id, kind=kind, language=language)
        session.add(chat)
        await session.flush()
    elif not chat.active:
        chat.active, chat.deactivated_at = True, None
        session.add(chat)
    return chat


async def subscribe(*, session: AsyncSession, chat_id: int, person_id: int | None) -> bool:
    """Follow one person, or everyone with `person_id=None`; False if already followed.

    One statement that a unique index guards (for everyone, `uq_subscription_all`), so two
    requests at once make one follow, on SQLite and PostgreSQL alike.
    """
    scope = SubscriptionScope.ALL if person_id is None else SubscriptionScope.PERSON
    row = {"chat_id": chat_id, "scope": scope, "person_id": person_id}
    return await insert_ignoring_conflicts(session, Subscription, [row]) == 1


async def follow_place(
    *, session: AsyncSession, chat_id: int, scope: SubscriptionScope, place: str
) -> bool:
    """Follow a court or a city (`place` as stored on cases); False if already followed
    (`uq_subscription_place` keeps one follow of each)."""
    row = {"chat_id": chat_id, "scope": scope, "place": place}
    return await insert_ignoring_conflicts(session, Subscription, [row]) == 1


async def unsubscribe(*, session: AsyncSession, chat_id: int, person_id: int | None) -> bool:
    """Stop following; False if the chat did not follow that (or a request at once did it)."""
    result = await session.exec(delete(Subscription).where(_following(chat_id, person_id)))
    return bool(result.rowcount)


async def unfollow(*, session: AsyncSession, chat_id: int, subscription_id: int) -> bool:
    """Drop one follow of this chat; False if it is gone (or was never this chat's)."""
    result = await session.exec(
        delete(Subscription).where(
            col(Subscription.id) == subscription_id, col(Subscription.chat_id) == chat_id
        )
    )
    return bool(result.rowcount)


def _shown(include_restricted: bool) -> ColumnElement[bool]:
    """Follows to list: restricted people's only if `include_restricted` (a follow from
    before they were restricted stays, unshown)."""
    if include_restricted:
        return true()
    return or_(col(Person.id).is_(None), col(Person.visibility) == Visibility.PUBLIC)


def _with_people(chat_id: int, include_restricted: bool) -> Select[Subscription, Person]:
    return (
        select(Subscription, Person)
        .join(Person, col(Subscription.person_id) == col(Person.id), isouter=True)
        .where(col(Subscription.chat_id) == chat_id, _shown(include_restricted))
    )


async def followings(
    *,
    session: AsyncSession,
    chat_id: int,
    include_restricted: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> list[Following]:
    """What a chat follows: everyone first, then cities, courts, and people by name; from
    `offset`, at most `limit` of them."""
    statement = (
        _with_people(chat_id, include_restricted)
        .order_by(
            col(Subscription.scope),
            col(Subscription.place),
            col(Person.name),
            col(Subscription.id),
        )
        .offset(offset)
        .limit(limit)
    )
    rows = (await session.exec(statement)).all()
    return [Following(subscription=s, person=p) for s, p in rows]


async def count_followings(
    *, session: AsyncSession, chat_id: int, include_restricted: bool = False
) -> int:
    """How many follows `followings` lists in all."""
    statement = (
        select(func.count())
        .select_from(Subscription)
        .join(Person, col(Subscription.person_id) == col(Person.id), isouter=True)
        .where(col(Subscription.chat_id) == chat_id, _shown(include_restricted))
    )
    return (await session.exec(statement)).one()


async def chat_following(
    *, session: AsyncSession, chat_id: int, subscription_id: int, include_restricted: bool
) -> Following | None:
    """One follow of this chat, if it still exists and may be shown here."""
    statement = _with_people(chat_id, include_restricted).where(
        col(Subscription.id) == subscription_id
    )
    row = (await session.exec(statement)).first()
    return None if row is None else Following(subscription=row[0], person=row[1])


def chosen_kinds(subscription: Subscription) -> tuple[ChangeKind, ...]:
    """The kinds of change a follow hears about, in their fixed order."""
    if subscription.kinds is None:
        return tuple(ChangeKind)
    chosen = set(subscription.kinds.split(","))
    return tuple(kind for kind in ChangeKind if kind.value in chosen)


def choose_kind(*, subscription: Subscription, kind: ChangeKind, wanted: bool) -> bool:
    """Hear about `kind` or not; False when that would leave the follow no kind at all
    (muting is the way to hear nothing). Every kind chosen is stored as None."""
    kinds = set(chosen_kinds(subscription))
    if wanted:
        kinds.add(kind)
    else:
        kinds.discard(kind)
    if not kinds:
        return False
    every = kinds == set(ChangeKind)
    subscription.kinds = None if every else ",".join(k for k in ChangeKind if k in kinds)
    return True


def _following(chat_id: int, person_id: int | None) -> ColumnElement[bool]:
    """The subscription of a chat to a person, or to everyone when `person_id` is None."""
    if person_id is None:
        return and_(
            col(Subscription.chat_id) == chat_id, col(Subscription.scope) == SubscriptionScope.ALL
        )
    return and_(col(Subscription.chat_id) == chat_id, col(Subscription.person_id) == person_id)


async def is_following(*, session: AsyncSession, chat_id: int, person_id: int) -> bool:
    found = select(Subscription.id).where(_following(chat_id, person_id)).limit(1)
    return (await session.exec(found)).first() is not None


# --- courts and cities ----------------------------------------------------------------------


def _place_column(scope: SubscriptionScope, cases: Any = Case) -> Any:
    """The column of a case (of `cases`: Case or an alias of it) that a follow of `scope`
    names in its `place`: the one place where the court and the city rules are written."""
    return getattr(cases, "court" if scope == SubscriptionScope.COURT else "city")


def _matching(names: dict[str, int], text: str) -> list[Place]:
    """The names that are `text` (any case, script or accent), else those containing it."""
    wanted = name_key(text)
    if not wanted:
        return []
    keys = {name: name_key(name) for name in names}
    exact = [name for name, key in keys.items() if key == wanted]
    found = exact or sorted(name for name, key in keys.items() if wanted in key)
    return [Place(name=name, case_id=names[name]) for name in found]


async def known_places(
    *, session: AsyncSession, scope: SubscriptionScope, text: str
) -> list[Place]:
    """The courts (or cities) of public people's cases that `text` names."""
    column = _place_column(scope)
    statement = (
        select(column, func.min(Case.id))
        .join(Person, col(Case.person_id) == col(Person.id))
        .where(column.is_not(None), col(Person.visibility) == Visibility.PUBLIC)
        .group_by(column)
    )
    rows = (await session.exec(statement)).all()
    return _matching({name: case_id for name, case_id in rows if name and case_id}, text)


async def place_of_case(
    *, session: AsyncSession, scope: SubscriptionScope, case_id: int
) -> str | None:
    """The court (or city) of a case of a public person; None if there is none."""
    statement = (
        select(_place_column(scope))
        .join(Person, col(Case.person_id) == col(Person.id))
        .where(col(Case.id) == case_id, col(Person.visibility) == Visibility.PUBLIC)
    )
    return (await session.exec(statement)).first()


async def followed_places(
    *, session: AsyncSession, chat_id: int, scope: SubscriptionScope, text: str
) -> list[Subscription]:
    """This chat's follows of courts (or cities) that `text` names."""
    statement = select(Subscription).where(
        col(Subscription.chat_id) == chat_id, col(Subscription.scope) == scope
    )
    followed = {s.place: s for s in (await session.exec(statement)).all() if s.place}
    ids = {place: s.id or 0 for place, s in followed.items()}
    return [followed[place.name] for place in _matching(ids, text)]


# --- who hears of whom ----------------------------------------------------------------------


def _by_name(person_id: int | Any) -> ColumnElement[bool]:
    return and_(
        col(Subscription.scope) == SubscriptionScope.PERSON,
        col(Subscription.person_id) == person_id,
    )


def covers(person_id: int | Any, public: bool | ColumnElement[bool]) -> ColumnElement[bool]:
    """Subscriptions that take the person in: a follow of them by name; if they are public,
    also everyone, and the court and the city of any of their cases."""
    cases = aliased(Case)
    at_their_places = [
        and_(
            col(Subscription.scope) == scope,
            col(Subscription.place).in_(
                # Explicit correlation: the person may come from a statement levels up.
                select(_place_column(scope, cases))
                .where(cases.person_id == person_id)
                .correlate_except(cases)
            ),
        )
        for scope in PLACE_SCOPES
    ]
    broad = or_(col(Subscription.scope) == SubscriptionScope.ALL, *at_their_places)
    if isinstance(public, bool):
        return or_(_by_name(person_id), broad) if public else _by_name(person_id)
    return or_(_by_name(person_id), and_(public, broad))


def _wants(changes: Collection[ChangeKind | None]) -> ColumnElement[bool]:
    """Follows not muted that chose any of `changes` (None among them: any follow)."""
    if None in changes:
        return col(Subscription.muted).is_(False)
    listed = literal(",").concat(col(Subscription.kinds)).concat(",")
    chosen = [listed.like(f"%,{change},%") for change in changes if change is not None]
    return and_(
        col(Subscription.muted).is_(False),
        or_(col(Subscription.kinds).is_(None), *chosen) if chosen else false(),
    )


def told_of(
    *,
    person_id: int | Any,
    public: bool | ColumnElement[bool],
    changes: Collection[ChangeKind | None],
) -> ColumnElement[bool]:
    """Chats (rows of `Chat`) to tell of a change of any kind in `changes` about a person:
    a follow takes them in and wants it, and no follow of them by name refuses it (the
    follow by name decides alone). A restricted person reaches editors' private chats only."""
    wanted = (
        select(Subscription.chat_id)
        .where(covers(person_id, public), _wants(changes))
        .correlate_except(Subscription)
    )
    refused = (
        select(Subscription.chat_id)
        .where(_by_name(person_id), not_(_wants(changes)))
        .correlate_except(Subscription)
    )
    if isinstance(public, bool):
        allowed = true() if public else sees_restricted()
    else:
        allowed = or_(public, sees_restricted())
    return and_(col(Chat.id).in_(wanted), col(Chat.id).not_in(refused), allowed)


def change_kinds(event_kinds: Collection[str]) -> set[ChangeKind | None]:
    """What a message telling of these events is about, as a follow chooses."""
    return {CHANGE_OF_EVENT.get(kind) for kind in event_kinds}


def followed_person_ids(*, chat_id: int, include_restricted: bool) -> CompoundSelect:
    """The ids of the people chat `chat_id` follows (by name, everyone, court or city; muted
    or not), for `IN (…)`: what `covers` takes in, read from the chat's side, so that only the
    chat's own follows are looked at. Restricted people only with `include_restricted` (an
    editor's private chat), and then only those followed by name, as `covers` says."""
    public = col(Person.visibility) == Visibility.PUBLIC
    chats = col(Subscription.chat_id) == chat_id
    by_name = (
        select(Person.id)
        .join(Subscription, col(Subscription.person_id) == col(Person.id))
        .where(chats, col(Subscription.scope) == SubscriptionScope.PERSON)
    )
    if not include_restricted:
        by_name = by_name.where(public)
    follows_all = exists().where(chats, col(Subscription.scope) == SubscriptionScope.ALL)
    everyone = select(Person.id).where(public, follows_all)
    at_places = [
        select(Case.person_id)
        .join(Person, col(Case.person_id) == col(Person.id))
        .where(
            public,
            _place_column(scope).in_(
                select(Subscription.place).where(chats, col(Subscription.scope) == scope)
            ),
        )
        for scope in PLACE_SCOPES
    ]
    return union(by_name, everyone, *at_places)


async def set_quiet_hours(*, session: AsyncSession, chat: Chat, quiet_hours: str | None) -> None:
    """`22:00-07:00`: non-urgent pushes wait until the end; None: no quiet hours."""
    chat.quiet_hours = quiet_hours
    session.add(chat)


async def set_language(*, session: AsyncSession, chat: Chat, language: str) -> None:
    """The language the chat is answered and told of changes in."""
    chat.language = language
    session.add(chat)


async def set_digest_hour(*, session: AsyncSession, chat: Chat, digest_hour: int | None) -> None:
    """A daily digest at that hour instead of instant pushes; None: instant pushes."""
    chat.digest_hour = digest_hour
    session.add(chat)
