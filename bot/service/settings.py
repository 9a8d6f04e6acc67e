"""The service's settings: from the environment when the app is created (never at import), or overrides."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, NamedTuple

MAX_PAYLOAD = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB; anything bigger is not from GitHub


class SettingsError(Exception):
    """A missing or invalid setting, naming the environment variable."""


class Settings(NamedTuple):
    webhook_secret: str
    app_id: str | None
    private_key: str | None
    api_url: str
    db_path: str
    workers: int
    write_interval: float
    max_attempts: int
    log_level: str


ENV = {
    "webhook_secret": "GITHUB_WEBHOOK_SECRET",
    "app_id": "GITHUB_APP_ID",
    "private_key": "GITHUB_PRIVATE_KEY",
    "private_key_path": "GITHUB_PRIVATE_KEY_PATH",
    "api_url": "GITHUB_API_URL",
    "db_path": "CHALLENGE_BOT_DB",
    "workers": "CHALLENGE_BOT_WORKERS",
    "write_interval": "CHALLENGE_BOT_WRITE_INTERVAL",
    "max_attempts": "CHALLENGE_BOT_MAX_ATTEMPTS",
    "log_level": "CHALLENGE_BOT_LOG_LEVEL",
}
DEFAULTS = {
    "api_url": "https://api.github.com",
    "db_path": "challenge-bot.sqlite3",
    "workers": "4",
    "write_interval": "1.0",
    "max_attempts": "5",
    "log_level": "INFO",
}


def load(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from ``environ`` (default: os.environ), with ``overrides`` (by field name) on top."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {name: environ.get(var) for name, var in ENV.items()}
    raw = {k: v for k, v in raw.items() if v not in (None, "")}
    raw = DEFAULTS | raw | dict(overrides or {})
    if not raw.get("webhook_secret"):
        raise SettingsError("GITHUB_WEBHOOK_SECRET is not set: the bot refuses to start without a secret to verify webhooks")
    key = raw.get("private_key")
    if not key and raw.get("private_key_path"):
        try:
            key = Path(raw["private_key_path"]).read_text()
        except OSError as exc:
            raise SettingsError(f"GITHUB_PRIVATE_KEY_PATH: cannot read {raw['private_key_path']}: {exc.strerror or exc}") from None
    return Settings(
        webhook_secret=str(raw["webhook_secret"]),
        app_id=str(raw["app_id"]) if raw.get("app_id") else None,
        private_key=key,
        api_url=str(raw["api_url"]).rstrip("/"),
        db_path=str(raw["db_path"]),
        workers=_number(raw, "workers", int, 0),
        write_interval=_number(raw, "write_interval", float, 0.0),
        max_attempts=_number(raw, "max_attempts", int, 1),
        log_level=str(raw["log_level"]).upper(),
    )


def _number(raw: Mapping[str, Any], name: str, kind: type, minimum: float) -> Any:
    try:
        value = kind(raw[name])
    except (TypeError, ValueError):
        raise SettingsError(f"{ENV[name]} must be a number, got {raw[name]!r}") from None
    if value < minimum:
        raise SettingsError(f"{ENV[name]} must be at least {minimum}, got {value}")
    return value
