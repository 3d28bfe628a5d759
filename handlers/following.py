"""Following: /subscribe and /unsubscribe (a person, everyone, a court or a city), the follow
buttons, and /subscriptions with buttons that change each follow in place (kinds, mute)."""

from dataclasses import dataclass
from html import escape

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.buttons import Pressed, button_data, read_button
from handlers.context import CaseContext, command_args, language
from handlers.i18n import t
from handlers.name_watches import offer_name_watch, reply_name_watches
from handlers.parsing import BadArguments, PlaceName, parse_target
from handlers.render import (
    Spellings,
    following_label,
    listed_title,
    render_following,
    render_followings,
)
from handlers.replies import (
    FOLLOW,
    answer_gone,
    edit_in_place,
    follow_button,
    read_press,
    reply,
    reply_unresolved,
    reply_usage,
)
from handlers.visibility import resolve_here, sees_restricted_here, visible_person
from handlers.who import Resolution, read_spellings
from storage.engine import session_scope
from storage.following import (
    MAX_PLACES,
    PLACE_SCOPES,
    Following,
    Place,
    chat_following,
    choose_kind,
    chosen_kinds,
    count_followings,
    ensure_chat,
    follow_place,
    followed_places,
    followings,
    known_places,
    place_of_case,
    subscribe,
    unfollow,
    unsubscribe,
)
from storage.models import ChangeKind, Person, Subscription, SubscriptionScope

# Button actions (handlers/buttons.py). Pages are numbered from 1.
FOLLOWINGS_PAGE = "subs"  # values: page
FOLLOWING_SHOWN = "sub"  # subscription id, page
CHOOSE_KIND = "subk"  # subscription id, kind, 1 (hear) or 0 (not), page
MUTE = "subm"  # subscription id, 1 (mute) or 0 (unmute), page
DROP_FOLLOW = "subu"  # subscription id, page
FOLLOW_PLACE = "fplace"  # scope, id of a case at the court or in the city
# The presses that change what a chat follows: in a group, for its administrators only.
FOLLOWING_CHANGES = (CHOOSE_KIND, MUTE, DROP_FOLLOW, FOLLOW_PLACE)
FOLLOWING_ACTIONS = (FOLLOWINGS_PAGE, FOLLOWING_SHOWN, *FOLLOWING_CHANGES)
PER_PAGE = 10


@dataclass(frozen=True)
class View:
    """What a pressed button turns its message into, and a short notice to show."""

    text: str
    markup: InlineKeyboardMarkup | None = None
    notice: str | None = None


async def subscribe_command(update: Update, context: CaseContext) -> None:
    """Follow a person, everyone with `all`, or a court or a city."""
    await _change_following(update, context, follow=True)


async def unsubscribe_command(update: Update, context: CaseContext) -> None:
    """Stop following a person, `all`, or a court or a city."""
    await _change_following(update, context, follow=False)


async def subscriptions(update: Update, context: CaseContext) -> None:
    """What this chat follows, a page at a time, each follow with a button to change it."""
    async with session_scope(context.services.engine) as session:
        view = await _list_view(session, update, context, page=1)
    await reply(update, view.text, view.markup)
    await reply_name_watches(update, context)


async def follow_pressed(update: Update, context: CaseContext) -> None:
    """The Follow / Unfollow button under a card (its person is checked again here)."""
    pressed = await read_press(update, context)
    if pressed is None:
        return
    follow = pressed.action == FOLLOW
    async with session_scope(context.services.engine) as session:
        person = await visible_person(session, update, pressed.number())
        changed = person is not None and await _apply(session, update, person, follow=follow)
        spellings = await read_spellings(session, [person])
    if person is None:
        await answer_gone(update)
        return
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _reply_changed(update, context, person, spellings, follow=follow, changed=changed)


async def following_pressed(update: Update, context: CaseContext) -> None:
    """A button under /subscriptions, or a court or city to follow: checked, then applied."""
    query = update.callback_query
    assert query is not None
    lang = language(update)
    pressed = read_button(context.services.button_key, query.data)
    view = None
    if pressed is not None and query.message is not None:
        async with session_scope(context.services.engine) as session:
            press = _PRESSES.get(pressed.action)
            view = None if press is None else await press(session, update, context, pressed)
    if view is None:
        await query.answer(t(lang, "conversation.stale_button"))
        return
    await query.answer(view.notice)
    await edit_in_place(update, view.text, view.markup)


# --- people and everyone ----------------------------------------------------------------------


async def _change_following(update: Update, context: CaseContext, *, follow: bool) -> None:
    lang = language(update)
    command = "subscribe" if follow else "unsubscribe"
    try:
        target = parse_target(command_args(update))
    except BadArguments as error:
        await reply_usage(update, command, error, lang)
        return
    if isinstance(target, PlaceName):
        await (_follow_place if follow else _unfollow_place)(update, context, target)
        return
    async with session_scope(context.services.engine) as session:
        found = (
            Resolution()
            if target is None
            else await resolve_here(session, update, context, target)
        )
        changed = None
        if target is None or found.person is not None:
            changed = await _apply(session, update, found.person, follow=follow)
        spellings = await read_spellings(session, [found.person])
    if changed is None:
        assert target is not None
        if follow:
            await offer_name_watch(update, context, found, target)
        else:
            await reply_unresolved(
                update, found, target.label, lang, key=context.services.button_key
            )
        return
    await _reply_changed(update, context, found.person, spellings, follow=follow, changed=changed)


async def _reply_changed(
    update: Update,
    context: CaseContext,
    person: Person | None,
    spellings: Spellings,
    *,
    follow: bool,
    changed: bool,
) -> None:
    """Followed (or not), already, or never was; with the button to undo it."""
    lang = language(update)
    command = "subscribe" if follow else "unsubscribe"
    outcome = "done" if changed else ("already" if follow else "not")
    key = f"{command}.{'all_' if person is None else ''}{outcome}"
    text = t(lang, key, person=listed_title(person, spellings, lang) if person else "")
    markup = None
    if person is not None:
        markup = follow_button(person, lang, context.services.button_key, following=follow)
    await reply(update, text, markup)


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


# --- courts and cities ------------------------------------------------------------------------


async def _follow_place(update: Update, context: CaseContext, place: PlaceName) -> None:
    """`/subscribe court <name>`: the one known court (or city) it names, or a choice."""
    lang, scope = language(update), place.scope
    async with session_scope(context.services.engine) as session:
        found = await known_places(session=session, scope=scope, text=place.text)
        if len(found) == 1:
            done = await _start_following(session, update, scope, found[0].name)
    if not found:
        await reply(update, t(lang, f"following.no_{scope}", query=escape(place.text)))
    elif len(found) == 1:
        await reply(update, done)
    else:
        key = context.services.button_key
        buttons = [_place_button(key, scope, choice) for choice in found[:MAX_PLACES]]
        await reply(update, t(lang, f"following.choose_{scope}"), InlineKeyboardMarkup(buttons))


def _place_button(key: bytes, scope: str, place: Place) -> list[InlineKeyboardButton]:
    data = button_data(key, FOLLOW_PLACE, scope, place.case_id)
    return [InlineKeyboardButton(place.name[:60], callback_data=data)]


async def _start_following(
    session: AsyncSession, update: Update, scope: SubscriptionScope, place: str
) -> str:
    """Follow the court or city; what to answer."""
    chat, lang = update.effective_chat, language(update)
    assert chat is not None
    await ensure_chat(session=session, chat_id=chat.id, kind=chat.type, language=lang)
    new = await follow_place(session=session, chat_id=chat.id, scope=scope, place=place)
    return t(lang, f"following.{scope}_{'done' if new else 'already'}", place=escape(place))


async def _unfollow_place(update: Update, context: CaseContext, place: PlaceName) -> None:
    """`/unsubscribe court <name>`: the one court (or city) followed here that it names."""
    chat, lang, scope = update.effective_chat, language(update), place.scope
    assert chat is not None
    async with session_scope(context.services.engine) as session:
        found = await followed_places(
            session=session, chat_id=chat.id, scope=scope, text=place.text
        )
        if len(found) == 1:
            await unfollow(session=session, chat_id=chat.id, subscription_id=found[0].id or 0)
    if len(found) == 1:
        done = t(lang, f"following.{scope}_dropped", place=escape(found[0].place or ""))
        await reply(update, done)
    elif not found:
        await reply(update, t(lang, f"following.{scope}_not_followed", query=escape(place.text)))
    else:
        rows = [_drop_button(context.services.button_key, s, lang) for s in found[:MAX_PLACES]]
        await reply(update, t(lang, "following.choose_to_drop"), InlineKeyboardMarkup(rows))


def _drop_button(key: bytes, subscription: Subscription, lang: str) -> list[InlineKeyboardButton]:
    label = following_label(Following(subscription=subscription, person=None), {}, lang)
    data = button_data(key, DROP_FOLLOW, subscription.id, 1)
    return [InlineKeyboardButton(label, callback_data=data)]


async def _place_pressed(
    session: AsyncSession, update: Update, context: CaseContext, pressed: Pressed
) -> View | None:
    """A court or city chosen among several: still known (a public person's case is there)?"""
    scope = next((s for s in PLACE_SCOPES if (s.value,) == pressed.values[:1]), None)
    case_id = pressed.number(1)
    if scope is None or case_id is None:
        return None
    place = await place_of_case(session=session, scope=scope, case_id=case_id)
    if place is None:
        return None
    return View(await _start_following(session, update, scope, place))


# --- /subscriptions and its buttons ---------------------------------------------------------


async def _list_view(
    session: AsyncSession, update: Update, context: CaseContext, *, page: int, notice: str = ""
) -> View:
    """One page of the chat's follows (the last one if `page` is past it)."""
    chat, lang = update.effective_chat, language(update)
    assert chat is not None
    shown = await sees_restricted_here(session, update)
    total = await count_followings(session=session, chat_id=chat.id, include_restricted=shown)
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), pages)
    first = (page - 1) * PER_PAGE
    rows = await followings(
        session=session, chat_id=chat.id, include_restricted=shown, offset=first, limit=PER_PAGE
    )
    spellings = await read_spellings(session, [row.person for row in rows])
    text = render_followings(rows, spellings, lang, first=first + 1, total=total)
    key = context.services.button_key
    buttons = [
        [
            InlineKeyboardButton(
                f"⚙️ {first + number}. {following_label(row, spellings, lang)}",
                callback_data=button_data(key, FOLLOWING_SHOWN, row.subscription.id, page),
            )
        ]
        for number, row in enumerate(rows, 1)
    ]
    turns = [(page - 1, "following.previous"), (page + 1, "following.next")]
    nav = [
        InlineKeyboardButton(t(lang, label), callback_data=button_data(key, FOLLOWINGS_PAGE, to))
        for to, label in turns
        if 1 <= to <= pages
    ]
    markup = InlineKeyboardMarkup([*buttons, nav] if nav else buttons) if buttons else None
    return View(text, markup, notice or None)


async def _following_view(
    session: AsyncSession, key: bytes, following: Following, page: int, lang: str, notice: str = ""
) -> View:
    """One follow with its buttons: each kind of change on or off, mute, unfollow, back."""
    subscription = following.subscription
    sid, chosen = subscription.id, chosen_kinds(subscription)
    kinds = [
        InlineKeyboardButton(
            ("✅ " if kind in chosen else "▫️ ") + t(lang, f"following.kind_{kind}"),
            callback_data=button_data(
                key, CHOOSE_KIND, sid, kind.value, int(kind not in chosen), page
            ),
        )
        for kind in ChangeKind
    ]
    mute = "following.unmute" if subscription.muted else "following.mute"
    rows = [kinds[index : index + 2] for index in range(0, len(kinds), 2)]
    rows.append(
        [
            InlineKeyboardButton(
                t(lang, mute),
                callback_data=button_data(key, MUTE, sid, int(not subscription.muted), page),
            )
        ]
    )
    rows.append(
        [
            InlineKeyboardButton(
                t(lang, "button.unfollow"), callback_data=button_data(key, DROP_FOLLOW, sid, page)
            ),
            InlineKeyboardButton(
                t(lang, "following.back"), callback_data=button_data(key, FOLLOWINGS_PAGE, page)
            ),
        ]
    )
    spellings = await read_spellings(session, [following.person])
    text = render_following(following, spellings, lang)
    return View(text, InlineKeyboardMarkup(rows), notice or None)


async def _this_chats(
    session: AsyncSession, update: Update, subscription_id: int | None
) -> Following | None:
    """The follow a button names, if it is still this chat's and may be shown here."""
    chat = update.effective_chat
    if chat is None or subscription_id is None:
        return None
    return await chat_following(
        session=session,
        chat_id=chat.id,
        subscription_id=subscription_id,
        include_restricted=await sees_restricted_here(session, update),
    )


async def _page_pressed(
    session: AsyncSession, update: Update, context: CaseContext, pressed: Pressed
) -> View | None:
    page = pressed.number(0)
    return None if page is None else await _list_view(session, update, context, page=page)


async def _gone(session: AsyncSession, update: Update, context: CaseContext, page: int) -> View:
    """The list again, for a button whose follow is gone (unfollowed meanwhile)."""
    notice = t(language(update), "following.gone")
    return await _list_view(session, update, context, page=page, notice=notice)


async def _shown_pressed(
    session: AsyncSession, update: Update, context: CaseContext, pressed: Pressed
) -> View | None:
    page = pressed.number(1)
    if page is None:
        return None
    following = await _this_chats(session, update, pressed.number(0))
    if following is None:
        return await _gone(session, update, context, page)
    return await _following_view(
        session, context.services.button_key, following, page, language(update)
    )


async def _kind_pressed(
    session: AsyncSession, update: Update, context: CaseContext, pressed: Pressed
) -> View | None:
    page = pressed.number(3)
    if page is None or len(pressed.values) != 4:
        return None
    kind = next((k for k in ChangeKind if k.value == pressed.values[1]), None)
    if kind is None:
        return None
    following = await _this_chats(session, update, pressed.number(0))
    if following is None:
        return await _gone(session, update, context, page)
    kept = choose_kind(
        subscription=following.subscription, kind=kind, wanted=pressed.values[2] == "1"
    )
    session.add(following.subscription)
    notice = "" if kept else t(language(update), "following.last_kind")
    return await _following_view(
        session, context.services.button_key, following, page, language(update), notice
    )


async def _mute_pressed(
    session: AsyncSession, update: Update, context: CaseContext, pressed: Pressed
) -> View | None:
    page = pressed.number(2)
    if page is None or len(pressed.values) != 3:
        return None
    following = await _this_chats(session, update, pressed.number(0))
    if following is None:
        return await _gone(session, update, context, page)
    following.subscription.muted = pressed.values[1] == "1"
    session.add(following.subscription)
    return await _following_view(
        session, context.services.button_key, following, page, language(update)
    )


async def _drop_pressed(
    session: AsyncSession, update: Update, context: CaseContext, pressed: Pressed
) -> View | None:
    chat, page = update.effective_chat, pressed.number(1)
    following = await _this_chats(session, update, pressed.number(0))
    if chat is None or page is None:
        return None
    if following is None:
        return await _gone(session, update, context, page)
    assert following.subscription.id is not None
    await unfollow(session=session, chat_id=chat.id, subscription_id=following.subscription.id)
    lang = language(update)
    spellings = await read_spellings(session, [following.person])
    notice = t(lang, "following.dropped", title=following_label(following, spellings, lang))
    return await _list_view(session, update, context, page=page, notice=notice)


_PRESSES = {
    FOLLOWINGS_PAGE: _page_pressed,
    FOLLOWING_SHOWN: _shown_pressed,
    CHOOSE_KIND: _kind_pressed,
    MUTE: _mute_pressed,
    DROP_FOLLOW: _drop_pressed,
    FOLLOW_PLACE: _place_pressed,
}
