"""Bot messages as the send and edit methods make them.

Text and markup are validated as Telegram does; a message is stored in its chat, recorded
for the tests and announced to the on_send hooks.
"""

import copy
import time

from bot.localapi.errors import bad_request
from bot.localapi.files import StoredFile
from bot.localapi.html import EntityError, parse_html
from bot.localapi.params import Params
from bot.localapi.records import Chat, JSONDict, SentMessage
from bot.localapi.state import BotState

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64


def check_text(
    api: BotState, text: str | None, parse_mode: str | None, *, caption: bool = False
) -> tuple[str, list[JSONDict]]:
    """The visible text and entities of a message text or caption, validated as Telegram does."""
    text = text or ""
    entities: list[JSONDict] = []
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            text, entities = parse_html(text, strict=api.strict_html)
        except EntityError as error:
            raise bad_request(f"can't parse entities: {error}") from None
    elif mode not in ("", "markdown", "markdownv2"):
        raise bad_request("unsupported parse_mode")
    if caption:
        if len(text) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
    elif not text.strip():
        raise bad_request("message text is empty")
    elif len(text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return text, entities


def reply_markup(params: Params) -> JSONDict | None:
    if not params.has("reply_markup"):
        return None
    markup = params.json("reply_markup")
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            data = button.get("callback_data")
            too_long = data is not None and len(str(data).encode()) > MAX_CALLBACK_DATA_BYTES
            if too_long or data == "":
                raise bad_request("BUTTON_DATA_INVALID")
    return markup


def _reply_target(api: BotState, chat_id: int, params: Params) -> JSONDict | None:
    """The message a send replies to, if any; Telegram's error if it does not exist."""
    reply = params.json("reply_parameters")
    if isinstance(reply, dict):
        message_id, allow_missing = (
            reply.get("message_id"),
            bool(reply.get("allow_sending_without_reply")),
        )
    else:
        message_id = params.integer("reply_to_message_id")
        allow_missing = params.boolean("allow_sending_without_reply")
    if message_id is None:
        return None
    target = api._directory.message(chat_id, int(message_id))
    if target is None and not allow_missing:
        raise bad_request("message to be replied not found")
    if target is not None:
        target.pop("reply_to_message", None)
    return target


async def create_message(
    api: BotState, params: Params, chat: Chat, fields: JSONDict, record: SentMessage
) -> JSONDict:
    """Store a new bot message in `chat`, record the send and tell the on_send hooks."""
    target = _reply_target(api, chat.id, params)
    api._limits.take_send_slot(chat)
    message: JSONDict = {
        "message_id": api._directory.next_message_id(chat.id),
        "from": dict(api.bot_user),
        "chat": api._directory.chat_json(chat),
        "date": int(time.time()),
        **fields,
    }
    if target is not None:
        message["reply_to_message"] = target
    markup = record.reply_markup
    if markup and "inline_keyboard" in markup:  # only inline keyboards belong to the message
        message["reply_markup"] = markup
    result = api._directory.store_message(message)
    record.message_id = message["message_id"]
    api.sent.append(record)
    await api._announce(record)
    return result


def document_upload(api: BotState, params: Params) -> StoredFile:
    """The file a sendDocument call carries: uploaded, attach://-referenced or a file_id."""
    upload = params.files.get("document")
    reference = params.text("document") or ""
    if upload is None and reference.startswith("attach://"):
        upload = params.files.get(reference.removeprefix("attach://"))
    if upload is not None:
        return api._store_file(upload.filename, upload.content, upload.mime_type)
    if not reference:
        raise bad_request("there is no document in the request")
    if reference.startswith(("http://", "https://")):
        raise bad_request("failed to get HTTP URL content")  # no network here
    known = api._files.get(reference)
    if known is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    return known


def message_to_edit(api: BotState, params: Params) -> tuple[Chat, JSONDict]:
    if params.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")  # no inline mode here
    chat = api._directory.resolve(params.chat_id(), sending=True)
    message_id = params.integer("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    message = api._directory.messages[chat.id].get(message_id)
    if message is None:
        raise bad_request("message to edit not found")
    if message["from"].get("id") != api.bot_user["id"]:
        raise bad_request("message can't be edited")
    return chat, message


async def apply_edit(
    api: BotState, method: str, params: Params, message: JSONDict, changes: JSONDict
) -> JSONDict:
    """Change a stored bot message, refusing an edit that changes nothing, as Telegram does."""
    if all(message.get(key) == value for key, value in changes.items()):
        raise bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    message["edit_date"] = int(time.time())
    record = SentMessage(
        method=method,
        chat_id=message["chat"]["id"],
        message_id=message["message_id"],
        text=params.text("text"),
        parse_mode=params.text("parse_mode"),
        reply_markup=changes.get("reply_markup"),
        params=dict(params.values),
    )
    api.edits.append(record)
    await api._announce(record)
    return copy.deepcopy(message)


def inline_markup(params: Params) -> JSONDict | None:
    markup = reply_markup(params)
    return markup if markup and "inline_keyboard" in markup else None
