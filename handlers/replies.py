"""Answers shared by several commands: usage lines, unknown people, lists of candidates."""

from collections.abc import Sequence
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.i18n import t
from handlers.parsing import BadArguments, Who, id_reference
from handlers.render import render_candidates
from handlers.who import Resolution
from storage.models import Person

# Callback data prefixes; the id after the colon is checked again on every press.
CARD = "card"
FOLLOW = "follow"
UNFOLLOW = "unfollow"


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer in the chat the update came from."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, reply_markup=markup, do_quote=False)


async def reply_usage(update: Update, command: str, error: BadArguments, language: str) -> None:
    """The reason the arguments were refused, then how to use the command."""
    reason = "" if error.reason == "error.usage" else t(language, error.reason) + "\n"
    await reply(
        update, reason + t(language, "error.usage") + " " + t(language, f"usage.{command}")
    )


def card_buttons(people: Sequence[Person]) -> InlineKeyboardMarkup:
    """One button per person, opening their card."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(f"{p.name} #{p.id}", callback_data=f"{CARD}:{p.id}")]
            for p in people
        ]
    )


def follow_button(person: Person, language: str, *, following: bool) -> InlineKeyboardMarkup:
    action, key = (UNFOLLOW, "button.unfollow") if following else (FOLLOW, "button.follow")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t(language, key), callback_data=f"{action}:{person.id}")]]
    )


async def reply_unresolved(
    update: Update, found: Resolution, query: str, language: str, *, hint: bool = False
) -> None:
    """Nobody matched, or several did: say so, with the candidates as buttons.

    With `hint`, "nobody" also says how to use the bot (to people who typed plain text).
    """
    if found.candidates:
        await reply(
            update, render_candidates(found.candidates, language), card_buttons(found.candidates)
        )
    else:
        nobody = t(language, "find.none", query=escape(query))
        await reply(update, nobody + ("\n" + t(language, "conversation.hint") if hint else ""))


def button_who(data: str) -> Who:
    """The person a `<prefix>:<id>` button names; forged data names nobody."""
    return id_reference(data.partition(":")[2])
