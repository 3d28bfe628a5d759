"""The sender on its own against the emulator: what it does after a read timeout."""

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from telegram import Bot

from bot.http import AiohttpRequest
from bot.localapi import DEMO_TOKEN, LocalBotApi, User, serve_local_api
from bot.pacing import Limits, Pacer
from bot.sender import Sender, SenderSettings
from handlers.alerts import OwnerAlerts
from storage.engine import session_scope
from storage.following import ensure_chat, subscribe
from storage.models import Delivery, DeliveryState, Person, utcnow
from storage.outbox import expand_due_events
from storage.people import add_person
from tests.e2e import eventually
from tests.factories import change_status

READER = User(42, "Reader")


async def _one_delivery(engine: AsyncEngine) -> None:
    async with session_scope(engine) as session:
        person = await add_person(session=session, name="Qaisha Aqan", actor_id=1, pushed=False)
        await ensure_chat(session=session, chat_id=READER.id, kind="private", language="en")
        await subscribe(session=session, chat_id=READER.id, person_id=person.id)
    async with session_scope(engine) as session:
        await change_status(session, await session.get(Person, person.id))
    async with session_scope(engine) as session:
        await expand_due_events(session=session, now=utcnow())


async def _delivery(engine: AsyncEngine) -> Delivery:
    async with session_scope(engine) as session:
        return (await session.exec(select(Delivery))).one()


async def _settled(engine: AsyncEngine) -> bool:
    return (await _delivery(engine)).state != DeliveryState.PENDING


async def test_read_timeout_is_retried_once_more_then_taken_as_delivered(
    engine: AsyncEngine,
) -> None:
    """Telegram answers later than the sender waits: it may well have delivered each time."""
    await _one_delivery(engine)
    api = LocalBotApi(DEMO_TOKEN)
    api.register_user(READER)
    api.register_chat(READER.private_chat)
    api.latency = 0.5
    async with serve_local_api(api) as url:
        sender = Sender(
            bot=Bot(DEMO_TOKEN, base_url=f"{url}/bot"),
            request=AiohttpRequest(pool_size=4, read_timeout=0.1),
            engine=engine,
            pacer=Pacer(Limits(per_second=1000.0, chat_interval=0.0)),
            settings=SenderSettings(lease=timedelta(seconds=5), retry_base_seconds=0.01),
            alerts=OwnerAlerts(frozenset()),
            button_key=b"k" * 32,
        )
        await sender.start()
        await eventually(lambda: _settled(engine))
        await sender.close()
    delivery = await _delivery(engine)
    assert delivery.state == "sent" and delivery.message_id is None
    assert api.calls["sendMessage"] == 2  # the first attempt and exactly one more
    assert delivery.attempts == 2 and delivery.last_error == "read timeout"
