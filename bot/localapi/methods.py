"""The Bot API methods: one small function per method, registered by its name.

They work on the emulator's state (state.py) and reach into its underscored parts.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from bot.localapi import messages
from bot.localapi.errors import BotApiError, bad_request
from bot.localapi.inline import answer_inline_query
from bot.localapi.params import Params
from bot.localapi.records import CallbackAnswer, JSONDict, SentMessage
from bot.localapi.state import BotState, commands_key

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_UPDATES_LIMIT = 100

_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


MethodHandler = Callable[[BotState, Params], Awaitable[Any]]


@dataclass(frozen=True)
class Method:
    name: str
    handler: MethodHandler


_METHODS: dict[str, Method] = {}


def find_method(name: str) -> Method | None:
    """The method called `name` (names are case-insensitive, as at Telegram), if there is one."""
    return _METHODS.get(name.lower())


def _bot_method(name: str) -> Callable[[MethodHandler], MethodHandler]:
    """Register a handler under its Bot API name."""

    def register(handler: MethodHandler) -> MethodHandler:
        _METHODS[name.lower()] = Method(name, handler)
        return handler

    return register


@_bot_method("getMe")
async def _get_me(api: BotState, params: Params) -> JSONDict:
    return {
        **api.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": True,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@_bot_method("getUpdates")
async def _get_updates(api: BotState, params: Params) -> list[JSONDict]:
    if api.webhook.get("url"):
        raise BotApiError(
            HTTPStatus.CONFLICT,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    offset = params.integer("offset")
    limit = min(max(params.integer("limit") or MAX_UPDATES_LIMIT, 1), MAX_UPDATES_LIMIT)
    return await api._updates.poll(
        offset=offset,
        limit=limit,
        seconds=max(params.number("timeout") or 0.0, 0.0),
        allowed_updates=params.json("allowed_updates"),
    )


@_bot_method("setWebhook")
async def _set_webhook(api: BotState, params: Params) -> bool:
    """Stored only: the emulator does not push updates to the webhook."""
    if params.boolean("drop_pending_updates"):
        api._updates.waiting.clear()
    url = params.text("url") or ""
    api.webhook = {"url": url, "secret_token": params.text("secret_token")} if url else {}
    return True


@_bot_method("deleteWebhook")
async def _delete_webhook(api: BotState, params: Params) -> bool:
    if params.boolean("drop_pending_updates"):
        api._updates.waiting.clear()
    api.webhook = {}
    return True


@_bot_method("getWebhookInfo")
async def _get_webhook_info(api: BotState, params: Params) -> JSONDict:
    info: JSONDict = {
        "url": api.webhook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": len(api._updates.waiting),
    }
    if info["url"]:
        info["max_connections"] = 40
    return info


@_bot_method("setMyCommands")
async def _set_my_commands(api: BotState, params: Params) -> bool:
    commands = params.json("commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND_NAME.match(str(command.get("command"))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description") or "")) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    key = commands_key(params.json("scope"), params.text("language_code") or "")
    api.commands[key] = [
        {"command": command["command"], "description": command["description"]}
        for command in commands
    ]
    return True


@_bot_method("getMyCommands")
async def _get_my_commands(api: BotState, params: Params) -> list[JSONDict]:
    key = commands_key(params.json("scope"), params.text("language_code") or "")
    return list(api.commands.get(key, []))


@_bot_method("deleteMyCommands")
async def _delete_my_commands(api: BotState, params: Params) -> bool:
    api.commands.pop(commands_key(params.json("scope"), params.text("language_code") or ""), None)
    return True


@_bot_method("sendMessage")
async def _send_message(api: BotState, params: Params) -> JSONDict:
    chat = api._directory.resolve(params.chat_id(), sending=True)
    raw_text, parse_mode = params.text("text"), params.text("parse_mode")
    text, entities = messages.check_text(api, raw_text, parse_mode)
    fields: JSONDict = {"text": text}
    if entities:
        fields["entities"] = entities
    record = SentMessage(
        method="sendMessage",
        chat_id=chat.id,
        message_id=0,
        text=raw_text,
        parse_mode=parse_mode,
        reply_markup=messages.reply_markup(params),
        params=dict(params.values),
    )
    return await messages.create_message(api, params, chat, fields, record)


@_bot_method("sendDocument")
async def _send_document(api: BotState, params: Params) -> JSONDict:
    chat = api._directory.resolve(params.chat_id(), sending=True)
    raw_caption, parse_mode = params.text("caption"), params.text("parse_mode")
    caption, entities = messages.check_text(api, raw_caption, parse_mode, caption=True)
    stored = messages.document_upload(api, params)
    fields: JSONDict = {"document": stored.document_json()}
    if caption:
        fields["caption"] = caption
    if entities:
        fields["caption_entities"] = entities
    record = SentMessage(
        method="sendDocument",
        chat_id=chat.id,
        message_id=0,
        text=raw_caption,
        parse_mode=parse_mode,
        reply_markup=messages.reply_markup(params),
        document=stored.content,
        document_filename=stored.file_name,
        params=dict(params.values),
    )
    return await messages.create_message(api, params, chat, fields, record)


@_bot_method("editMessageText")
async def _edit_message_text(api: BotState, params: Params) -> JSONDict:
    _, message = messages.message_to_edit(api, params)
    if "text" not in message:
        raise bad_request("there is no text in the message to edit")
    text, entities = messages.check_text(api, params.text("text"), params.text("parse_mode"))
    # Without reply_markup, Telegram removes the message's inline keyboard.
    changes = {
        "text": text,
        "entities": entities or None,
        "reply_markup": messages.inline_markup(params),
    }
    return await messages.apply_edit(api, "editMessageText", params, message, changes)


@_bot_method("editMessageReplyMarkup")
async def _edit_message_reply_markup(api: BotState, params: Params) -> JSONDict:
    _, message = messages.message_to_edit(api, params)
    changes = {"reply_markup": messages.inline_markup(params)}
    return await messages.apply_edit(api, "editMessageReplyMarkup", params, message, changes)


@_bot_method("deleteMessage")
async def _delete_message(api: BotState, params: Params) -> bool:
    chat = api._directory.resolve(params.chat_id(), sending=True)
    message_id = params.integer("message_id")
    if message_id is None or api._directory.messages[chat.id].pop(message_id, None) is None:
        raise bad_request("message to delete not found")
    api.deleted.append((chat.id, message_id))
    return True


@_bot_method("answerCallbackQuery")
async def _answer_callback_query(api: BotState, params: Params) -> bool:
    query_id = params.text("callback_query_id") or ""
    query = api._callback_queries.get(query_id)
    if query is None or query.answered:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = params.text("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answered = True
    answer = CallbackAnswer(query_id, text, params.boolean("show_alert"), params.text("url"))
    api.callback_answers.append(answer)
    return True


@_bot_method("answerInlineQuery")
async def _answer_inline_query(api: BotState, params: Params) -> bool:
    api.inline_answers.append(answer_inline_query(api, params))
    return True


@_bot_method("sendChatAction")
async def _send_chat_action(api: BotState, params: Params) -> bool:
    chat = api._directory.resolve(params.chat_id(), sending=True)
    action = params.text("action") or ""
    if action not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    api.chat_actions.append((chat.id, action))
    return True


@_bot_method("getChat")
async def _get_chat(api: BotState, params: Params) -> JSONDict:
    chat = api._directory.resolve(params.chat_id(), sending=False)
    gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
    return {
        **api._directory.chat_json(chat),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {name: False for name in (*gifts, "gifts_from_channels")},
    }


@_bot_method("getChatMember")
async def _get_chat_member(api: BotState, params: Params) -> JSONDict:
    """A user's status in a chat; the bot may ask about itself even where it is not."""
    user_id = params.integer("user_id")
    if user_id is None:
        raise bad_request("invalid user_id specified")
    chat = api._directory.resolve(params.chat_id(), sending=user_id != api.bot_user["id"])
    return api._directory.member_json(chat.id, user_id)


@_bot_method("getChatAdministrators")
async def _get_chat_administrators(api: BotState, params: Params) -> list[JSONDict]:
    """The creator first, then the administrators, in the order `set_administrators` got."""
    chat = api._directory.resolve(params.chat_id(), sending=True)
    if chat.type == "private":
        raise bad_request("there are no administrators in the private chat")
    administrators = api._directory.administrators(chat.id)
    return [api._directory.member_json(chat.id, user_id) for user_id in administrators]


@_bot_method("getFile")
async def _get_file(api: BotState, params: Params) -> JSONDict:
    stored = api._files.get(params.text("file_id") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.content) > MAX_DOWNLOAD_BYTES:
        raise bad_request("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.content),
        "file_path": stored.file_path,
    }


@_bot_method("close")
async def _close(api: BotState, params: Params) -> bool:
    return True


@_bot_method("logOut")
async def _log_out(api: BotState, params: Params) -> bool:
    return True
