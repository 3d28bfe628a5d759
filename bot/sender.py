"""The sender: every due delivery goes out once, as fast as the pacer allows, through failures.

Deliveries are leased before they are sent and settled after: marked sent with Telegram's
message id (in batches, so the database keeps up with a paid broadcast), or, when a send
fails, settled as the failure policy (`bot/failures.py`) decides. A message too long for one
is sent in parts, and a retry sends only the parts Telegram has not accepted yet. The leases
of deliveries still on their way are renewed, so a long wait never sends one twice. Several
sends are kept in flight, since Telegram takes tens to hundreds of milliseconds to answer
each. One failing delivery never holds up another, in its chat or elsewhere.
"""

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot, LinkPreviewOptions
from telegram.request import BaseRequest, RequestData

# RequestData's parts; public in PTB's signatures, though not exported from telegram.request.
from telegram.request._requestparameter import RequestParameter

from bot.failures import Action, Attempt, Decision, decide, log_failure, settle
from bot.holding import hold_until, is_urgent
from bot.pacing import Pacer
from handlers.alerts import AlertKind, OwnerAlerts
from handlers.render import (
    MAX_MESSAGE,
    html_to_plain,
    render_digest,
    render_push,
    render_watch_match,
    split_message,
    telegram_length,
)
from handlers.replies import follow_button, person_buttons
from storage.engine import session_scope
from storage.models import Chat, utcnow
from storage.outbox import Outgoing, lease_deliveries, mark_sent_many, postpone, renew_leases

log = logging.getLogger(__name__)

# A chat that may not receive for longer than this (a busy group) is rescheduled, not waited on.
MAX_CHAT_WAIT_SECONDS = 2.0
SETTLE_EVERY_SECONDS = 0.1
IDLE_SECONDS = 0.5
# A digest's title and the blank lines between its entries take at most this much room.
DIGEST_TITLE_ROOM = 200
# Every message the bot sends goes without link previews (bot/app.py's Defaults too).
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_NO_PREVIEW_JSON = NO_PREVIEW.to_json()


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
        alerts: OwnerAlerts,
        button_key: bytes,
    ) -> None:
        self.bot, self.request, self.engine, self.pacer = bot, request, engine, pacer
        self.settings = settings
        self.alerts = alerts
        self.button_key = button_key  # signs the card button under each push
        self._send_url = f"{bot.base_url}/sendMessage"
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._room = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._chat_tails: dict[int, asyncio.Task[None]] = {}  # the last send task per chat
        self._sent: list[tuple[int, int | None]] = []
        self._held: set[int] = set()  # leased here and not yet settled: their leases are renewed
        self._renew_at = 0.0
        self._messages: OrderedDict[tuple[int, str, str | None], tuple[list[str], str]] = (
            OrderedDict()
        )
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
            except Exception as error:
                log.exception("could not lease deliveries")
                self.alerts.note(AlertKind.BROKEN, f"leasing: {type(error).__name__}")
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
        error = None if task.cancelled() else task.exception()
        if error is not None:  # its name only: its message may quote a text
            log.error("delivery task failed: %s", type(error).__name__)

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

    async def _guarded(
        self, outgoings: list[Outgoing], work: Awaitable[Decision | None]
    ) -> Decision | None:
        """Do one piece of work for these deliveries: how it failed, if it did. Whatever goes
        wrong in it unforeseen (a rendering bug, "database is locked") is their failure,
        settled by the policy, and never stops the chat's other deliveries."""
        try:
            return await work
        except Exception as error:
            parts_sent = min(outgoing.delivery.parts_sent for outgoing in outgoings)
            return await self._failed(outgoings, self._decide(outgoings, error), parts_sent)

    async def _deliver_in_order(self, outgoings: list[Outgoing]) -> None:
        """One chat's messages one after another, in the order the changes were made, until
        the chat is found gone (what it is owed is then dropped, or moved to its new id)."""
        for outgoing in sorted(outgoings, key=lambda outgoing: outgoing.event.id or 0):
            failure = await self._guarded([outgoing], self._deliver(outgoing))
            if failure is not None and failure.chat_gone:
                return

    async def _deliver_digest(self, outgoings: list[Outgoing]) -> None:
        """A digest chat: urgent news now, one by one; the rest together, at the digest hour."""
        gathered = []
        for outgoing in outgoings:
            if len(outgoings) == 1 or _urgent(outgoing) or outgoing.watched is not None:
                failure = await self._guarded([outgoing], self._deliver(outgoing))
                if failure is not None and failure.chat_gone:
                    return
            else:
                gathered.append(outgoing)
        if gathered:
            await self._guarded(gathered, self._deliver_together(gathered))

    async def _deliver_together(self, gathered: list[Outgoing]) -> Decision | None:
        """The changes of a digest that are due, in as few messages as they fit in; each
        message settles its own deliveries, so a failure never sends an earlier one again."""
        due = []
        for outgoing in gathered:
            until = self._hold_until(outgoing)
            if until is not None:
                await self._postpone([outgoing], until)
            else:
                due.append(outgoing)
        for chunk in _digest_chunks(due):
            text = render_digest(
                [(o.person, o.changes, o.spellings) for o in chunk], chunk[0].chat.language
            )
            failure = await self._guarded(
                chunk, self._send_parts(chunk, split_message(text), None)
            )
            if failure is not None and failure.chat_gone:
                return failure
        return None

    async def _deliver(self, outgoing: Outgoing) -> Decision | None:
        until = self._hold_until(outgoing)
        if until is not None:
            await self._postpone([outgoing], until)
            return None
        wait = self.pacer.chat_ready_in(outgoing.chat.id)
        if wait > MAX_CHAT_WAIT_SECONDS:
            await self._postpone([outgoing], utcnow() + timedelta(seconds=wait))
            return None
        parts, buttons = self._message(outgoing)
        return await self._send_parts([outgoing], parts, buttons)

    async def _send_parts(
        self, outgoings: list[Outgoing], parts: list[str], buttons: str | None
    ) -> Decision | None:
        """Send the parts Telegram has not accepted yet (the buttons go with the last), then
        settle the deliveries: sent, or as the failure policy decides (returned)."""
        chat_id = outgoings[0].chat.id
        sent = min(outgoing.delivery.parts_sent for outgoing in outgoings)
        posted = _Posted()
        while sent < len(parts):
            last = sent == len(parts) - 1
            posted = await self._post(
                chat_id,
                parts[sent],
                buttons if last else None,
                lambda error, plain: self._decide(outgoings, error, plain=plain),
                plain=posted.plain,
            )
            if posted.failure is not None:
                return await self._failed(outgoings, posted.failure, sent)
            sent += 1
        message_id = posted.message_id
        for outgoing in outgoings:
            assert outgoing.delivery.id is not None
            self._record_sent(outgoing.delivery.id, message_id)
        return None

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
        result = await self.request.post(self._send_url, data)
        assert isinstance(result, dict)
        return int(result["message_id"])

    def _message(self, outgoing: Outgoing) -> tuple[list[str], str]:
        """The push (in parts, if it is too long for one) and its button, rendered once per
        event and language: to a chat watching for the person's name, with a Follow button."""
        assert outgoing.event.id is not None
        language, watched = outgoing.chat.language, outgoing.watched
        key = (outgoing.event.id, language, watched)
        message = self._messages.get(key)
        if message is None:
            if watched is None:
                text = render_push(outgoing.changes, outgoing.person, language, outgoing.spellings)
                person = outgoing.person
                buttons = person_buttons(
                    [person], {person.id or 0: outgoing.spellings}, language, self.button_key
                )
            else:
                text = render_watch_match(
                    watched, outgoing.changes, outgoing.person, language, outgoing.spellings
                )
                buttons = follow_button(
                    outgoing.person, language, self.button_key, following=False
                )
            message = (split_message(text), buttons.to_json())
            self._messages[key] = message
            if len(self._messages) > 1024:
                self._messages.popitem(last=False)
        return message

    async def send_note(self, chat: Chat, text: str, *, queued_at: datetime) -> Decision | None:
        """A message owed outside the outbox (a notice), at its broadcast turn, through the
        same failure policy: None once Telegram has it, else the failure that ended it (a
        chat found gone is settled here: deactivated or moved; RETRY is the caller's)."""

        def decide_note(error: Exception, plain: bool) -> Decision:
            attempt = Attempt(attempts=1, queued_at=queued_at, plain=plain)
            decision = decide(error, attempt, retry_base=self.settings.retry_base_seconds)
            log_failure(error, decision, [])
            return decision

        failure = (await self._post(chat.id, text, None, decide_note)).failure
        if failure is not None and failure.chat_gone:
            await self._settle_failure(failure, chat, [])
        return failure

    async def _post(
        self,
        chat_id: int,
        text: str,
        buttons: str | None,
        decide_failure: Callable[[Exception, bool], Decision],
        *,
        plain: bool = False,
    ) -> "_Posted":
        """One message, sent again as long as the failure policy says so (as plain text once
        Telegram could not parse it); taken as delivered when the policy says so."""
        while True:
            try:
                sent = html_to_plain(text) if plain else text
                message_id = await self._send(chat_id, sent, buttons, html=not plain)
                return _Posted(message_id=message_id, plain=plain)
            except Exception as error:
                decision = decide_failure(error, plain)
                self.pacer.pause(decision.pause)
                if decision.action is Action.SEND_AGAIN:
                    plain = plain or decision.plain
                    continue
                if decision.action is Action.TAKEN_AS_SENT:
                    return _Posted(plain=plain)
                return _Posted(failure=decision, plain=plain)

    def _record_sent(self, delivery_id: int, message_id: int | None) -> None:
        """Telegram has it: marked sent in the database by the next settle."""
        self._sent.append((delivery_id, message_id))

    # --- failures ------------------------------------------------------------------------

    def _decide(
        self, outgoings: list[Outgoing], error: BaseException, *, plain: bool = False
    ) -> Decision:
        """The failure policy's word on `error`, logged with the delivery ids."""
        first = outgoings[0].delivery
        attempt = Attempt(
            attempts=max(outgoing.delivery.attempts for outgoing in outgoings),
            queued_at=min(outgoing.delivery.created_at for outgoing in outgoings),
            last_error=first.last_error,
            plain=plain,
        )
        decision = decide(error, attempt, retry_base=self.settings.retry_base_seconds)
        log_failure(error, decision, _ids(outgoings))
        return decision

    async def _failed(
        self, outgoings: list[Outgoing], decision: Decision, parts_sent: int
    ) -> Decision:
        """Settle deliveries whose attempt failed. Should even that fail, their lease runs
        out and they are tried again."""
        return await self._settle_failure(
            decision, outgoings[0].chat, _ids(outgoings), parts_sent=parts_sent
        )

    async def _settle_failure(
        self, decision: Decision, chat: Chat, delivery_ids: list[int], *, parts_sent: int = 0
    ) -> Decision:
        """What the failure policy decided, carried out (the chat deactivated or moved, the
        deliveries due again or dead); a failure to settle is logged and told to the owners."""
        try:
            await settle(
                decision,
                engine=self.engine,
                chat=chat,
                delivery_ids=delivery_ids,
                parts_sent=parts_sent,
                alerts=self.alerts,
            )
        except Exception as error:
            log.error(
                "could not settle failed deliveries %s: %s", delivery_ids, type(error).__name__
            )
            self.alerts.note(AlertKind.BROKEN, f"settling a failure: {type(error).__name__}")
            return decision
        if decision.action is Action.MIGRATE:
            self.wake()  # the deliveries moved to the new id are due now
        return decision

    # --- settling ------------------------------------------------------------------------

    async def _settle_loop(self) -> None:
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), SETTLE_EVERY_SECONDS)
            try:
                await self._settle()
                await self._renew_leases()
            except Exception as error:
                log.exception("could not settle deliveries; will try again")
                self.alerts.note(AlertKind.BROKEN, f"settling: {type(error).__name__}")

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


def _urgent(outgoing: Outgoing) -> bool:
    """Urgent news goes at once, on its own; so does a change whose urgency cannot be read,
    so that what is wrong with it is settled like any failure of its own."""
    try:
        return is_urgent(outgoing.changes, utcnow())
    except Exception:
        return True


def _ids(outgoings: list[Outgoing]) -> list[int]:
    return [outgoing.delivery.id for outgoing in outgoings if outgoing.delivery.id is not None]


@dataclass(frozen=True)
class _Posted:
    """How sending one message ended: Telegram's id for it (None when taken as delivered
    without one), or the failure that stopped it; and whether it went as plain text."""

    message_id: int | None = None
    failure: Decision | None = None
    plain: bool = False


def _digest_chunks(due: list[Outgoing]) -> list[list[Outgoing]]:
    """The digest's changes in order, in groups that fit in one message each (a change too
    long for one alone is a group of its own, sent in parts)."""
    chunks: list[list[Outgoing]] = []
    room = 0
    for outgoing in due:
        length = telegram_length(
            render_push(
                outgoing.changes, outgoing.person, outgoing.chat.language, outgoing.spellings
            )
        )
        if chunks and length + 2 <= room:
            chunks[-1].append(outgoing)
            room -= length + 2
        else:
            chunks.append([outgoing])
            room = MAX_MESSAGE - DIGEST_TITLE_ROOM - length
    return chunks
