"""Settings from the environment (and a `.env` file), with the names fixed in DESIGN.md."""

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite:///data/casewatch.db"
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    casewatch_tz: str = "Asia/Almaty"
    notify_grace_seconds: float = Field(default=60.0, ge=0)
    # How often the outbox is worked (expand due events, send what is due), in seconds.
    outbox_interval_seconds: float = Field(default=1.0, gt=0)

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
