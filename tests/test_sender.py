"""The sender on its own, with a stand-in for Telegram: what it does after a read timeout."""

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.http import AnswerTimedOut
from bot.pacing import Limits, Pacer
from bot.sender import Sender, SenderSettings
from storage.engine import session_scope
from storage.following import ensure_chat, subscribe
from storage.models import Delivery, Person, utcnow
from storage.outbox import expand_due_events
from storage.people import add_person
from tests.factories import change_status


class SlowTelegram:
    """Every send times out while reading the answer: Telegram may have delivered it."""

    base_url = "http://telegram.invalid/bot123:TOKEN"

    def __init__(self) -> None:
        self.calls = 0

    async def initialize(self) -> None:
        """Nothing to connect."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def post(self, *args: Any, **kwargs: Any) -> None:
        self.calls += 1
        raise AnswerTimedOut("Telegram did not answer in time")


async def _one_delivery(engine: AsyncEngine) -> None:
    async with session_scope(engine) as session:
        person = await add_person(session=session, name="Qaisha Aqan", actor_id=1, pushed=False)
        await ensure_chat(session=session, chat_id=42, kind="private", language="en")
        await subscribe(session=session, chat_id=42, person_id=person.id)
    async with session_scope(engine) as session:
        await change_status(session, await session.get(Person, person.id))
    async with session_scope(engine) as session:
        await expand_due_events(session=session, now=utcnow())


async def test_read_timeout_is_retried_once_more_then_taken_as_delivered(
    engine: AsyncEngine,
) -> None:
    await _one_delivery(engine)
    telegram = SlowTelegram()
    sender = Sender(
        bot=telegram,  # type: ignore[arg-type]
        request=telegram,  # type: ignore[arg-type]
        engine=engine,
        pacer=Pacer(Limits(per_second=1000.0, chat_interval=0.0)),
        settings=SenderSettings(lease=timedelta(seconds=5), retry_base_seconds=0.01),
        owner_ids=frozenset(),
    )
    await sender.start()
    for _ in range(100):
        await asyncio.sleep(0.05)
        if telegram.calls >= 2:
            break
    await asyncio.sleep(0.3)
    await sender.close()
    async with session_scope(engine) as session:
        delivery = (await session.exec(select(Delivery))).one()
    assert telegram.calls == 2  # the first attempt and exactly one more
    assert delivery.state == "sent" and delivery.message_id is None
