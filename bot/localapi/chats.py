"""Chat state: the people and chats the bot knows, and who is in each chat.

Also the messages in each chat, and whether the bot itself is in it: blocked by a user,
added to or removed from a group, or the group migrated to a supergroup.
"""

import copy
import time
from collections import defaultdict
from collections.abc import Iterable
from http import HTTPStatus
from typing import Literal

from bot.localapi.errors import BotApiError, bad_request, chat_migrated
from bot.localapi.records import Chat, JSONDict, MemberStatus, User
from bot.localapi.updates import UpdateQueue

# What an administrator appointed in a Telegram client may do by default.
_ADMINISTRATOR_RIGHTS: JSONDict = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": True,
    "can_edit_stories": True,
    "can_delete_stories": True,
    "can_pin_messages": True,
    "can_manage_topics": False,
}


def _chat_member_json(status: MemberStatus, user: JSONDict) -> JSONDict:
    """The Bot API `ChatMember` object of each kind, with the fields its kind requires."""
    member: JSONDict = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(_ADMINISTRATOR_RIGHTS)
    elif status == "kicked":
        member["until_date"] = 0  # for ever
    return member


class ChatDirectory:
    """Who and what the bot knows, chat by chat.

    A change of the bot's own membership is told to it through `updates`, as the
    `my_chat_member` update Telegram sends.
    """

    def __init__(self, bot_user: JSONDict, updates: UpdateQueue) -> None:
        self.bot_user = bot_user
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.messages: dict[int, dict[int, JSONDict]] = defaultdict(dict)
        self.migrated: dict[int, int] = {}
        # Chats the bot is not in (any more): blocked by the user, left or removed.
        self._bot_absent: dict[int, Literal["left", "kicked"]] = {}
        self._creators: dict[int, int] = {}
        self._administrators: dict[int, tuple[int, ...]] = {}
        self._members: dict[int, set[int]] = defaultdict(set)
        self._last_message_id: dict[int, int] = defaultdict(int)
        self._updates = updates

    # ---- people and chats ----------------------------------------------------------------

    def register_user(self, user: User) -> None:
        self.users[user.id] = user

    def register_chat(self, chat: Chat) -> None:
        if chat.type == "private" and chat.id < 0:
            raise ValueError("a private chat's id is its user's id, a positive number")
        self.chats[chat.id] = chat

    def add_member(self, chat_id: int, user: User) -> None:
        """`user` is in the chat (they wrote there or pressed a button)."""
        self.register_user(user)
        self._members[chat_id].add(user.id)

    def user(self, user_id: int) -> User:
        """A known user, or a stand-in for one the emulator has only heard the id of."""
        return self.users.get(user_id) or User(user_id, f"User {user_id}")

    def user_json(self, user_id: int) -> JSONDict:
        if user_id == self.bot_user["id"]:
            return dict(self.bot_user)
        return self.user(user_id).to_json()

    def chat_json(self, chat: Chat) -> JSONDict:
        data: JSONDict = {"id": chat.id, "type": chat.type}
        if chat.type == "private":
            user = self.users.get(chat.id)
            data["first_name"] = user.first_name if user else f"User {chat.id}"
            if user and user.username:
                data["username"] = user.username
        else:
            data["title"] = chat.title or f"Chat {chat.id}"
        return data

    def resolve(self, chat_id: int, *, sending: bool) -> Chat:
        """The chat the bot addresses, or Telegram's error for why it cannot.

        `sending` means the bot must be in the chat (not blocked, left or kicked).
        """
        if chat_id in self.migrated:
            raise chat_migrated(self.migrated[chat_id])
        chat = self.chats.get(chat_id)
        if sending and (absent := self._absence_error(chat_id, chat)) is not None:
            raise absent
        if chat is None:
            if sending and chat_id in self.users:
                raise BotApiError(
                    HTTPStatus.FORBIDDEN, "Forbidden: bot can't initiate conversation with a user"
                )
            raise bad_request("chat not found")
        return chat

    def migrate(self, chat_id: int, new_chat_id: int) -> Chat:
        old = self.chats.get(chat_id)
        new_chat = Chat(new_chat_id, "supergroup", old.title if old else None)
        self.migrated[chat_id] = new_chat_id
        self.chats[new_chat_id] = new_chat
        return new_chat

    # ---- members ---------------------------------------------------------------------------

    def set_administrators(
        self, chat_id: int, user_ids: Iterable[int], creator: int | None
    ) -> None:
        if chat_id >= 0:
            raise ValueError("only a group (a negative chat id) has administrators")
        self._administrators[chat_id] = tuple(dict.fromkeys(user_ids))
        if creator is None:
            self._creators.pop(chat_id, None)
        else:
            self._creators[chat_id] = creator

    def administrators(self, chat_id: int) -> list[int]:
        """The creator first, then the administrators, in the order they were set."""
        creator = self._creators.get(chat_id)
        user_ids = [
            *([creator] if creator is not None else []),
            *self._administrators.get(chat_id, ()),
        ]
        return list(dict.fromkeys(user_ids))

    def member_json(self, chat_id: int, user_id: int) -> JSONDict:
        """getChatMember's answer: the user's `ChatMember` object in the chat."""
        return _chat_member_json(self.member_status(chat_id, user_id), self.user_json(user_id))

    def member_status(self, chat_id: int, user_id: int) -> MemberStatus:
        if user_id == self.bot_user["id"]:
            return self._bot_status(chat_id)
        if self._creators.get(chat_id) == user_id:
            return "creator"
        if user_id in self._administrators.get(chat_id, ()):
            return "administrator"
        return "member" if user_id in self._members.get(chat_id, ()) else "left"

    # ---- the bot's own membership ------------------------------------------------------------

    def set_private_bot_status(
        self, chat_id: int, status: Literal["member", "kicked"], *, tell_bot: bool
    ) -> JSONDict | None:
        """Block (kicked) or unblock (member) the bot in a private chat, as its user does."""
        chat = self.chats.get(chat_id) or Chat(chat_id, "private")
        if tell_bot and chat.type != "private":
            raise ValueError("a group removes or adds the bot: use remove_from_group/add_to_group")
        old: MemberStatus = self._bot_absent.get(chat_id, "member")  # private: no "left"
        if old == status:
            return None
        if status == "kicked":
            self._bot_absent[chat_id] = "kicked"
        else:
            self._bot_absent.pop(chat_id, None)
        if not tell_bot:
            return None
        return self._tell_bot_status(chat, self.user(chat_id), old)

    def unblock_silently(self, chat_id: int) -> None:
        """A user writing to a bot they blocked unblocks it, and Telegram sends no update."""
        self._bot_absent.pop(chat_id, None)

    def add_bot(self, chat: Chat, by: User) -> JSONDict:
        if chat.type not in ("group", "supergroup"):
            raise ValueError("only a group or supergroup can add the bot")
        if chat.id in self.migrated:
            raise ValueError(f"chat {chat.id} became supergroup {self.migrated[chat.id]}")
        old = self._bot_status(chat.id)
        if old in ("member", "administrator"):
            raise ValueError(f"the bot is in chat {chat.id} already")
        self.register_chat(chat)
        self.add_member(chat.id, by)
        self._bot_absent.pop(chat.id, None)
        return self._tell_bot_status(chat, by, old)

    def remove_bot(self, chat: Chat, by: User) -> JSONDict:
        if chat.type not in ("group", "supergroup"):
            raise ValueError("the bot is removed from a group or supergroup; use block()")
        old = self._bot_status(chat.id)
        if old not in ("member", "administrator"):
            raise ValueError(f"the bot is not in chat {chat.id}")
        self.register_user(by)
        self._bot_absent[chat.id] = "kicked" if chat.type == "supergroup" else "left"
        return self._tell_bot_status(chat, by, old)

    def require_bot_in(self, chat: Chat) -> None:
        """A group the bot is not in sends it nothing: refuse to play a user there."""
        if chat.type != "private" and chat.id in self._bot_absent:
            raise ValueError(f"the bot is not in chat {chat.id}; add_to_group() first")

    def _bot_status(self, chat_id: int) -> MemberStatus:
        if chat_id in self._bot_absent:
            return self._bot_absent[chat_id]
        if chat_id not in self.chats:
            return "left"
        if self.bot_user["id"] in self._administrators.get(chat_id, ()):
            return "administrator"
        return "member"

    def _tell_bot_status(self, chat: Chat, by: User, old: MemberStatus) -> JSONDict:
        """Queue the `my_chat_member` update for a change of the bot's status in `chat`."""
        bot = dict(self.bot_user)
        change = {
            "chat": self.chat_json(chat),
            "from": by.to_json(),
            "date": int(time.time()),
            "old_chat_member": _chat_member_json(old, bot),
            "new_chat_member": _chat_member_json(self._bot_status(chat.id), bot),
        }
        return self._updates.enqueue({"my_chat_member": change})

    def _absence_error(self, chat_id: int, chat: Chat | None) -> BotApiError | None:
        """Telegram's 403 for a chat the bot is not in (blocked, left, kicked), or None."""
        status = self._bot_absent.get(chat_id)
        if status is None:
            return None
        kind = chat.type if chat else "private"
        if kind == "private":
            reason = "bot was blocked by the user"
        elif status == "kicked":
            reason = f"bot was kicked from the {kind} chat"
        else:
            reason = f"bot is not a member of the {kind} chat"
        return BotApiError(HTTPStatus.FORBIDDEN, f"Forbidden: {reason}")

    # ---- messages --------------------------------------------------------------------------

    def next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def store_message(self, message: JSONDict) -> JSONDict:
        """Keep `message` as it stands now; returns a copy to hand out."""
        self.messages[message["chat"]["id"]][message["message_id"]] = message
        return copy.deepcopy(message)

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """A copy of the message as it stands now; None if deleted or never sent."""
        stored = self.messages.get(chat_id, {}).get(message_id)
        return copy.deepcopy(stored) if stored is not None else None
