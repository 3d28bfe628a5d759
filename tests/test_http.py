"""The bot's HTTP client (aiohttp under python-telegram-bot) against the local Bot API."""

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.http import AiohttpRequest, AnswerTimedOut
from bot.localapi import Chat, LocalBotApi, User, serve_local_api

TOKEN = "123456:TEST-token-for-the-http-client"
ALICE = User(id=1001, first_name="Alice")


@pytest.fixture
def api() -> LocalBotApi:
    api = LocalBotApi(TOKEN)
    api.register_chat(Chat(ALICE.id, "private"))
    return api


@pytest.fixture
async def url(api: LocalBotApi) -> AsyncIterator[str]:
    async with serve_local_api(api) as base_url:
        yield base_url


def make_bot(url: str, *, pool_size: int = 4, read_timeout: float = 5.0) -> Bot:
    return Bot(
        TOKEN,
        base_url=f"{url}/bot",
        base_file_url=f"{url}/file/bot",
        request=AiohttpRequest(pool_size=pool_size, read_timeout=read_timeout),
        get_updates_request=AiohttpRequest(pool_size=1),
    )


async def test_messages_documents_and_long_polls_go_through(api: LocalBotApi, url: str) -> None:
    async with make_bot(url) as bot:
        message = await bot.send_message(ALICE.id, "<b>Hearing</b> moved", parse_mode="HTML")
        await bot.send_document(ALICE.id, b'{"people": []}', filename="export.json")
        await api.user_sends(ALICE, None, "/find Aqan")
        [update] = await bot.get_updates(timeout=1)
    assert message.text == "Hearing moved" and message.entities[0].type == "bold"
    assert api.messages_to(ALICE.id)[1].document == b'{"people": []}'
    assert update.message is not None and update.message.text == "/find Aqan"


async def test_an_answer_that_comes_too_late_may_have_been_delivered(
    api: LocalBotApi, url: str
) -> None:
    async with make_bot(url, read_timeout=0.1) as bot:
        api.latency = 0.5
        with pytest.raises(AnswerTimedOut):
            await bot.send_message(ALICE.id, "Hearing moved")


async def test_no_free_connection_means_not_sent(api: LocalBotApi, url: str) -> None:
    api.latency = 0.5
    async with make_bot(url, pool_size=1) as bot:
        _, second = await asyncio.gather(
            bot.send_message(ALICE.id, "first"),
            bot.send_message(ALICE.id, "second", pool_timeout=0.1),
            return_exceptions=True,
        )
    assert isinstance(second, TimedOut) and not isinstance(second, AnswerTimedOut)
    assert [message.text for message in api.messages_to(ALICE.id)] == ["first"]


async def test_network_errors_never_show_the_token() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NetworkError) as refused:
        async with make_bot(f"http://127.0.0.1:{port}") as bot:  # getMe is refused
            await bot.send_message(ALICE.id, "Hearing moved")
    assert TOKEN not in str(refused.value) and "123456" not in str(refused.value)
