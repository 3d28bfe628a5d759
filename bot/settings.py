"""Settings from the environment (and a `.env` file), with fixed names (the README lists them).

Each value is checked here, so that a wrong one is reported at start, naming the variable
and what it should look like, before anything connects anywhere.
"""

import re
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from storage.engine import async_database_url

PAID_RATE = 1000.0
CONCURRENCY = 32
PAID_CONCURRENCY = 256
# What @BotFather hands out: the bot's id, a colon, then letters, digits, '-' and '_'.
_TOKEN = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")
_USER_ID = re.compile(r"[0-9]{1,18}")


class DatabaseSettings(BaseSettings):
    """What `seed` and `db upgrade` read: the database alone."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///data/casewatch.db"

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        async_database_url(value)  # raises ValueError saying what is wrong
        return value


class Settings(DatabaseSettings):
    """What `run` reads: the database, Telegram, the owners, the time zone and the tuning."""

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    casewatch_tz: str = "Asia/Almaty"
    notify_grace_seconds: float = Field(default=60.0, ge=0)
    # How often due events are expanded into deliveries, in seconds.
    outbox_interval_seconds: float = Field(default=1.0, gt=0)
    # How often the due hearing reminders are looked for, in seconds.
    reminder_scan_seconds: float = Field(default=60.0, gt=0)
    # Telegram's ceiling for a bot: about 30 messages a second (1,000 with paid broadcast).
    send_rate_per_second: float = Field(default=30.0, gt=0)
    paid_broadcast: bool = False
    # Sends kept in flight. Unset: 32, or 256 with paid broadcast: 1,000 a second at
    # Telegram's tens to hundreds of milliseconds per call needs that many on their way.
    send_concurrency: int | None = Field(default=None, ge=1)
    delivery_lease_seconds: float = Field(default=30.0, gt=0)
    # The first retry of a failed send waits about this long; each next one twice as long.
    retry_base_seconds: float = Field(default=2.0, gt=0)
    # The owners get at most one summary of what went wrong this often, in seconds.
    alert_interval_seconds: float = Field(default=300.0, gt=0)
    # Commands a minute one person may send; past it, one "slow down" and the rest ignored.
    flood_commands_per_minute: int = Field(default=20, ge=1)
    # People one person may look up (by name, id, link, button or inline query) a minute and
    # an hour; past either, one "try again in N minutes" and the rest ignored. Editors are
    # not limited.
    lookups_per_minute: int = Field(default=30, ge=1)
    lookups_per_hour: int = Field(default=200, ge=1)

    @property
    def rate_per_second(self) -> float:
        """The overall pace: paid broadcast lifts it to Telegram's 1,000 a second."""
        return (
            max(self.send_rate_per_second, PAID_RATE)
            if self.paid_broadcast
            else self.send_rate_per_second
        )

    @property
    def concurrency(self) -> int:
        """Sends the outbox keeps in flight."""
        if self.send_concurrency is not None:
            return self.send_concurrency
        return PAID_CONCURRENCY if self.paid_broadcast else CONCURRENCY

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # The messages never repeat the value: it is a secret.
        if value is not None and not value.get_secret_value():
            raise ValueError("it is empty; set it to the token @BotFather gave the bot")
        if value is not None and not _TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError(
                "it does not look like a bot token (digits, a colon, then letters, digits, "
                "'-' and '_'); copy it again from @BotFather"
            )
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        parts = [part for part in value.replace(" ", "").split(",") if part]
        if not all(_USER_ID.fullmatch(part) for part in parts):
            raise ValueError("expected Telegram user ids and commas, e.g. 11111111,22222222")
        return frozenset(int(part) for part in parts)

    @field_validator("casewatch_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a time zone; use an IANA name such as Asia/Almaty") from None
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "expected the Bot API server's address, e.g. https://api.telegram.org"
            )
        return value.rstrip("/")
