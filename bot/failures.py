"""The failure policy: what a failed send means, and what is done about it, on every send path.

Instant pushes, the parts of a long message, digests, reminders (the sender's deliveries) and
the owners' alert summaries all hand their failures here. `decide` sorts any exception, a
Telegram refusal or a bug of ours alike, into a `Decision`; `settle` writes what it means for
the deliveries. Nothing here logs or stores a message's text, or anything with the token in it:
only Telegram's description of the error, or the name of an unexpected exception.

| failure | what happens |
| --- | --- |
| 429 Too Many Requests | all sending waits `retry_after`, then the same send; not a failure |
| 403 blocked, kicked, user deactivated | the chat is deactivated, what it was owed dropped |
| 400 group upgraded to a supergroup | the chat moves to the new id, and is sent to there |
| 400 chat not found | retried with backoff; deactivated at the third attempt |
| 400 can't parse entities | the same text again at once, as plain text |
| 400 message too long, any other 400 | dead at once (the text is split before it is sent) |
| read timeout (Telegram may have it) | tried once more; a second one is taken as delivered |
| 5xx, network errors, other timeouts | retried with jittered exponential backoff |
| anything else (a bug, "database is locked") | retried with jittered exponential backoff |
| still failing 24 hours after it was queued | dead; the owners get it in their next summary |
"""

import logging
import random
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.http import AnswerTimedOut
from bot.pacing import retry_seconds
from handlers.alerts import AlertKind, OwnerAlerts
from storage.engine import session_scope
from storage.models import Chat, utcnow
from storage.outbox import deactivate_chat, mark_dead, migrate_chat, retry_later

log = logging.getLogger(__name__)

GIVE_UP_AFTER = timedelta(hours=24)
MAX_BACKOFF_SECONDS = 3600.0
CHAT_NOT_FOUND_ATTEMPTS = 3
READ_TIMEOUT = "read timeout"


class Action(Enum):
    """What is done after a failed send."""

    SEND_AGAIN = "send_again"  # the same send at once (after `pause`, as plain text if `plain`)
    TAKEN_AS_SENT = "taken_as_sent"  # Telegram most likely has it: a third send risks a copy
    RETRY = "retry"  # later, after `wait`
    MIGRATE = "migrate"  # the chat is now `new_chat_id`: moved there, and sent there
    DEACTIVATE = "deactivate"  # the chat cannot be reached
    DEAD = "dead"  # given up; the owners are told


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str  # safe to log and store: Telegram's description, or the exception's name
    wait: timedelta = timedelta(0)  # RETRY: how long until the next attempt
    pause: float = 0.0  # seconds every send waits first (a 429's retry_after)
    plain: bool = False  # SEND_AGAIN: as plain text
    new_chat_id: int | None = None  # MIGRATE

    @property
    def chat_gone(self) -> bool:
        """Nothing more is sent to this chat id: what it is owed was dropped, or moved."""
        return self.action in (Action.DEACTIVATE, Action.MIGRATE)


@dataclass(frozen=True)
class Attempt:
    """What is known of the delivery that failed."""

    attempts: int  # how many times it has been leased, this one included
    queued_at: datetime
    last_error: str | None = None
    plain: bool = False  # already sent as plain text


def backoff(attempts: int, base: float = 2.0, rng: random.Random | None = None) -> timedelta:
    """`base`, twice that, four times … (at most an hour), each jittered by ±50%."""
    seconds = min(base * 2.0 ** (max(attempts, 1) - 1), MAX_BACKOFF_SECONDS)
    return timedelta(seconds=seconds * (rng or random).uniform(0.5, 1.5))


def decide(
    error: BaseException, attempt: Attempt, *, retry_base: float = 2.0, now: datetime | None = None
) -> Decision:
    """What to do after `error` (any exception) ended a send."""
    reason = error.message if isinstance(error, TelegramError) else type(error).__name__
    if isinstance(error, RetryAfter):
        return Decision(Action.SEND_AGAIN, reason, pause=retry_seconds(error))
    if isinstance(error, Forbidden):
        return Decision(Action.DEACTIVATE, reason)
    if isinstance(error, ChatMigrated):
        return Decision(Action.MIGRATE, reason, new_chat_id=error.new_chat_id)
    if isinstance(error, BadRequest) and "chat not found" in reason.lower():
        if attempt.attempts >= CHAT_NOT_FOUND_ATTEMPTS:
            return Decision(Action.DEACTIVATE, reason)
    elif isinstance(error, BadRequest):
        if "parse entities" in reason.lower() and not attempt.plain:
            return Decision(Action.SEND_AGAIN, reason, plain=True)
        return Decision(Action.DEAD, reason)
    if isinstance(error, AnswerTimedOut):
        if attempt.last_error == READ_TIMEOUT:
            return Decision(Action.TAKEN_AS_SENT, READ_TIMEOUT)
        reason = READ_TIMEOUT
    if (now or utcnow()) - attempt.queued_at > GIVE_UP_AFTER:
        return Decision(Action.DEAD, reason)
    return Decision(Action.RETRY, reason, wait=backoff(attempt.attempts, retry_base))


def log_failure(error: BaseException, decision: Decision, delivery_ids: Sequence[int]) -> None:
    """One line per failed send, with the delivery ids; a bug of ours with where it happened
    (the frames of its traceback, not its message, which may quote the text)."""
    ids = ", ".join(map(str, delivery_ids))
    if isinstance(error, TelegramError):
        log.warning("delivery %s: %s → %s", ids, decision.reason, decision.action.value)
        return
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error(
        "delivery %s: unexpected %s → %s\n%s", ids, decision.reason, decision.action.value, frames
    )


async def settle(
    decision: Decision,
    *,
    engine: AsyncEngine,
    chat: Chat,
    delivery_ids: Sequence[int],
    parts_sent: int,
    alerts: OwnerAlerts,
) -> None:
    """Write what a failure that ended the attempt means for its deliveries (in one
    transaction), and tell the owners what they should know."""
    async with session_scope(engine) as session:
        if decision.action is Action.RETRY:
            for delivery_id in delivery_ids:
                await retry_later(
                    session=session,
                    delivery_id=delivery_id,
                    error=decision.reason,
                    retry_at=utcnow() + decision.wait,
                    parts_sent=parts_sent,
                )
        elif decision.action is Action.MIGRATE:
            assert decision.new_chat_id is not None
            await migrate_chat(session=session, old_id=chat.id, new_id=decision.new_chat_id)
        elif decision.action is Action.DEACTIVATE:
            await deactivate_chat(session=session, chat_id=chat.id, error=decision.reason)
        elif decision.action is Action.DEAD:
            for delivery_id in delivery_ids:
                await mark_dead(session=session, delivery_id=delivery_id, error=decision.reason)
    if decision.action is Action.DEAD:
        for delivery_id in delivery_ids:
            alerts.note(AlertKind.DEAD_LETTER, f"#{delivery_id}: {decision.reason}")
    elif decision.action is Action.DEACTIVATE and chat.kind != "private":
        alerts.note(AlertKind.GROUP_LEFT, f"{chat.id}: {decision.reason}")
