"""Settings: read once at start-up from ``DALSBOT_*`` variables (and an optional ``.env``).

A wrong value stops start-up with one line that names the setting (see
:func:`load_settings`). Tests build ``Settings(...)`` explicitly.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


def default_secrets_dir() -> Path:
    """Where a generated secret goes when none is set: the user's config folder
    (``$XDG_CONFIG_HOME/dalsbot``, else ``~/.config/dalsbot``), never the data folder, so a
    copy of the data folder does not carry the key to its markers."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dalsbot"


class SettingsError(Exception):
    """A setting has a wrong value; the message is one line naming it."""


class Settings(BaseSettings):
    """Everything Dalsbot can be configured with; see the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="DALSBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    bot_username: str | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    admins: Annotated[tuple[int, ...], NoDecode] = ()
    timezone: str = "Europe/Stockholm"
    default_language: Literal["sv", "en"] = "sv"
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"  # a container listens on all interfaces
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    pulse_secret: SecretStr | None = None
    # Where the generated pulse secret is kept when DALSBOT_PULSE_SECRET is not set.
    secrets_dir: Path = Field(default_factory=default_secrets_dir)
    reminder_time: dt.time = dt.time(8, 0)
    reminder_offsets: Annotated[tuple[int, ...], NoDecode] = (7, 1, 0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Closed plans (with their team, follow-ups and reminders) are deleted this long after
    # they were closed.
    plan_retention_months: int = Field(default=12, ge=1, le=120)
    # The admin-kept phone numbers shown in the emergency card (knowledge/contacts.py); None:
    # the file that comes with the knowledge base.
    contacts_file: Path | None = None
    # Operations (README "Production"): /healthz and /metrics are served on the webhook
    # server; in polling mode on this port when set (127.0.0.1 unless ops_listen says else).
    ops_port: int | None = Field(default=None, ge=1, le=65535)
    ops_listen: str = "127.0.0.1"
    # "json": one JSON object per log line (for a log collector); "text": human-readable.
    log_format: Literal["text", "json"] = "text"
    # The send budget shared by every process on this bot token (storage/sendbudget.py):
    # messages a second overall. Telegram allows about 30; with allow_paid_broadcast (paid
    # in Telegram Stars, see the README) up to 1,000.
    send_rate: float = Field(default=27.5, gt=0, le=1000)
    allow_paid_broadcast: bool = False
    # The knowledge base: an article is due for review this many days after it was reviewed.
    kb_review_days: int = Field(default=180, ge=7, le=3650)

    @field_validator(
        "contacts_file",
        "telegram_token",
        "pulse_secret",
        "webhook_secret",
        "webhook_url",
        "bot_username",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("telegram_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"\d+:[A-Za-z0-9_-]{20,}", value.get_secret_value()
        ):
            raise ValueError("must look like 123456789:AA... as given by BotFather")
        return value

    @field_validator("telegram_api_url", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None if value is None else value
        assert value is not None
        if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", value):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("admins", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(re.fullmatch(r"\d{1,15}", part) for part in parts):
                raise ValueError("must be Telegram user ids separated by commas, e.g. 1234,5678")
            return tuple(int(part) for part in parts)
        return value

    @field_validator("reminder_offsets", mode="before")
    @classmethod
    def _offsets(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not parts or not all(re.fullmatch(r"\d{1,2}", part) for part in parts):
                raise ValueError(
                    "must be days before the follow-up separated by commas, e.g. 7,1,0"
                )
            return tuple(sorted({int(part) for part in parts}, reverse=True))
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("bot_username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        value = value.lstrip("@")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,31}", value):
            raise ValueError("must be the bot's Telegram username, e.g. dalsbot_bot")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        if value and not re.match(r"(sqlite|postgresql(\+psycopg)?)://", value):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        if value:
            # Here, not at the top: a command without a database (``dalsbot ask``) then does
            # not import SQLAlchemy.
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                make_url(value)  # e.g. a port that is not a number
            except (ArgumentError, ValueError):
                # Not the URL itself in the message: it may hold a password.
                raise ValueError(
                    "is not a valid database URL (check host, port and quoting)"
                ) from None
        if value.startswith("postgresql://"):
            return "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'dalsbot.sqlite3'}"
        return self

    @property
    def tz(self) -> ZoneInfo:
        """The local time zone as an object."""
        return ZoneInfo(self.timezone)

    @property
    def local_mode(self) -> bool:
        """True when no Telegram token is set: the bot runs against the local stand-in."""
        return self.telegram_token is None

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded default database."""
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Build the settings once, turning a validation error into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "settings"
        name = f"DALSBOT_{where.upper()}" if where != "settings" else "settings"
        message = error["msg"].removeprefix("Value error, ")
        raise SettingsError(f"Invalid setting {name}: {message}") from None
