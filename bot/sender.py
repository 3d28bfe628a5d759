"""The sender: every due delivery goes out once, as fast as the pacer allows, through failures.

Deliveries are leased before they are sent and settled after: marked sent with Telegram's
message id (in batches, so the database keeps up with a paid broadcast), rescheduled with
jittered backoff, moved to a migrated group's new id, or dropped when the chat is gone. The
leases of deliveries still on their way are renewed, so a long wait never sends one twice.
Several sends are kept in flight, since Telegram takes tens to hundreds of milliseconds to
answer each. One failing chat never holds up another: each send settles on its own.
"""

import asyncio
import contextlib
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot, LinkPreviewOptions
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.request import BaseRequest, RequestData

# RequestData's parts; public in PTB's signatures, though not exported from telegram.request.
from telegram.request._requestparameter import RequestParameter

from bot.holding import hold_until, is_urgent
from bot.http import AnswerTimedOut
from bot.pacing import Pacer, retry_seconds
from handlers.i18n import t
from handlers.render import html_to_plain, render_digest, render_push, split_message
from handlers.replies import card_buttons
from storage.engine import session_scope
from storage.models import utcnow
from storage.outbox import (
    Outgoing,
    deactivate_chat,
    lease_deliveries,
    mark_dead,
    mark_sent_many,
    migrate_chat,
    postpone,
    renew_leases,
    retry_later,
)

log = logging.getLogger(__name__)

GIVE_UP_AFTER = timedelta(hours=24)
MAX_BACKOFF_SECONDS = 3600.0
CHAT_NOT_FOUND_ATTEMPTS = 3
# A chat that may not receive for longer than this (a busy group) is rescheduled, not waited on.
MAX_CHAT_WAIT_SECONDS = 2.0
READ_TIMEOUT = "read timeout"
SETTLE_EVERY_SECONDS = 0.1
IDLE_SECONDS = 0.5
# Every message the bot sends goes without link previews (bot/app.py's Defaults too).
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_NO_PREVIEW_JSON = NO_PREVIEW.to_json()


class Failure(Enum):
    """What a failed send means for its delivery."""

    BLOCKED = "blocked"  # 403: blocked, kicked, deactivated: never retried
    MIGRATED = "migrated"  # the group is now a supergroup with a new id
    CHAT_NOT_FOUND = "chat_not_found"  # retried a few times, then the chat is deactivated
    TOO_LONG = "too_long"  # split at paragraphs and sent again
    BAD_MARKUP = "bad_markup"  # sent again as plain text
    FLOOD = "flood"  # 429: everything paused for retry_after, then again
    MAYBE_DELIVERED = "maybe_delivered"  # read timeout: Telegram may have it; one more try
    TRANSIENT = "transient"  # network, 5xx, other timeouts: backoff with jitter
    PERMANENT = "permanent"  # any other 400: dead at once, the owners are told


def classify(error: TelegramError) -> Failure:
    """Sort a failed send by what should happen to its delivery."""
    if isinstance(error, Forbidden):
        return Failure.BLOCKED
    if isinstance(error, ChatMigrated):
        return Failure.MIGRATED
    if isinstance(error, RetryAfter):
        return Failure.FLOOD
    if isinstance(error, BadRequest):
        text = error.message.lower()
        if "chat not found" in text:
            return Failure.CHAT_NOT_FOUND
        if "too long" in text:
            return Failure.TOO_LONG
        if "parse entities" in text:
            return Failure.BAD_MARKUP
        return Failure.PERMANENT
    if isinstance(error, AnswerTimedOut):
        return Failure.MAYBE_DELIVERED
    return Failure.TRANSIENT


def backoff(attempts: int, base: float = 2.0, rng: random.Random | None = None) -> timedelta:
    """`base`, twice that, four times … (at most an hour), each jittered by ±50%."""
    seconds = min(base * 2.0 ** (max(attempts, 1) - 1), MAX_BACKOFF_SECONDS)
    return timedelta(seconds=seconds * (rng or random).uniform(0.5, 1.5))


@dataclass(frozen=True)
class SenderSettings:
    concurrency: int = 32
    lease: timedelta = timedelta(seconds=30)
    paid_broadcast: bool = False
    retry_base_seconds: float = 2.0
    tz: str = "Asia/Almaty"  # the clock of quiet hours and digests


class Sender:
    """The long-lived sending service: start it in post_init, close it in post_stop.

    It posts to the Bot API through its own connections (`request`), so a broadcast never
    takes the connections replies need, and waits for its turns at the pacer itself.
    """

    def __init__(
        self,
        *,
        bot: Bot,
        request: BaseRequest,
        engine: AsyncEngine,
        pacer: Pacer,
        settings: SenderSettings,
        owner_ids: frozenset[int],
    ) -> None:
        self.bot, self.request, self.engine, self.pacer = bot, request, engine, pacer
        self.settings = settings
        self.owner_ids = owner_ids
        self._send_url = f"{bot.base_url}/sendMessage"
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._room = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._chat_tails: dict[int, asyncio.Task[None]] = {}  # the last send task per chat
        self._sent: list[tuple[int, int | None]] = []
        self._held: set[int] = set()  # leased here and not yet settled: their leases are renewed
        self._renew_at = 0.0
        self._messages: OrderedDict[tuple[int, str], tuple[str, str]] = OrderedDict()
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self.request.initialize()
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="sender"),
            asyncio.create_task(self._settle_loop(), name="sender-settle"),
        ]

    def wake(self) -> None:
        """New deliveries are due: look now rather than at the next idle tick."""
        self._wake.set()

    async def close(self) -> None:
        """Stop leasing, let the sends in flight finish, then settle everything they sent."""
        # The loops are asked to stop, not cancelled: a transaction cut off in the middle
        # would keep SQLite's write lock and the last settle below could not write.
        send_loop, settle_loop = self._tasks
        self._closing.set()
        self._wake.set()
        self._room.set()
        await send_loop
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=10)
        await settle_loop
        await self._settle()
        await self.request.shutdown()

    # --- sending -------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        while not self._closing.is_set():
            try:
                leased = await self._lease()
            except Exception:
                log.exception("could not lease deliveries")
                leased = 0
            if not leased:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_SECONDS)
                self._wake.clear()

    async def _lease(self) -> int:
        """Lease as many due deliveries as there are free slots, and start sending them.

        It waits until half the slots are free, so that each lease (a transaction) brings a
        batch rather than one delivery at a time.
        """
        while len(self._in_flight) > self.settings.concurrency // 2:
            if self._closing.is_set():
                return 0
            self._room.clear()
            await self._room.wait()
        async with session_scope(self.engine) as session:
            batch = await lease_deliveries(
                session=session,
                now=utcnow(),
                lease=self.settings.lease,
                limit=self.settings.concurrency - len(self._in_flight),
            )
        by_chat: dict[int, list[Outgoing]] = {}
        for outgoing in batch:
            by_chat.setdefault(outgoing.chat.id, []).append(outgoing)
            assert outgoing.delivery.id is not None
            self._held.add(outgoing.delivery.id)
        for chat_id, outgoings in by_chat.items():
            if outgoings[0].chat.digest_hour is not None:
                self._start(chat_id, outgoings, self._deliver_digest(outgoings))
            else:
                self._start(chat_id, outgoings, self._deliver_in_order(outgoings))
        return len(batch)

    def _start(
        self, chat_id: int, outgoings: list[Outgoing], send: Coroutine[Any, Any, None]
    ) -> None:
        """Send in a task of its own, after what is still being sent to the same chat."""
        task = asyncio.create_task(self._after(self._chat_tails.get(chat_id), send))
        self._chat_tails[chat_id] = task
        self._in_flight.add(task)
        task.add_done_callback(self._finished)
        task.add_done_callback(lambda done: self._settled(chat_id, outgoings, done))

    @staticmethod
    async def _after(previous: asyncio.Task[None] | None, send: Coroutine[Any, Any, None]) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        await send

    def _settled(self, chat_id: int, outgoings: list[Outgoing], task: asyncio.Task[None]) -> None:
        """The task is done with these deliveries: their leases need no renewing."""
        if self._chat_tails.get(chat_id) is task:
            del self._chat_tails[chat_id]
        self._held.difference_update(outgoing.delivery.id for outgoing in outgoings)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._room.set()
        if not task.cancelled() and task.exception():
            log.error("delivery task failed", exc_info=task.exception())

    def _hold_until(self, outgoing: Outgoing) -> datetime | None:
        return hold_until(
            quiet_hours=outgoing.chat.quiet_hours,
            digest_hour=outgoing.chat.digest_hour,
            changes=outgoing.changes,
            now=utcnow(),
            tz=self.settings.tz,
        )

    async def _postpone(self, outgoings: list[Outgoing], until: datetime) -> None:
        ids = [outgoing.delivery.id for outgoing in outgoings if outgoing.delivery.id is not None]
        async with session_scope(self.engine) as session:
            await postpone(session=session, delivery_ids=ids, until=until)

    async def _deliver_in_order(self, outgoings: list[Outgoing]) -> None:
        """One chat's messages one after another, in the order the changes were made."""
        for outgoing in sorted(outgoings, key=lambda outgoing: outgoing.event.id or 0):
            await self._deliver(outgoing)

    async def _deliver_digest(self, outgoings: list[Outgoing]) -> None:
        """A digest chat: urgent news now, one by one; the rest together, at the digest hour."""
        gathered = []
        for outgoing in outgoings:
            until = self._hold_until(outgoing)
            if until is not None:
                await self._postpone([outgoing], until)
            elif len(outgoings) == 1 or is_urgent(outgoing.changes, utcnow()):
                await self._deliver(outgoing)
            else:
                gathered.append(outgoing)
        if not gathered:
            return
        chat = gathered[0].chat
        text = render_digest([(o.person, o.changes) for o in gathered], chat.language)
        try:
            for part in split_message(text):
                message_id = await self._send(chat.id, part, None)
        except TelegramError as error:
            retry = utcnow() + backoff(1, self.settings.retry_base_seconds)
            log.warning(
                "digest to chat %s failed (%s); again at %s", chat.id, error.message, retry
            )
            await self._postpone(gathered, retry)
            return
        for outgoing in gathered:
            assert outgoing.delivery.id is not None
            self._record_sent(outgoing.delivery.id, message_id)

    async def _deliver(self, outgoing: Outgoing) -> None:
        delivery, chat = outgoing.delivery, outgoing.chat
        assert delivery.id is not None
        until = self._hold_until(outgoing)
        if until is not None:
            await self._postpone([outgoing], until)
            return
        wait = self.pacer.chat_ready_in(chat.id)
        if wait > MAX_CHAT_WAIT_SECONDS:
            await self._reschedule(delivery.id, "chat busy", utcnow() + timedelta(seconds=wait))
            return
        text, buttons = self._message(outgoing)
        try:
            message_id = await self._send(chat.id, text, buttons)
        except TelegramError as error:
            await self._failed(outgoing, error, text)
            return
        self._record_sent(delivery.id, message_id)

    async def _send(
        self, chat_id: int, text: str, buttons: str | None, *, html: bool = True
    ) -> int:
        """Post one message at its broadcast turn; Telegram's id for it.

        Straight to the Bot API through PTB's request layer (which raises PTB's errors):
        `bot.send_message` would also parse the whole returned Message, most of its cost,
        for the one id kept here.
        """
        fields: dict[str, object] = {
            "chat_id": chat_id,
            "text": text,
            "link_preview_options": _NO_PREVIEW_JSON,
        }
        if html:
            fields["parse_mode"] = "HTML"
        if buttons is not None:
            fields["reply_markup"] = buttons
        if self.settings.paid_broadcast:
            fields["allow_paid_broadcast"] = True
        data = RequestData([RequestParameter(name, value, None) for name, value in fields.items()])
        await self.pacer.wait_turn(chat_id, interactive=False)
        try:
            result = await self.request.post(self._send_url, data)
        except RetryAfter as error:
            self.pacer.pause(retry_seconds(error))
            raise
        assert isinstance(result, dict)
        return int(result["message_id"])

    def _message(self, outgoing: Outgoing) -> tuple[str, str]:
        """The push text and its button, rendered once per event and language."""
        assert outgoing.event.id is not None
        key = (outgoing.event.id, outgoing.chat.language)
        message = self._messages.get(key)
        if message is None:
            text = render_push(outgoing.changes, outgoing.person, outgoing.chat.language)
            message = (text, card_buttons([outgoing.person]).to_json())
            self._messages[key] = message
            if len(self._messages) > 1024:
                self._messages.popitem(last=False)
        return message

    def _record_sent(self, delivery_id: int, message_id: int | None) -> None:
        """Telegram has it: marked sent in the database by the next settle."""
        self._sent.append((delivery_id, message_id))

    # --- failures ------------------------------------------------------------------------

    async def _failed(self, outgoing: Outgoing, error: TelegramError, text: str) -> None:
        """Settle a failed send by what the failure means."""
        delivery, chat = outgoing.delivery, outgoing.chat
        assert delivery.id is not None
        failure = classify(error)
        now = utcnow()
        if failure is Failure.BLOCKED:
            log.info("chat %s is gone (%s): deactivated", chat.id, error.message)
            async with session_scope(self.engine) as session:
                await deactivate_chat(session=session, chat_id=chat.id, error=error.message)
        elif failure is Failure.MIGRATED:
            assert isinstance(error, ChatMigrated)
            async with session_scope(self.engine) as session:
                await migrate_chat(session=session, old_id=chat.id, new_id=error.new_chat_id)
            self.wake()
        elif failure is Failure.FLOOD:
            assert isinstance(error, RetryAfter)
            wait = timedelta(seconds=retry_seconds(error))
            await self._reschedule(delivery.id, error.message, now + wait)
        elif failure in (Failure.TOO_LONG, Failure.BAD_MARKUP):
            await self._send_reshaped(outgoing, text, failure)
        elif failure is Failure.CHAT_NOT_FOUND and delivery.attempts >= CHAT_NOT_FOUND_ATTEMPTS:
            async with session_scope(self.engine) as session:
                await deactivate_chat(session=session, chat_id=chat.id, error=error.message)
        elif failure is Failure.MAYBE_DELIVERED and (delivery.last_error or "") == READ_TIMEOUT:
            # Telegram may well have delivered both times: a third send risks a duplicate.
            log.warning("delivery %s timed out twice; taken as delivered", delivery.id)
            self._record_sent(delivery.id, None)
        elif failure is Failure.PERMANENT or now - delivery.created_at > GIVE_UP_AFTER:
            await self._give_up(outgoing, error.message)
        else:
            reason = READ_TIMEOUT if failure is Failure.MAYBE_DELIVERED else error.message
            wait = backoff(delivery.attempts, self.settings.retry_base_seconds)
            await self._reschedule(delivery.id, reason, now + wait)

    async def _send_reshaped(self, outgoing: Outgoing, text: str, failure: Failure) -> None:
        """Send again in parts under the limit, or as plain text when the markup was refused."""
        assert outgoing.delivery.id is not None
        html = failure is Failure.TOO_LONG
        parts = split_message(text) if html else split_message(html_to_plain(text))
        _, buttons = self._message(outgoing)
        try:
            for part in parts:
                message_id = await self._send(outgoing.chat.id, part, buttons, html=html)
        except TelegramError as error:
            await self._give_up(outgoing, f"{failure.value}, then: {error.message}")
            return
        self._record_sent(outgoing.delivery.id, message_id)

    async def _reschedule(self, delivery_id: int, error: str, when: datetime) -> None:
        async with session_scope(self.engine) as session:
            await retry_later(session=session, delivery_id=delivery_id, error=error, retry_at=when)

    async def _give_up(self, outgoing: Outgoing, error: str) -> None:
        """Mark the delivery dead and tell the owners."""
        delivery = outgoing.delivery
        assert delivery.id is not None
        log.error("delivery %s to chat %s is dead: %s", delivery.id, outgoing.chat.id, error)
        async with session_scope(self.engine) as session:
            await mark_dead(session=session, delivery_id=delivery.id, error=error)
        alert = t("en", "owner.dead_letter", delivery=delivery.id, chat=outgoing.chat.id)
        for owner_id in self.owner_ids:
            with contextlib.suppress(TelegramError):
                await self.bot.send_message(owner_id, alert, parse_mode=None)

    # --- settling ------------------------------------------------------------------------

    async def _settle_loop(self) -> None:
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), SETTLE_EVERY_SECONDS)
            try:
                await self._settle()
                await self._renew_leases()
            except Exception:
                log.exception("could not settle deliveries; will try again")

    async def _settle(self) -> None:
        """Mark sent, in one transaction, every delivery Telegram took since the last time."""
        if not self._sent:
            return
        batch, self._sent = self._sent, []
        try:
            async with session_scope(self.engine) as session:
                await mark_sent_many(session=session, sent=batch, now=utcnow())
        except BaseException:  # cancelled mid-write too: keep them for the next try
            self._sent[:0] = batch
            raise

    async def _renew_leases(self) -> None:
        """Every third of a lease, renew the leases of the deliveries still held here.

        A delivery can wait here longer than its lease (a long 429 pause, a slow answer);
        were its lease to run out, it would be leased and sent a second time.
        """
        now = time.monotonic()
        if not self._held or now < self._renew_at:
            return
        self._renew_at = now + self.settings.lease.total_seconds() / 3
        async with session_scope(self.engine) as session:
            await renew_leases(
                session=session,
                delivery_ids=list(self._held),
                until=utcnow() + self.settings.lease,
            )
