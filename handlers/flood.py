"""The flood guard: past a per-user limit of commands a minute, one "slow down", then nothing.

It runs in the earliest handler group and stops an update over the limit there, so one
person who sends sixty commands gets twenty answers and one short line, and costs the bot
no more. A button pressed over the limit is answered (Telegram's client waits for that)
with the same short line, and not acted on. Editors are not limited: a monitor entering a
court day's hearings may well send more than twenty commands in a minute (their role is
looked up only once they are past the limit).
"""

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from handlers.context import CaseContext, language
from handlers.conversation import addressed_to_bot
from handlers.guards import is_editor
from handlers.i18n import t
from handlers.replies import reply
from storage.engine import session_scope

COMMANDS_PER_MINUTE = 20
WINDOW_SECONDS = 60.0
# Users remembered before those idle for a whole window are forgotten.
FORGET_ABOVE = 10_000


class Admission(Enum):
    ACT = "act"  # under the limit: handle it
    WARN = "warn"  # over the limit, first time this window: say "slow down"
    IGNORE = "ignore"  # over the limit, already told


@dataclass
class _Recent:
    """One user's recent commands: when each was acted on, and when they were last warned."""

    acted: deque[float] = field(default_factory=deque)
    warned_at: float | None = None
    # Whether they are an editor (not limited), as looked up at `role_seen_at`.
    editor: bool = False
    role_seen_at: float | None = None


class FloodLimit:
    """A sliding window of the commands acted on, per user.

    Only commands acted on count, so a flooder is back as soon as the oldest of them is a
    window old; a warning is given at most once a window, however long the flood lasts.
    Memory: the users with a command in the last window (idle ones are forgotten once more
    than FORGET_ABOVE are remembered), each with at most `limit` times.
    """

    def __init__(
        self,
        limit: int = COMMANDS_PER_MINUTE,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._users: dict[int, _Recent] = {}
        self._forget_above = FORGET_ABOVE

    def admit(self, user_id: int) -> Admission:
        """Whether to act on this user's command now."""
        now = self._clock()
        recent = self._users.get(user_id)
        if recent is None:
            if len(self._users) >= self._forget_above:
                self._forget_idle(now)
            recent = self._users[user_id] = _Recent()
        while recent.acted and recent.acted[0] <= now - self.window:
            recent.acted.popleft()
        if len(recent.acted) < self.limit:
            recent.acted.append(now)
            return Admission.ACT
        if recent.warned_at is not None and recent.warned_at > now - self.window:
            return Admission.IGNORE
        recent.warned_at = now
        return Admission.WARN

    def _forget_idle(self, now: float) -> None:
        """Drop users with nothing in the last window (they would be admitted afresh anyway)."""
        since = now - self.window
        self._users = {
            user_id: recent
            for user_id, recent in self._users.items()
            if (recent.acted and recent.acted[-1] > since)
            or (recent.warned_at is not None and recent.warned_at > since)
        }
        # Twice what is left: forgetting stays rare however many users are active.
        self._forget_above = max(FORGET_ABOVE, 2 * len(self._users))

    async def _is_editor(self, user_id: int, update: Update, context: CaseContext) -> bool:
        """Whether a user past the limit is an editor: looked up once a window, so a flood
        costs one query, not one per ignored update."""
        recent, now = self._users[user_id], self._clock()
        if recent.role_seen_at is None or recent.role_seen_at <= now - self.window:
            async with session_scope(context.services.engine) as session:
                recent.editor = await is_editor(session, update)
            recent.role_seen_at = now
        return recent.editor

    async def guard(self, update: Update, context: CaseContext) -> None:
        """Stop a command over the sender's limit here: one "slow down", then silence."""
        user = update.effective_user
        if user is None or not _asks_the_bot(update, context):
            return
        admission = self.admit(user.id)
        if admission is Admission.ACT or await self._is_editor(user.id, update, context):
            return
        text = t(language(update), "flood.slow_down")
        if update.callback_query is not None:
            await update.callback_query.answer(text)
        elif admission is Admission.WARN:
            await reply(update, text)
        raise ApplicationHandlerStop


def _asks_the_bot(update: Update, context: CaseContext) -> bool:
    """Whether the bot would answer this update: what counts against the limit."""
    if update.callback_query is not None:
        return True
    message = update.message or update.edited_message
    if message is None:
        return False
    if message.chat.type == message.chat.PRIVATE:
        return True
    # In a group the bot answers new commands, and text addressed to it; never an edit.
    return message is update.message and (
        (message.text or "").startswith("/") or addressed_to_bot(message, context.bot)
    )
