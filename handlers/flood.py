"""Per-user limits: past a sliding window's limit, one short answer, then nothing.

Two guards share this mechanism (`FloodLimit`), each in an early handler group of its own,
stopping an update over the limit there, so one person who floods costs the bot no more:

- the command flood guard: twenty commands a minute, then one "slow down";
- the lookup limit (`lookup_limit`): people looked up by name or id — /find, /person,
  /history, /hearings, plain text, /start links, /subscribe, /unsubscribe and /calendar
  naming someone, the card, history, hearings and calendar buttons, inline queries — at
  most thirty a minute and two hundred an hour (LOOKUPS_PER_MINUTE, LOOKUPS_PER_HOUR), then
  one "too many lookups, try again in N minutes", so that nobody can walk through the
  records of people at risk.

A button pressed over a limit is answered (Telegram's client waits for that) with the same
short line, and not acted on; an inline query over it gets no results. Editors are not
limited: a monitor entering a court day's hearings may well send more than twenty commands
in a minute, and they see every record anyway (their role is looked up only once they are
past a limit).
"""

import math
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from handlers.context import CaseContext, language
from handlers.conversation import addressed_to_bot
from handlers.guards import is_editor
from handlers.i18n import t
from handlers.replies import CALENDAR, CARD, HEARINGS, HISTORY, reply
from storage.engine import session_scope

COMMANDS_PER_MINUTE = 20
WINDOW_SECONDS = 60.0
HOUR_SECONDS = 3600.0
# Users remembered before those idle for a whole window are forgotten.
FORGET_ABOVE = 10_000
# Commands that look people up; and those that do when they name someone (`/start p12`,
# `/subscribe #12`, `/calendar Qaisha`: each shows who a name or an id is).
LOOKUP_COMMANDS = frozenset({"find", "person", "history", "hearings"})
NAMING_COMMANDS = frozenset({"start", "subscribe", "unsubscribe", "calendar"})
LOOKUP_BUTTONS = frozenset({CARD, HISTORY, HEARINGS, CALENDAR})


class Admission(Enum):
    ACT = "act"  # under the limit: handle it
    WARN = "warn"  # over the limit, first time this window: say "slow down"
    IGNORE = "ignore"  # over the limit, already told


@dataclass(frozen=True)
class Window:
    """At most `limit` updates acted on in any `seconds`."""

    limit: int
    seconds: float


@dataclass
class _Recent:
    """One user's recent updates: when each was acted on, and when they were last warned
    of each window."""

    acted: deque[float] = field(default_factory=deque)
    warned_at: dict[Window, float] = field(default_factory=dict)
    # Whether they are an editor (not limited), as looked up at `role_seen_at`.
    editor: bool = False
    role_seen_at: float | None = None


Counts = Callable[[Update, CaseContext], bool]
WarningText = Callable[[str, float], str]  # the language and the seconds until the window frees


class FloodLimit:
    """Sliding windows of the updates acted on, per user.

    Only updates acted on count, so a flooder is back as soon as the oldest of them is a
    window old; a warning is given at most once a window, however long the flood lasts.
    Memory: the users with an update in the longest window (idle ones are forgotten once
    more than FORGET_ABOVE are remembered), each with at most the longest window's limit
    of times.
    """

    def __init__(
        self,
        limit: int = COMMANDS_PER_MINUTE,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        *,
        also: Sequence[Window] = (),
        counts: Counts | None = None,
        warning: WarningText | None = None,
    ) -> None:
        self.windows = sorted([Window(limit, window), *also], key=lambda w: w.seconds)
        self.window = self.windows[-1].seconds
        self._clock = clock
        self._counts = counts or asks_the_bot
        self._warning = warning or _slow_down
        self._users: dict[int, _Recent] = {}
        self._forget_above = FORGET_ABOVE

    def admit(self, user_id: int) -> Admission:
        """Whether to act on this user's update now."""
        now = self._clock()
        recent = self._users.get(user_id)
        if recent is None:
            if len(self._users) >= self._forget_above:
                self._forget_idle(now)
            recent = self._users[user_id] = _Recent()
        while recent.acted and recent.acted[0] <= now - self.window:
            recent.acted.popleft()
        full = [window for window in self.windows if self._in(recent, window, now) >= window.limit]
        if not full:
            recent.acted.append(now)
            return Admission.ACT
        if any(recent.warned_at.get(w, -math.inf) > now - w.seconds for w in full):
            return Admission.IGNORE
        for window in full:
            recent.warned_at[window] = now
        return Admission.WARN

    def wait_seconds(self, user_id: int) -> float:
        """How long until this user's next update is acted on (0 if it would be now)."""
        now, recent = self._clock(), self._users.get(user_id)
        if recent is None:
            return 0.0
        waits = [
            recent.acted[-window.limit] + window.seconds - now
            for window in self.windows
            if self._in(recent, window, now) >= window.limit
        ]
        return max([0.0, *waits])

    @staticmethod
    def _in(recent: _Recent, window: Window, now: float) -> int:
        """How many of the user's updates acted on fall in `window` ending now."""
        return len(recent.acted) - bisect_right(recent.acted, now - window.seconds)

    def _forget_idle(self, now: float) -> None:
        """Drop users with nothing in the last window (they would be admitted afresh anyway)."""
        since = now - self.window
        self._users = {
            user_id: recent
            for user_id, recent in self._users.items()
            if (recent.acted and recent.acted[-1] > since)
            or any(at > since for at in recent.warned_at.values())
        }
        # Twice what is left: forgetting stays rare however many users are active.
        self._forget_above = max(FORGET_ABOVE, 2 * len(self._users))

    async def _is_editor(self, user_id: int, update: Update, context: CaseContext) -> bool:
        """Whether a user past the limit is an editor: looked up once a (shortest) window, so
        a flood costs one query, not one per ignored update."""
        recent, now = self._users[user_id], self._clock()
        if recent.role_seen_at is None or recent.role_seen_at <= now - self.windows[0].seconds:
            async with session_scope(context.services.engine) as session:
                recent.editor = await is_editor(session, update)
            recent.role_seen_at = now
        return recent.editor

    async def guard(self, update: Update, context: CaseContext) -> None:
        """Stop an update over the sender's limit here: one short answer, then silence."""
        user = update.effective_user
        if user is None or not self._counts(update, context):
            return
        admission = self.admit(user.id)
        if admission is Admission.ACT or await self._is_editor(user.id, update, context):
            return
        text = self._warning(language(update), self.wait_seconds(user.id))
        if update.callback_query is not None:
            await update.callback_query.answer(text)
        elif update.inline_query is not None:
            await update.inline_query.answer([], cache_time=0, is_personal=True)
        elif admission is Admission.WARN:
            await reply(update, text)
        raise ApplicationHandlerStop


def lookup_limit(*, per_minute: int, per_hour: int) -> FloodLimit:
    """The limit on looking people up, per user: `per_minute`, and `per_hour` as well."""
    return FloodLimit(
        per_minute,
        WINDOW_SECONDS,
        also=[Window(per_hour, HOUR_SECONDS)],
        counts=looks_people_up,
        warning=_too_many_lookups,
    )


def _slow_down(lang: str, wait: float) -> str:
    return t(lang, "flood.slow_down")


def _too_many_lookups(lang: str, wait: float) -> str:
    return t(lang, "lookups.too_many", count=max(1, math.ceil(wait / 60)))


def asks_the_bot(update: Update, context: CaseContext) -> bool:
    """Whether the bot would answer this update: what counts against the command limit."""
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


def looks_people_up(update: Update, context: CaseContext) -> bool:
    """Whether this update looks people up: what counts against the lookup limit."""
    if update.inline_query is not None:
        return bool(update.inline_query.query.strip())
    if update.callback_query is not None:
        return (update.callback_query.data or "").partition(":")[0] in LOOKUP_BUTTONS
    message = update.message
    if message is None or not asks_the_bot(update, context):
        return False
    text = message.text or ""
    if not text.startswith("/"):
        return bool(text.strip())  # plain text is a /find
    command, *argument = text.split(maxsplit=1)
    name = command[1:].partition("@")[0].lower()
    return name in LOOKUP_COMMANDS or (name in NAMING_COMMANDS and bool(argument))
