"""Editor commands that change the records: /addperson, /sethearing, /setasylum, /setdetention
(made through the one pipeline of handlers/changes.py: ask, choose, apply, preview), and /undo.

Each applies its change, the timeline event and the audit entry in one transaction, and
remembers the update id in it too, so a redelivered update changes nothing the second time.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from handlers.changes import ChangeCommand, Editor, ask, keep_waiting, offer_choice, take_back
from handlers.context import CaseContext, Services, command_args, language
from handlers.i18n import t
from handlers.parsing import (
    BadArguments,
    HearingArgs,
    StatusArgs,
    Who,
    parse_setasylum,
    parse_setdetention,
    parse_sethearing,
    parse_setvisibility,
    parse_spellings,
)
from handlers.render import Spellings, listed_title, person_title
from handlers.replies import reply, reply_unresolved, reply_usage
from handlers.visibility import resolve_here, sees_restricted_here
from handlers.who import MAX_CANDIDATES, read_spellings, search_people
from storage.engine import session_scope
from storage.models import Event, Person, utcnow
from storage.people import (
    StatusField,
    add_person,
    set_hearing,
    set_status,
)
from storage.timeline import claim_update
from storage.visibility import set_visibility

ADDPERSON = "addperson"


async def addperson(update: Update, context: CaseContext) -> None:
    """Add a person with every known spelling of their name (asking first if the name is
    taken already)."""
    await _add_person(update, context, command_args(update), confirmed=False)


async def add_anyway(
    update: Update, context: CaseContext, text: str, _chosen: int | None = None
) -> None:
    """Yes, pressed under "N people already match": add the person of `/addperson <text>`."""
    await _add_person(update, context, text, confirmed=True)


async def _add_person(update: Update, context: CaseContext, text: str, *, confirmed: bool) -> None:
    lang = language(update)
    try:
        spellings = parse_spellings(text)
    except BadArguments as error:
        await reply_usage(update, ADDPERSON, error, lang)
        return
    services = context.services
    async with session_scope(services.engine) as session:
        if not await claim_update(session=session, update_id=update.update_id):
            return
        namesakes = [] if confirmed else await _namesakes(session, update, services, spellings)
        if namesakes:
            draft = await keep_waiting(session, update, ADDPERSON, text)
            known = await read_spellings(session, namesakes)
        else:
            added = await add_person(
                session=session,
                name=spellings[0],
                other_spellings=spellings[1:],
                actor_id=_actor(update),
                grace=services.grace,
            )
    if namesakes:
        question = render_namesakes(namesakes, known, lang)
        await ask(update, question, draft, services.button_key, lang)
        return
    title = person_title(added, spellings, lang)
    await reply(update, t(lang, "editor.person_added", person=title))


async def _namesakes(
    session: AsyncSession, update: Update, services: Services, spellings: list[str]
) -> list[Person]:
    """The people any of these spellings finds, as /find would here (restricted ones only in
    a private chat of those who may see them)."""
    found: dict[int | None, Person] = {}
    restricted = await sees_restricted_here(session, update)
    for spelling in spellings:
        matches = await search_people(
            session=session, names=services.names, query=spelling, include_restricted=restricted
        )
        found.update((person.id, person) for _, person in matches if person.id not in found)
    return list(found.values())[:MAX_CANDIDATES]


def render_namesakes(people: Sequence[Person], spellings: Spellings, lang: str) -> str:
    """The question before adding a person whose name someone has already: who that is."""
    listed = ", ".join(listed_title(person, spellings, lang) for person in people)
    return t(lang, "addperson.namesakes", count=len(people), people=listed)


async def _move_hearing(
    session: AsyncSession, person: Person, args: HearingArgs, editor: Editor
) -> Event | None:
    return await set_hearing(
        session=session,
        person=person,
        local_start=args.local_start,
        place=args.place,
        default_tz=editor.services.default_tz,
        **editor.made(args),
    )


# A hearing further ahead than this is more likely a mistyped year than a date.
FAR_AHEAD = timedelta(days=2 * 365)


def hearing_doubt(args: HearingArgs, now: datetime, services: Services) -> dict[str, str] | None:
    """A hearing in the past, or in a year far from now: asked about before anyone is told."""
    local_now = now.astimezone(ZoneInfo(services.default_tz)).replace(tzinfo=None)
    day = args.local_start.strftime("%d.%m.%Y %H:%M")
    if args.local_start < local_now:
        return {"key": "change.past_date", "date": day}
    if args.local_start > local_now + FAR_AHEAD:
        return {"key": "change.far_date", "date": day}
    return None


def _status_change(field: StatusField) -> ChangeCommand[StatusArgs]:
    async def change(
        session: AsyncSession, person: Person, args: StatusArgs, editor: Editor
    ) -> Event | None:
        return await set_status(
            session=session,
            person=person,
            field=field,
            status=args.status,
            since=editor.today(),
            **editor.made(args),
        )

    parse = parse_setasylum if field == "asylum" else parse_setdetention
    return ChangeCommand(name=f"set{field}", parse=parse, apply=change)


SETHEARING = ChangeCommand(
    name="sethearing", parse=parse_sethearing, apply=_move_hearing, doubt=hearing_doubt
)
# The commands that change a person's record, made through handlers/changes.py.
RECORD_CHANGES: tuple[ChangeCommand[Any], ...] = (
    SETHEARING,
    _status_change("asylum"),
    _status_change("detention"),
)


async def undo(update: Update, context: CaseContext) -> None:
    """Take back one's last change while its push has not started."""
    actor_id = _actor(update)
    assert actor_id is not None
    async with session_scope(context.services.engine) as session:
        if not await claim_update(session=session, update_id=update.update_id):
            return
        text = await take_back(
            session, actor_id, None, context.services.default_tz, language(update)
        )
    await reply(update, text)


def _actor(update: Update) -> int | None:
    return update.effective_user.id if update.effective_user else None


SETVISIBILITY = "setvisibility"


async def setvisibility(update: Update, context: CaseContext) -> None:
    """`/setvisibility <who> public|restricted`: who may see a person (followers are not told)."""
    await set_visibility_of(update, context, command_args(update))


async def set_visibility_of(
    update: Update, context: CaseContext, text: str, person_id: int | None = None
) -> None:
    """/setvisibility as typed, or for the person chosen among several by a button."""
    lang = language(update)
    try:
        args = parse_setvisibility(text)
    except BadArguments as error:
        await reply_usage(update, SETVISIBILITY, error, lang)
        return
    who = args.who if person_id is None else Who(person_id=person_id)
    user = update.effective_user
    async with session_scope(context.services.engine) as session:
        if not await claim_update(session=session, update_id=update.update_id):
            return
        found = await resolve_here(session, update, context, who)
        changed = found.person is not None and await set_visibility(
            session=session,
            person=found.person,
            visibility=args.visibility,
            actor_id=user.id if user else None,
            now=utcnow(),
        )
        spellings = await read_spellings(session, [found.person])
        draft = None
        if found.person is None and found.candidates:
            draft = await keep_waiting(session, update, SETVISIBILITY, text)
    key = context.services.button_key
    if draft is not None:
        await offer_choice(update, found.candidates, found.spellings, draft, key, lang)
        return
    if found.person is None:
        await reply_unresolved(update, found, who.label, lang, key=key)
        return
    key_text = f"visibility.{'' if changed else 'already_'}{args.visibility.value}"
    await reply(update, t(lang, key_text, person=listed_title(found.person, spellings, lang)))
