"""Inline mode: `@bot <name>` in any chat shares public person cards.

The chat the card will be posted in is unknown, so restricted people are never offered,
whoever asks (an editor too). Results are personal (each in the asker's language) and
cached briefly: a record changed a minute ago shows as it is now.
"""

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode

from handlers.context import CaseContext, language
from handlers.deeplinks import follow_link, person_link
from handlers.i18n import t
from handlers.parsing import BadArguments, parse_query
from handlers.render import render_person_card, shown_name, status_label
from handlers.who import search_people
from storage.engine import session_scope
from storage.models import Person
from storage.people import load_person_card

CACHE_SECONDS = 30
# What the empty answer's button opens the bot with: no link of ours, so the greeting.
HINT_PAYLOAD = "inline"


async def inline_query(update: Update, context: CaseContext) -> None:
    """The public people whose any spelling matches what was typed after the bot's name."""
    query = update.inline_query
    assert query is not None
    lang = language(update)
    try:
        text = parse_query(query.query)
    except BadArguments:
        text = ""
    results: list[InlineQueryResultArticle] = []
    if text:
        async with session_scope(context.services.engine) as session:
            found = await search_people(
                session=session, names=context.services.names, query=text, include_restricted=False
            )
            for _, person in found:
                results.append(await _result(session, context, person, lang))
    hint = InlineQueryResultsButton(text=t(lang, "inline.hint"), start_parameter=HINT_PAYLOAD)
    await query.answer(
        results,
        cache_time=CACHE_SECONDS,
        is_personal=True,
        button=None if results else hint,
    )


async def _result(
    session: AsyncSession, context: CaseContext, person: Person, lang: str
) -> InlineQueryResultArticle:
    """One person's card, ready to post, with buttons that open it (or follow) in the bot."""
    assert person.id is not None
    card = await load_person_card(session=session, person=person)
    opens = person_link(context.bot.username, person.id)
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "inline.open"), url=opens),
                InlineKeyboardButton(
                    t(lang, "inline.follow"), url=follow_link(context.bot.username, person.id)
                ),
            ]
        ]
    )
    return InlineQueryResultArticle(
        id=str(person.id),
        title=shown_name(person, card.spellings, lang),
        description=render_result_description(person, lang),
        input_message_content=InputTextMessageContent(
            render_person_card(card, lang, opens),
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        reply_markup=buttons,
    )


def render_result_description(person: Person, language: str) -> str:
    """The line under the name in the results: detention and asylum status (plain text)."""
    detention = status_label("detention", person.detention, language)
    return f"{detention} · {status_label('asylum', person.asylum, language)}"
