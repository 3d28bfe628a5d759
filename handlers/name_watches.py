"""Watching for a name nobody has entered yet: the offer under "nobody found", the Watch and
Stop buttons, and the list in /subscriptions (storage/name_watches.py says what matches).

The name does not fit in a button's data: the Watch button carries a fingerprint of it, and
the name is read back from the offer's bold part (a message only the bot can write) and
checked against the fingerprint. Nothing is stored until the button is pressed.
"""

from hashlib import sha256
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update

from handlers.buttons import button_data, read_button
from handlers.context import CaseContext, language
from handlers.i18n import t
from handlers.parsing import Who
from handlers.render import render_name_watches, render_watch_offer, render_watch_started
from handlers.replies import reply, reply_unresolved
from handlers.who import Resolution
from storage.engine import session_scope
from storage.following import ensure_chat
from storage.models import NameWatch, utcnow
from storage.name_watches import WatchStart, active_watches, end_watch, start_watch
from storage.names import name_key

# Button actions: watch for the name of the offer; stop the watch with this id.
WATCH = "watch"
UNWATCH = "unwatch"
# A watched name has at least this many letters once folded (fewer would match too much).
MIN_LETTERS = 2
# How much of a watched name a Stop button shows.
BUTTON_NAME = 40


def _fingerprint(name: str) -> str:
    """Twelve hex digits of the name's matching key: ties a Watch button to its offer."""
    return sha256(name_key(name).encode()).hexdigest()[:12]


async def offer_name_watch(
    update: Update, context: CaseContext, found: Resolution, target: Who
) -> None:
    """A /subscribe that found no one person: the candidates, or the offer to watch for it."""
    lang = language(update)
    letters = len(name_key(target.text).replace(" ", ""))
    if found.candidates or target.is_id or letters < MIN_LETTERS:
        await reply_unresolved(update, found, target.label, lang, key=context.services.button_key)
        return
    data = button_data(context.services.button_key, WATCH, _fingerprint(target.text))
    button = InlineKeyboardButton(t(lang, "button.watch"), callback_data=data)
    await reply(update, render_watch_offer(target.text, lang), InlineKeyboardMarkup([[button]]))


def _offered_name(message: object) -> str | None:
    """The name an offer shows (its bold part); None if the message cannot be read."""
    if not isinstance(message, Message):
        return None
    return next(iter(message.parse_entities([MessageEntity.BOLD]).values()), None)


async def watch_pressed(update: Update, context: CaseContext) -> None:
    """The Watch button under "nobody found": watch for the name the offer shows."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    lang = language(update)
    pressed = read_button(context.services.button_key, query.data)
    name = _offered_name(query.message)
    if pressed is None or name is None or pressed.values != (_fingerprint(name),):
        await query.answer(t(lang, "conversation.stale_button"))
        return
    async with session_scope(context.services.engine) as session:
        await ensure_chat(session=session, chat_id=chat.id, kind=chat.type, language=lang)
        outcome, watch = await start_watch(
            session=session, chat_id=chat.id, name=name, now=utcnow()
        )
    await query.answer()
    if watch is None:
        await reply(update, t(lang, "watch.too_many"))
        return
    await reply(update, render_watch_started(watch, lang, already=outcome is WatchStart.ALREADY))


async def unwatch_pressed(update: Update, context: CaseContext) -> None:
    """The Stop button beside a watched name in /subscriptions."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    lang = language(update)
    pressed = read_button(context.services.button_key, query.data)
    watch_id = None if pressed is None else pressed.number()
    if watch_id is None:
        await query.answer(t(lang, "conversation.stale_button"))
        return
    async with session_scope(context.services.engine) as session:
        watch = await end_watch(session=session, chat_id=chat.id, watch_id=watch_id, now=utcnow())
    if watch is None:
        await query.answer(t(lang, "watch.not_on"))
        return
    await query.answer()
    await reply(update, t(lang, "watch.stopped", name=escape(watch.name)))


async def reply_name_watches(update: Update, context: CaseContext) -> None:
    """The names this chat watches for, each with a Stop button; nothing if it watches none."""
    chat = update.effective_chat
    assert chat is not None
    async with session_scope(context.services.engine) as session:
        watches = await active_watches(session=session, chat_id=chat.id)
    if watches:
        lang = language(update)
        markup = _stop_buttons(watches, context.services.button_key, lang)
        await reply(update, render_name_watches(watches, lang), markup)


def _stop_buttons(watches: list[NameWatch], key: bytes, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "button.unwatch", name=watch.name[:BUTTON_NAME]),
                    callback_data=button_data(key, UNWATCH, watch.id),
                )
            ]
            for watch in watches
        ]
    )
