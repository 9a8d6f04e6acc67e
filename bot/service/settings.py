"""The service's settings: from the environment when the app is created (never at import), or overrides."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, NamedTuple

MAX_PAYLOAD = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB; anything bigger is not from GitHub


try:  # gunicorn prints an AppImportError raised while loading the app as one line, with no traceback
    from gunicorn.errors import AppImportError as _StartupError  # type: ignore[import-untyped]
except ImportError:  # no gunicorn (tests, `challenge-bot serve`): the CLI prints the one line itself
    _StartupError = Exception


class SettingsError(_StartupError):
    """A missing or invalid setting, naming the environment variable (and the path, for a file)."""


class Settings(NamedTuple):
    webhook_secret: str
    app_id: str | None
    private_key: str | None
    api_url: str
    db_path: str  # a SQLite file, or a postgresql:// URL
    workers: int
    write_interval: float
    max_attempts: int
    log_level: str
    lease_seconds: float
    sweep_interval: float  # 0: no reconciliation sweep
    stall_seconds: float  # /healthz says 503 when the queue has not moved for this long
    coalesce_seconds: float  # a review or index delivery waits this long for later ones of its pull request or branch


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
    "lease_seconds": "CHALLENGE_BOT_LEASE_SECONDS",
    "sweep_interval": "CHALLENGE_BOT_SWEEP_INTERVAL",
    "stall_seconds": "CHALLENGE_BOT_STALL_SECONDS",
    "coalesce_seconds": "CHALLENGE_BOT_COALESCE_SECONDS",
}
DEFAULTS = {
    "api_url": "https://api.github.com",
    "db_path": "challenge-bot.sqlite3",
    "workers": "4",
    "write_interval": "1.0",
    "max_attempts": "5",
    "log_level": "INFO",
    "lease_seconds": "60",
    "sweep_interval": "900",
    "stall_seconds": "300",
    "coalesce_seconds": "2",
}
DB_SCHEMES = ("postgresql://", "postgres://")


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
        db_path=_database(str(raw["db_path"])),
        workers=_number(raw, "workers", int, 0),
        write_interval=_number(raw, "write_interval", float, 0.0),
        max_attempts=_number(raw, "max_attempts", int, 1),
        log_level=str(raw["log_level"]).upper(),
        lease_seconds=_number(raw, "lease_seconds", float, 5.0),
        sweep_interval=_number(raw, "sweep_interval", float, 0.0),
        stall_seconds=_number(raw, "stall_seconds", float, 0.1),
        coalesce_seconds=_number(raw, "coalesce_seconds", float, 0.0),
    )


def _database(target: str) -> str:
    """A file path (SQLite) or a PostgreSQL URL; any other URL, or a file in a folder that does not
    exist, is a mistake named at start (SQLite creates the file, never its folder)."""
    if "://" in target and not target.startswith(DB_SCHEMES):
        raise SettingsError(f"CHALLENGE_BOT_DB must be a file path (SQLite) or a postgresql:// URL, got a {target.split('://', 1)[0]}:// URL")
    if "://" not in target:
        folder = Path(target).parent
        if not folder.is_dir():
            raise SettingsError(f"CHALLENGE_BOT_DB={target}: the folder {folder} does not exist; create it (on persistent storage) or point CHALLENGE_BOT_DB at a file in a folder that does")
    return target


def _number(raw: Mapping[str, Any], name: str, kind: type, minimum: float) -> Any:
    try:
        value = kind(raw[name])
    except (TypeError, ValueError):
        raise SettingsError(f"{ENV[name]} must be a number, got {raw[name]!r}") from None
    if value < minimum:
        raise SettingsError(f"{ENV[name]} must be at least {minimum}, got {value}")
    return value
