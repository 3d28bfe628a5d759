"""Following people: /subscribe, /unsubscribe, /subscriptions and the follow buttons."""

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from handlers.context import CaseContext, command_args, language
from handlers.i18n import t
from handlers.name_watches import offer_name_watch, reply_name_watches
from handlers.parsing import BadArguments, Who, parse_target
from handlers.render import person_title, render_followings
from handlers.replies import (
    FOLLOW,
    button_who,
    follow_button,
    reply,
    reply_unresolved,
    reply_usage,
)
from handlers.visibility import sees_restricted_here
from handlers.who import Resolution, resolve_who
from storage.engine import session_scope
from storage.following import ensure_chat, followings, subscribe, unsubscribe
from storage.models import Person


async def subscribe_command(update: Update, context: CaseContext) -> None:
    """Follow a person, or everyone with `all`."""
    await _change_following(update, context, follow=True)


async def unsubscribe_command(update: Update, context: CaseContext) -> None:
    """Stop following a person, or `all`."""
    await _change_following(update, context, follow=False)


async def subscriptions(update: Update, context: CaseContext) -> None:
    """What this chat follows."""
    chat = update.effective_chat
    assert chat is not None
    async with session_scope(context.services.engine) as session:
        rows = await followings(
            session=session,
            chat_id=chat.id,
            include_restricted=await sees_restricted_here(session, update),
        )
    await reply(update, render_followings(rows, language(update)))
    await reply_name_watches(update, context)


async def follow_pressed(update: Update, context: CaseContext) -> None:
    """The Follow / Unfollow button under a card (its id is checked again here)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    follow = query.data.startswith(FOLLOW + ":")
    await _change_following(update, context, follow=follow, who=button_who(query.data))


async def _change_following(
    update: Update, context: CaseContext, *, follow: bool, who: Who | None = None
) -> None:
    lang = language(update)
    command = "subscribe" if follow else "unsubscribe"
    try:
        target = who or parse_target(command_args(update))
    except BadArguments as error:
        await reply_usage(update, command, error, lang)
        return
    async with session_scope(context.services.engine) as session:
        found = (
            Resolution() if target is None else await _resolve(session, update, context, target)
        )
        changed = None
        if target is None or found.person is not None:
            changed = await _apply(session, update, found.person, follow=follow)
    if changed is None:
        assert target is not None
        if follow:
            await offer_name_watch(update, context, found, target)
        else:
            await reply_unresolved(update, found, target.label, lang)
        return
    outcome = "done" if changed else ("already" if follow else "not")
    key = f"{command}.{'all_' if found.person is None else ''}{outcome}"
    text = t(lang, key, person=person_title(found.person) if found.person else "")
    markup = follow_button(found.person, lang, following=follow) if found.person else None
    await reply(update, text, markup)


async def _resolve(
    session: AsyncSession, update: Update, context: CaseContext, who: Who
) -> Resolution:
    return await resolve_who(
        session=session,
        names=context.services.names,
        who=who,
        include_restricted=await sees_restricted_here(session, update),
    )


async def _apply(
    session: AsyncSession, update: Update, person: Person | None, *, follow: bool
) -> bool:
    chat = update.effective_chat
    assert chat is not None
    person_id = None if person is None else person.id
    if not follow:
        return await unsubscribe(session=session, chat_id=chat.id, person_id=person_id)
    await ensure_chat(session=session, chat_id=chat.id, kind=chat.type, language=language(update))
    return await subscribe(session=session, chat_id=chat.id, person_id=person_id)
