"""Restricted people: who may see them here (editors change it with /setvisibility,
handlers/editing.py)."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from handlers.context import CaseContext
from handlers.guards import VIEWER_ROLES, role_here
from handlers.parsing import Who
from handlers.replies import answer_gone, read_press
from handlers.who import Resolution, resolve_who
from storage.engine import session_scope
from storage.models import Person
from storage.people import people_by_ids

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
