"""What the end-to-end tests share: the people in the story, the bot against the emulator."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bot.app import CaseApplication, build_application, polling
from bot.localapi import (
    DEMO_TOKEN,
    CallbackAnswer,
    Chat,
    LocalBotApi,
    SentMessage,
    User,
    serve_local_api,
)
from bot.seed import seed_demo_records
from bot.settings import Settings
from storage.engine import create_engine

TOKEN = DEMO_TOKEN
EDITOR = User(7001, "Editor", language_code="en")
FOLLOWER = User(7002, "Aigerim", language_code="en")
BYSTANDER = User(7003, "Bystander", language_code="en")
STRANGER = User(7004, "Stranger", language_code="en")
RUSSIAN = User(7005, "Алия", language_code="ru")
KAZAKH = User(7006, "Айгүл", language_code="kk")
GROUP = Chat(-1001234567890123, "supergroup", title="Monitors")


@dataclass
class Story:
    """The emulator, and helpers to talk to the bot as a person would."""

    api: LocalBotApi
    url: str
    application: CaseApplication

    async def say(self, user: User, text: str, chat: Chat | None = None) -> SentMessage:
        """`user` writes `text`; returns the bot's next reply in that chat."""
        chat_id = (chat or user.private_chat).id
        before = len(self.api.messages_to(chat_id))
        await self.api.user_sends(user, chat, text)
        return (await self.api.wait_for_messages(chat_id, before + 1))[before]

    async def press(self, user: User, message: SentMessage, data: str) -> SentMessage:
        before = len(self.api.messages_to(message.chat_id))
        await self.api.user_presses(user, message, data)
        return (await self.api.wait_for_messages(message.chat_id, before + 1))[before]


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Wait until `check()` (a look at the database, say) holds; TimeoutError after `seconds`."""
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110  (a database has no event to wait on)
            await asyncio.sleep(0.05)


def settings_for(url: str, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "telegram_bot_token": TOKEN,
        "telegram_api_url": url,
        "database_url": database_url,
        "admin_ids": frozenset({EDITOR.id}),
        "notify_grace_seconds": 0,
        "outbox_interval_seconds": 0.2,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def seed(database_url: str) -> None:
    engine = create_engine(database_url)
    await seed_demo_records(engine)
    await engine.dispose()


@asynccontextmanager
async def story(database_url: str, **overrides: object) -> AsyncIterator[Story]:
    """The demo records loaded, the emulator serving, the bot running against it."""
    await seed(database_url)
    api = LocalBotApi(TOKEN)
    async with serve_local_api(api) as url:
        application = build_application(settings_for(url, database_url, **overrides))
        async with polling(application):
            yield Story(api=api, url=url, application=application)


async def answer_to(story: Story, pressed: Mapping[str, Any]) -> str | None:
    """What the bot answered (answerCallbackQuery) to the button press `pressed`, an update."""
    query = pressed["callback_query"]

    def answered() -> CallbackAnswer | None:
        return next(
            (a for a in story.api.callback_answers if a.callback_query_id == query["id"]), None
        )

    await story.api.wait_until(lambda: answered() is not None)
    answer = answered()
    assert answer is not None
    return answer.text
