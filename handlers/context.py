"""What every callback can reach: the services of this process, and facts about the update."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from handlers.alerts import OwnerAlerts
from handlers.i18n import language_of
from handlers.who import KnownNames


@dataclass
class Services:
    """Long-lived services, built in the application's post_init and closed in post_shutdown."""

    engine: AsyncEngine
    names: KnownNames
    default_tz: str
    grace: timedelta
    owner_ids: frozenset[int]
    alerts: OwnerAlerts  # what the owners should know, sent in summaries by a bot job
    button_key: bytes  # signs button data (handlers/buttons.py)


SERVICES = "services"


class CaseContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context, with typed access to this process's services."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data[SERVICES]
        return services


def language(update: Update) -> str:
    """The language to answer in: the sender's Telegram language, English otherwise."""
    user = update.effective_user
    return language_of(user.language_code if user else None)


def command_args(update: Update) -> str:
    """Everything after the command word, as typed (keeps `;` and line breaks)."""
    message = update.effective_message
    text = (message.text or message.caption or "") if message else ""
    if not text.startswith("/"):
        return text.strip()
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""
