"""Inline queries (`@bot text` typed in any chat) and the answers the bot gives them.

answerInlineQuery is checked as Telegram checks it: at most 50 results, each with a unique
id of 1-64 bytes, a known type, a title and valid message text for an article; a cache
time that is no negative number; a results button with a valid start parameter.
"""

import re
from collections.abc import Sequence
from typing import Any

from bot.localapi.errors import bad_request
from bot.localapi.messages import MAX_CALLBACK_DATA_BYTES, check_text
from bot.localapi.params import Params
from bot.localapi.records import InlineAnswer, InlineQuery, JSONDict
from bot.localapi.state import BotState

MAX_RESULTS = 50
MAX_RESULT_ID_BYTES = 64
# Telegram's default when answerInlineQuery gives no cache_time.
DEFAULT_CACHE_SECONDS = 300
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TYPES_WITH_CONTENT = frozenset({"article"})
_KNOWN_TYPES = frozenset(
    {
        "article",
        "photo",
        "gif",
        "mpeg4_gif",
        "video",
        "audio",
        "voice",
        "document",
        "location",
        "venue",
        "contact",
        "game",
        "sticker",
    }
)


def answer_inline_query(api: BotState, params: Params) -> InlineAnswer:
    """Check an answerInlineQuery call and record its answer."""
    query_id = params.text("inline_query_id") or ""
    query = api._inline_queries.get(query_id)
    if query is None or query.answered:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    results = params.json("results")
    if not isinstance(results, list):
        raise bad_request("can't parse inline query results JSON object")
    _check_results(api, results)
    cache_time = params.integer("cache_time")
    if cache_time is not None and cache_time < 0:
        raise bad_request("CACHE_TIME_INVALID")
    button = params.json("button")
    if button is not None:
        _check_button(button)
    query.answered = True
    return InlineAnswer(
        inline_query_id=query_id,
        user_id=query.user_id,
        results=results,
        cache_time=DEFAULT_CACHE_SECONDS if cache_time is None else cache_time,
        is_personal=params.boolean("is_personal"),
        next_offset=params.text("next_offset") or "",
        button=button,
    )


def _check_results(api: BotState, results: Sequence[Any]) -> None:
    if len(results) > MAX_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    for result in results:
        if not isinstance(result, dict) or result.get("type") not in _KNOWN_TYPES:
            raise bad_request("RESULT_TYPE_INVALID")
        result_id = str(result.get("id") or "")
        if not 1 <= len(result_id.encode()) <= MAX_RESULT_ID_BYTES:
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        if result["type"] in _TYPES_WITH_CONTENT:
            _check_article(api, result)
        _check_markup(result.get("reply_markup"))


def _check_article(api: BotState, result: JSONDict) -> None:
    if not str(result.get("title") or "").strip():
        raise bad_request("RESULT_TITLE_EMPTY")
    content = result.get("input_message_content")
    if not isinstance(content, dict) or "message_text" not in content:
        raise bad_request("MESSAGE_EMPTY")
    check_text(api, str(content["message_text"]), content.get("parse_mode"))


def _check_markup(markup: object) -> None:
    if markup is None:
        return
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        raise bad_request("REPLY_MARKUP_INVALID")
    for row in rows:
        for button in row:
            data, url = button.get("callback_data"), button.get("url")
            if data is None and not url:
                raise bad_request("BUTTON_TYPE_INVALID")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")


def _check_button(button: object) -> None:
    if not isinstance(button, dict) or not str(button.get("text") or "").strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    start = button.get("start_parameter")
    if "web_app" not in button and not _START_PARAMETER.fullmatch(str(start or "")):
        raise bad_request("START_PARAM_INVALID")


def new_inline_query(api: BotState, user_id: int, query_id: str) -> None:
    """Remember a query the bot may answer once."""
    api._inline_queries[query_id] = InlineQuery(user_id=user_id)
