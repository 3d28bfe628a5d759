"""Settings from the environment (and a `.env` file), with the names fixed in DESIGN.md."""

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PAID_RATE = 1000.0
CONCURRENCY = 32
PAID_CONCURRENCY = 256


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite:///data/casewatch.db"
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
    # Commands a minute one person may send; past it, one "slow down" and the rest ignored.
    flood_commands_per_minute: int = Field(default=20, ge=1)

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

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")
