"""Restricted people: who may see them here, and /setvisibility for editors."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from handlers.context import CaseContext, command_args, language
from handlers.guards import VIEWER_ROLES, role_here
from handlers.i18n import t
from handlers.parsing import BadArguments, Who, parse_setvisibility
from handlers.render import listed_title
from handlers.replies import answer_gone, read_press, reply, reply_unresolved, reply_usage
from handlers.who import Resolution, read_spellings, resolve_who
from storage.engine import session_scope
from storage.models import Person, utcnow
from storage.people import people_by_ids
from storage.timeline import claim_update
from storage.visibility import set_visibility

Loaded = TypeVar("Loaded")


async def sees_restricted_here(session: AsyncSession, update: Update) -> bool:
    """Restricted people are shown to owners, editors and viewers in their private chats,
    never in a group."""
    chat = update.effective_chat
    if chat is None or chat.type != chat.PRIVATE:
        return False
    return await role_here(session, update) in VIEWER_ROLES


async def resolve_here(
    session: AsyncSession, update: Update, context: CaseContext, who: Who
) -> Resolution:
    """The person `who` names (or the candidates), among those this chat may see."""
    return await resolve_who(
        session=session,
        names=context.services.names,
        who=who,
        include_restricted=await sees_restricted_here(session, update),
    )


async def visible_person(
    session: AsyncSession, update: Update, person_id: int | None
) -> Person | None:
    """The person a button names, if they still exist and may be seen here."""
    if person_id is None:
        return None
    found = await people_by_ids(
        session=session,
        person_ids=[person_id],
        include_restricted=await sees_restricted_here(session, update),
    )
    return found[0] if found else None


async def load_pressed_person(
    update: Update,
    context: CaseContext,
    load: Callable[[AsyncSession, Person], Awaitable[Loaded | None]],
) -> Loaded | None:
    """What a person's button shows, loaded for the person it names, the press answered; or
    None, with the polite answer to forged data or to a person gone or not to be seen here."""
    pressed = await read_press(update, context)
    if pressed is None:
        return None
    async with session_scope(context.services.engine) as session:
        found = await visible_person(session, update, pressed.number())
        loaded = await load(session, found) if found is not None else None
    if loaded is None:
        await answer_gone(update)
        return None
    assert update.callback_query is not None
    await update.callback_query.answer()
    return loaded


async def setvisibility(update: Update, context: CaseContext) -> None:
    """`/setvisibility <who> public|restricted`: who may see a person (followers are not told)."""
    lang = language(update)
    try:
        args = parse_setvisibility(command_args(update))
    except BadArguments as error:
        await reply_usage(update, "setvisibility", error, lang)
        return
    user = update.effective_user
    async with session_scope(context.services.engine) as session:
        if not await claim_update(session=session, update_id=update.update_id):
            return
        found = await resolve_here(session, update, context, args.who)
        changed = found.person is not None and await set_visibility(
            session=session,
            person=found.person,
            visibility=args.visibility,
            actor_id=user.id if user else None,
            now=utcnow(),
        )
        spellings = await read_spellings(session, [found.person])
    if found.person is None:
        await reply_unresolved(
            update, found, args.who.label, lang, key=context.services.button_key
        )
        return
    key = f"visibility.{'' if changed else 'already_'}{args.visibility.value}"
    await reply(update, t(lang, key, person=listed_title(found.person, spellings, lang)))
