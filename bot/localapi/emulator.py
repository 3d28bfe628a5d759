"""`LocalBotApi`: the emulator's state, driven from both sides.

The bot talks to it over HTTP (server.py), which calls `call`; tests and the demo play
the people, look at what the bot did and make Telegram misbehave.
"""

import asyncio
import copy
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.localapi.errors import BotApiError, default_description, not_found
from bot.localapi.html import command_entities
from bot.localapi.inline import new_inline_query
from bot.localapi.methods import find_method
from bot.localapi.params import Params
from bot.localapi.records import (
    CallbackQuery,
    Chat,
    FailedCall,
    InlineAnswer,
    JSONDict,
    SentMessage,
    UploadedFile,
    User,
)
from bot.localapi.state import BotState, Fault, commands_key


class LocalBotApi(BotState):
    """One bot's view of Telegram, driven from both sides.

    The bot talks to it over HTTP (see `serve_local_api`); tests and the demo play the
    people (`user_sends`, `user_edits`, `user_presses`, `user_sends_document`, `block`,
    `unblock`, `add_to_group`, `remove_from_group`, `set_administrators`), look at what the
    bot did (`sent`, `messages_to`, `calls`, `wait_for_messages`, `on_send`) and inject faults
    (`fail_next`, `migrate`, `rate_limit`, `latency`).
    """

    # ---- the user side --------------------------------------------------------------------

    def register_user(self, user: User) -> None:
        """Make `user` known (done by every user_* method)."""
        self._directory.register_user(user)

    def register_chat(self, chat: Chat) -> None:
        """Make `chat` known, so the bot may send to it (done by every user_* method)."""
        self._directory.register_chat(chat)

    async def user_sends(
        self, user: User, chat: Chat | None, text: str, *, reply_to: SentMessage | None = None
    ) -> JSONDict:
        """`user` writes `text` in `chat` (their private chat if None); returns the update.

        Commands get their bot_command entities as a Telegram client adds them. The new
        message's id is `update["message"]["message_id"]`; `user_edits` takes the update itself.
        """
        message = self._user_message(user, chat)
        message["text"] = text
        if entities := command_entities(text):
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = self._require_message(
                reply_to.chat_id, reply_to.message_id
            )
        return self._updates.enqueue({"message": self._directory.store_message(message)})

    async def user_edits(
        self,
        user: User,
        chat: Chat | None,
        message_id: int | Mapping[str, Any],
        new_text: str,
    ) -> JSONDict:
        """`user` edits a text message they sent in `chat` (their private chat if None).

        `message_id` is the message's id or the update `user_sends` returned. The bot gets an
        `edited_message` update: the same message id and date, the new text with its
        bot_command entities found afresh, and an `edit_date`. Returns the update.
        """
        chat = chat or user.private_chat
        if isinstance(message_id, Mapping):
            message_id = int(message_id.get("message", message_id)["message_id"])
        self._directory.require_bot_in(chat)
        message = self._directory.messages.get(chat.id, {}).get(message_id)
        if message is None:
            raise LookupError(f"no message {message_id} in chat {chat.id}")
        if message["from"].get("id") != user.id or "text" not in message:
            raise ValueError(f"message {message_id} is not a text {user.first_name} sent")
        message["text"] = new_text
        message.pop("entities", None)
        if entities := command_entities(new_text):
            message["entities"] = entities
        message["edit_date"] = int(time.time())
        return self._updates.enqueue({"edited_message": copy.deepcopy(message)})

    async def user_sends_document(
        self,
        user: User,
        chat: Chat | None,
        filename: str,
        content: bytes,
        caption: str | None = None,
        *,
        mime_type: str | None = None,
    ) -> JSONDict:
        """`user` sends a file to `chat`; the bot can fetch it with getFile. Returns the update."""
        message = self._user_message(user, chat)
        stored = self._store_file(filename, content, mime_type)
        message["document"] = stored.document_json()
        if caption is not None:
            message["caption"] = caption
            if entities := command_entities(caption):
                message["caption_entities"] = entities
        return self._updates.enqueue({"message": self._directory.store_message(message)})

    async def user_presses(
        self,
        user: User,
        message: SentMessage | Mapping[str, Any],
        callback_data: str,
        *,
        check_button: bool = True,
    ) -> JSONDict:
        """`user` presses the button with `callback_data` under a bot message; returns the update.

        `message` is a `SentMessage` or a Bot API Message object. With `check_button=False`
        the data need not be on the message: a forged press, as a modified client can make.
        """
        if isinstance(message, SentMessage):
            chat_id, message_id = message.chat_id, message.message_id
        else:
            chat_id, message_id = int(message["chat"]["id"]), int(message["message_id"])
        current = self.message(chat_id, message_id)
        if current is None:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        if check_button:
            rows = (current.get("reply_markup") or {}).get("inline_keyboard") or []
            offered = [button.get("callback_data") for row in rows for button in row]
            if callback_data not in offered:
                raise ValueError(
                    f"message {message_id} has no button {callback_data!r}: {offered}"
                )
        self._directory.add_member(chat_id, user)
        query_id = str(self._next_counter() + 4_000_000_000_000_000_000)
        self._callback_queries[query_id] = CallbackQuery(user_id=user.id)
        query = {
            "id": query_id,
            "from": user.to_json(),
            "message": current,
            "chat_instance": str(abs(chat_id) * 7 + 1_000_003),
            "data": callback_data,
        }
        return self._updates.enqueue({"callback_query": query})

    async def user_sends_inline_query(self, user: User, query: str, *, offset: str = "") -> str:
        """`user` types `@bot query` in some chat (which the bot is not told); returns the
        query's id, to find the bot's answer with `inline_answer`."""
        self._directory.register_user(user)
        query_id = str(self._next_counter() + 5_000_000_000_000_000_000)
        new_inline_query(self, user.id, query_id)
        inline = {"id": query_id, "from": user.to_json(), "query": query, "offset": offset}
        self._updates.enqueue({"inline_query": inline})
        return query_id

    # ---- observing the bot ----------------------------------------------------------------

    async def inline_answer(
        self,
        query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109  (as wait_for_messages)
    ) -> InlineAnswer:
        """Wait for the bot's answer to inline query `query_id`; TimeoutError if none comes."""
        await self.wait_until(
            lambda: any(a.inline_query_id == query_id for a in self.inline_answers), timeout
        )
        return next(a for a in self.inline_answers if a.inline_query_id == query_id)

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Every message the bot sent to `chat_id`, in order (edits are in `edits`)."""
        return [record for record in self.sent if record.chat_id == chat_id]

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """A message as it stands now (after edits) as a Bot API object; None if deleted."""
        return self._directory.message(chat_id, message_id)

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates the bot has not confirmed yet."""
        return copy.deepcopy(self._updates.waiting)

    def commands_for(
        self, *, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        """The command menu set for `scope` (default scope if None) and `language_code`."""
        return list(self.commands.get(commands_key(scope, language_code), []))

    async def wait_until(self, condition: Callable[[], bool], seconds: float = 5.0) -> None:
        """Wait until `condition()` holds; it is checked after each call the bot makes.

        Raises TimeoutError after `seconds`.
        """
        deadline = asyncio.get_running_loop().time() + seconds
        while not condition():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {seconds} s")
            await self._state_changed.wait(remaining)

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109  (the name is the emulator's contract)
    ) -> list[SentMessage]:
        """Wait until the bot has sent `count` messages to `chat_id`; returns them all.

        Raises TimeoutError, naming what did arrive, if they do not come within `timeout`.
        """
        try:
            await self.wait_until(lambda: len(self.messages_to(chat_id)) >= count, timeout)
        except TimeoutError:
            texts = [record.text for record in self.messages_to(chat_id)]
            raise TimeoutError(
                f"expected {count} messages to chat {chat_id} within {timeout} s, got {texts}"
            ) from None
        return self.messages_to(chat_id)

    # ---- making Telegram misbehave ---------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` (to `chat_id`, if given) fail like this.

        The description defaults to Telegram's wording for the code (or for `retry_after`,
        `migrate_to_chat_id`); those two go into the error's `parameters` as Telegram does.
        """
        spec = find_method(method)
        if spec is None:
            raise ValueError(f"unknown Bot API method {method!r}")
        parameters: JSONDict = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        if description is None:
            description = default_description(
                error_code, retry_after, migrated=migrate_to_chat_id is not None
            )
        error = BotApiError(error_code, description, parameters)
        self._faults.append(Fault(spec.name, chat_id, error, times))

    def block(self, chat_id: int, *, tell_bot: bool = True) -> JSONDict | None:
        """The user of private chat `chat_id` blocks the bot: sends there fail 403.

        With `tell_bot`, the bot gets the `my_chat_member` update Telegram sends (its status
        member → kicked), which is returned; without, it learns only from a failed send.
        Nothing happens if the bot is blocked already. Without `tell_bot`, a group's id is
        allowed too (the bot was kicked); to tell the bot, use `remove_from_group`.
        """
        return self._directory.set_private_bot_status(chat_id, "kicked", tell_bot=tell_bot)

    def unblock(self, chat_id: int, *, tell_bot: bool = True) -> JSONDict | None:
        """Undo `block`: the bot's status goes kicked → member, with the update if `tell_bot`.

        (A user who writes to the bot unblocks it too, silently: call this first to have
        Telegram tell the bot, as a client's "Restart" does.)
        """
        return self._directory.set_private_bot_status(chat_id, "member", tell_bot=tell_bot)

    def add_to_group(self, chat: Chat, *, by: User) -> JSONDict:
        """`by` adds the bot to group `chat`: its status left (or kicked) → member.

        The bot gets the `my_chat_member` update, which is returned; `by` becomes a member.
        """
        return self._directory.add_bot(chat, by)

    def remove_from_group(self, chat: Chat, *, by: User) -> JSONDict:
        """`by` removes the bot from group `chat`; sends there fail 403 afterwards.

        As at Telegram, removal from a supergroup bans the bot (status kicked) and from a
        basic group leaves it out (status left). Returns the `my_chat_member` update.
        """
        return self._directory.remove_bot(chat, by)

    def set_administrators(
        self, chat_id: int, user_ids: Iterable[int], creator: int | None = None
    ) -> None:
        """Who runs group `chat_id`: `creator` (the owner) and the administrators `user_ids`.

        getChatMember and getChatAdministrators answer from this; the bot's own id among
        `user_ids` makes the bot an administrator. It replaces what was set before, and no
        update is sent. Anyone else who wrote in the chat is a plain member.
        """
        self._directory.set_administrators(chat_id, user_ids, creator)

    def migrate(self, chat_id: int, new_chat_id: int) -> Chat:
        """A group becomes a supergroup: sends to `chat_id` fail with migrate_to_chat_id."""
        return self._directory.migrate(chat_id, new_chat_id)

    def rate_limit(
        self,
        per_second: float | None = 30.0,
        *,
        per_chat_per_second: float | None = None,
        per_group_per_minute: float | None = None,
    ) -> None:
        """Answer 429 with retry_after to sends beyond these rates (None: no limit).

        Each is a sliding window over the messages the bot created (sendMessage and
        sendDocument): overall, per chat, and per group or supergroup.
        """
        self._limits.configure(per_second, per_chat_per_second, per_group_per_minute)

    # ---- calls ---------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, UploadedFile] | None = None,
    ) -> Any:
        """Run one Bot API method as the HTTP endpoint does; raises BotApiError on failure."""
        spec = find_method(method)
        if spec is None:
            self.calls[method] += 1
            raise not_found()
        self.calls[spec.name] += 1
        args = Params(params or {}, files or {})
        try:
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            self._raise_injected_fault(spec.name, args)
            result = await spec.handler(self, args)
        except BotApiError as error:
            self.failed.append(
                FailedCall(
                    spec.name,
                    args.loose_chat_id(),
                    error.error_code,
                    error.description,
                    time.monotonic(),
                )
            )
            self._state_changed.fire()
            raise
        self._state_changed.fire()
        return result

    def _raise_injected_fault(self, method: str, params: Params) -> None:
        chat_id = params.loose_chat_id()
        for fault in self._faults:
            if fault.method == method and fault.chat_id in (None, chat_id):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                raise BotApiError(
                    fault.error.error_code, fault.error.description, dict(fault.error.parameters)
                )

    # ---- internals -------------------------------------------------------------------------

    def _user_message(self, user: User, chat: Chat | None) -> JSONDict:
        chat = chat or user.private_chat
        directory = self._directory
        if chat.id in directory.migrated:
            raise ValueError(f"chat {chat.id} became supergroup {directory.migrated[chat.id]}")
        if chat.type == "private":
            if chat.id != user.id:
                raise ValueError("a private chat's id is its user's id")
            directory.unblock_silently(chat.id)  # writing to a bot you blocked unblocks it
        directory.require_bot_in(chat)
        directory.register_chat(chat)
        directory.add_member(chat.id, user)
        return {
            "message_id": directory.next_message_id(chat.id),
            "from": user.to_json(),
            "chat": directory.chat_json(chat),
            "date": int(time.time()),
        }

    def _require_message(self, chat_id: int, message_id: int) -> JSONDict:
        stored = self.message(chat_id, message_id)
        if stored is None:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        stored.pop("reply_to_message", None)
        return stored
