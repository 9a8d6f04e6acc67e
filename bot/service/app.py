"""The GitHub App as a Flask application factory.

Production: ``gunicorn 'bot.service.app:create_app()'``; development: ``challenge-bot serve``.
Secrets come from the environment when the app is created, never at import.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from flask import Flask

from bot.service import logs
from bot.service import settings as settings_mod
from bot.service.workers import Service
from bot.service.store import DeliveryStore


class Bot:
    """What the webhook needs at hand: settings, the store, and a way to wake the workers."""

    def __init__(self, settings: settings_mod.Settings, store: DeliveryStore, service: Service) -> None:
        self.settings, self.store, self.service = settings, store, service

    def notify(self) -> None:
        self.service.notify()


def create_app(config: Mapping[str, Any] | None = None, gateway_factory: Callable[[int, str], Any] | None = None, environ: Mapping[str, str] | None = None) -> Flask:
    """Build the webhook service. ``config`` overrides settings by name (see ``bot.service.settings``);
    ``gateway_factory(installation_id, repo)`` replaces the GitHub App client (tests, Actions)."""
    from bot.service.webhook import blueprint

    settings = settings_mod.load(environ, config)
    logs.setup(settings.log_level)
    if gateway_factory is None:
        gateway_factory = _app_gateways(settings)
    store = DeliveryStore(settings.db_path)
    service = Service(store, gateway_factory, workers=settings.workers, max_attempts=settings.max_attempts)
    app = Flask("challenge_bot")
    app.config["MAX_CONTENT_LENGTH"] = settings_mod.MAX_PAYLOAD
    app.extensions["challenge_bot"] = Bot(settings, store, service)
    app.register_blueprint(blueprint)
    if settings.workers:
        service.start()
    return app


def _app_gateways(settings: settings_mod.Settings) -> Callable[[int, str], Any]:
    if not settings.app_id or not settings.private_key:
        raise settings_mod.SettingsError("GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH) are required to talk to GitHub")
    from bot.github.pygithub import AppGateways

    return AppGateways(settings.app_id, settings.private_key, settings.api_url, write_interval=settings.write_interval)
