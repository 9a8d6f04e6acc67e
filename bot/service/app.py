"""The GitHub App as a Flask application factory.

Production: ``gunicorn 'bot.service.app:create_app()'``; development: ``challenge-bot serve``.
Secrets come from the environment when the app is created, never at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from flask import Flask

from bot.github.gateway import AppApi, Gateways
from bot.service import logs
from bot.service import settings as settings_mod
from bot.service.metrics import MeteredGates, Metrics
from bot.service.store import Store, StoreError, open_store
from bot.service.sweep import Sweeper
from bot.service.webhook import Receiver, blueprint
from bot.service.workers import Service

if TYPE_CHECKING:
    from bot.github.pygithub import AppGateways


class Bot:
    """What the webhook needs at hand: settings, the store, metrics, and a way to wake the workers."""

    def __init__(self, settings: settings_mod.Settings, store: Store, service: Service, metrics: Metrics) -> None:
        self.settings, self.store, self.service, self.metrics = settings, store, service, metrics

    def notify(self) -> None:
        self.service.notify()


def create_app(config: Mapping[str, Any] | None = None, gateway_factory: Gateways | None = None, environ: Mapping[str, str] | None = None,
               app_api: AppApi | None = None) -> Flask:
    """Build the webhook service. ``config`` overrides settings by name (see ``bot.service.settings``);
    ``gateway_factory(installation_id, repo)`` replaces the GitHub App client and ``app_api`` the App's
    own calls (webhook deliveries, installations: the sweep's; tests). With a ``gateway_factory`` and no
    ``app_api`` there is no sweep."""
    settings = settings_mod.load(environ, config)
    logs.setup(settings.log_level)
    if gateway_factory is None and (not settings.app_id or not settings.private_key):
        raise settings_mod.SettingsError("GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH) are required to talk to GitHub")
    try:
        store = open_store(settings.db_path, lease_seconds=settings.lease_seconds)
    except StoreError as exc:  # a bad location or a schema newer than this code; an unreachable server is not one
        raise settings_mod.SettingsError(f"CHALLENGE_BOT_DB: {exc}") from None
    metrics = Metrics(store)
    budgets = None
    if gateway_factory is None:
        app_gateways = _app_gateways(settings, metrics)
        gateway_factory, app_api, budgets = app_gateways, app_gateways, app_gateways.gates.budgets
    sweeper = None
    if app_api is not None:
        sweeper = Sweeper(store, gateway_factory, app_api, count=lambda kind, n: metrics.repairs.labels(kind).inc(n))
    service = Service(store, gateway_factory, workers=settings.workers, max_attempts=settings.max_attempts, metrics=metrics,
                      sweeper=sweeper, sweep_interval=settings.sweep_interval, budgets=budgets)
    app = Flask("challenge_bot")
    app.config["MAX_CONTENT_LENGTH"] = settings_mod.MAX_PAYLOAD
    bot = app.extensions["challenge_bot"] = Bot(settings, store, service, metrics)
    app.register_blueprint(blueprint)
    app.wsgi_app = Receiver(bot, app.wsgi_app)  # type: ignore[method-assign]
    if settings.workers:
        service.start()
    return app


def _app_gateways(settings: settings_mod.Settings, metrics: Metrics) -> AppGateways:
    from bot.github.pygithub import APP_MAX_WAIT, AppGateways  # PyGithub loads only when the App talks to GitHub itself

    assert settings.app_id and settings.private_key
    gates = MeteredGates(metrics, max_wait=APP_MAX_WAIT)  # GitHub's answers by status, and the budget left, in /metrics
    return AppGateways(settings.app_id, settings.private_key, settings.api_url, write_interval=settings.write_interval, gates=gates)
