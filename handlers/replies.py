"""Answers shared by several commands: usage lines, unknown people, lists of candidates, and
the buttons under them (signed, see handlers/buttons.py)."""

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from handlers.buttons import Pressed, button_data, read_button
from handlers.context import CaseContext, language
from handlers.i18n import t
from handlers.parsing import BadArguments
from handlers.render import (
    Spellings,
    render_candidates,
    render_nobody,
    render_refusal,
    shown_name,
)
from handlers.who import Resolution
from storage.models import Person, Visibility

# Button actions (handlers/buttons.py signs them); each names a person by id, checked
# again on every press. A history page button also says which way, from which event.
CARD = "card"
FOLLOW = "follow"
UNFOLLOW = "unfollow"
HISTORY = "hist"
HEARINGS = "hear"
CALENDAR = "cal"
# Under an editor's change (handlers/changes.py), for editors only (handlers/guards.py):
PICK = "cpick"  # draft id, person id: finish the waiting command for this person
GO = "cgo"  # draft id: yes, make the change asked about
DROP = "cdrop"  # draft id: no, leave it
UNDO = "cundo"  # event id: take this change back
HUSH = "chush"  # event id: keep the change, tell nobody (a correction)
CHANGE_ACTIONS = (PICK, GO, DROP, UNDO, HUSH)
# The audit's pages and candidates (handlers/audit.py), for owners, editors and viewers:
AUDIT = "audit"
# The steps of a guided edit (handlers/guided.py), each naming the draft it answers:
WHO = "gwho"  # draft id, person id: edit this person
FIELD = "gfld"  # draft id, field: change this
VALUE = "gval"  # draft id, choice: this value (or: add one, remove the one numbered)
SKIP = "gskip"  # draft id: no source
LEVEL = "glvl"  # draft id, verification level (or "-"): how it is known; then the change
GUIDED_ACTIONS = (WHO, FIELD, VALUE, SKIP, LEVEL)


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer in the chat the update came from."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, reply_markup=markup, do_quote=False)


async def reply_usage(update: Update, command: str, error: BadArguments, language: str) -> None:
    """The reason the arguments were refused, then how to use the command."""
    refused = error.reason != "error.usage"
    reason = render_refusal(command, error.reason, language) + "\n" if refused else ""
    await reply(
        update, reason + t(language, "error.usage") + " " + t(language, f"usage.{command}")
    )


def person_buttons(
    people: Sequence[Person],
    spellings: Spellings,
    language: str,
    key: bytes,
    action: str = CARD,
    *before: object,
) -> InlineKeyboardMarkup:
    """One button per person (the name in the reader's script and the id), doing `action`
    with the values `before` and the person's id: by default, opening their card."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"{shown_name(p, spellings.get(p.id or 0, ()), language)} #{p.id}",
                    callback_data=button_data(key, action, *before, p.id),
                )
            ]
            for p in people
        ]
    )


def _follow(person: Person, language: str, key: bytes, *, following: bool) -> InlineKeyboardButton:
    action, text = (UNFOLLOW, "button.unfollow") if following else (FOLLOW, "button.follow")
    return InlineKeyboardButton(
        t(language, text), callback_data=button_data(key, action, person.id)
    )


def follow_button(
    person: Person, language: str, key: bytes, *, following: bool
) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_follow(person, language, key, following=following)]])


def card_keyboard(
    person: Person, language: str, key: bytes, *, following: bool
) -> InlineKeyboardMarkup:
    """Under a card: Follow or Unfollow, History, Hearings, Calendar, and Share (a public
    person only: sharing hands their name to another chat)."""

    def pressing(action: str, text: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            t(language, text), callback_data=button_data(key, action, person.id)
        )

    rows = [
        [_follow(person, language, key, following=following), pressing(HISTORY, "button.history")],
        [pressing(HEARINGS, "button.hearings"), pressing(CALENDAR, "button.calendar")],
    ]
    if person.visibility == Visibility.PUBLIC:
        share = t(language, "button.share")
        rows.append([InlineKeyboardButton(share, switch_inline_query=person.name)])
    return InlineKeyboardMarkup(rows)


async def reply_unresolved(
    update: Update,
    found: Resolution,
    query: str,
    language: str,
    *,
    key: bytes,
    hint: bool = False,
) -> None:
    """Nobody matched, or several did: say so, with the candidates as buttons.

    With `hint`, "nobody" also says how to use the bot (to people who typed plain text).
    """
    if found.candidates:
        await reply(
            update,
            render_candidates(found.candidates, found.spellings, language),
            person_buttons(found.candidates, found.spellings, language, key),
        )
    else:
        nobody = render_nobody(query, language)
        await reply(update, nobody + ("\n" + t(language, "conversation.hint") if hint else ""))


async def read_press(update: Update, context: CaseContext) -> Pressed | None:
    """The button of ours that was pressed; data this bot did not sign gets a polite answer
    (the button does nothing) and None."""
    query = update.callback_query
    assert query is not None
    pressed = read_button(context.services.button_key, query.data)
    if pressed is None:
        await query.answer(t(language(update), "conversation.stale_button"))
    return pressed


async def answer_gone(update: Update) -> None:
    """A real button whose person is gone, or is no longer to be seen here."""
    query = update.callback_query
    assert query is not None
    await query.answer(t(language(update), "button.gone"))


async def edit_in_place(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the message whose button was pressed (pressed twice: it is already so)."""
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in error.message.lower():
            raise


async def show_page(
    update: Update, text: str, markup: InlineKeyboardMarkup | None, *, first: bool, empty: bool
) -> None:
    """A page of a list a button asked for (history, audit): the first page as a new message,
    another in place of the one pressed under; a page past either end only says so."""
    query = update.callback_query
    assert query is not None
    if empty and not first:
        await query.answer(t(language(update), "history.no_more"))
        return
    await query.answer()
    if first:
        await reply(update, text, markup)
    else:
        await edit_in_place(update, text, markup)
