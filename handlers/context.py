"""What every callback can reach: the services of this process, and facts about the update."""

from contextvars import ContextVar
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
    calendar_key: bytes  # derives calendar UIDs (handlers/ical.py)
    commands: tuple[str, ...]  # every command's name, in the order the menus list them


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


# The stored language of the chat of the update being handled, with that update's id: set
# once per update by the first handler group (handlers/language.py). Each update is handled
# in an asyncio task of its own, and a task sees only the context values set in it.
_CHAT_LANGUAGE: ContextVar[tuple[int, str] | None] = ContextVar("chat_language", default=None)


def language(update: Update) -> str:
    """The language to answer in: the chat's stored language; on first contact the sender's
    Telegram language; English otherwise."""
    stored = _CHAT_LANGUAGE.get()
    if stored is not None and stored[0] == update.update_id:
        return stored[1]
    user = update.effective_user
    return language_of(user.language_code if user else None)


def remember_language(update: Update, lang: str) -> None:
    """From now on, `language(update)` is `lang` for this update (the chat's stored one)."""
    _CHAT_LANGUAGE.set((update.update_id, language_of(lang)))


def command_args(update: Update) -> str:
    """Everything after the command word, as typed (keeps `;` and line breaks)."""
    message = update.effective_message
    text = (message.text or message.caption or "") if message else ""
    if not text.startswith("/"):
        return text.strip()
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""
