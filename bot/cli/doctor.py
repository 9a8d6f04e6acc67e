"""`challenge-bot doctor`: what a maintainer needs to know before trusting a setup.

Each check prints one line: ``ok``, ``problem`` (the exit status is then 1) or
``skipped`` with the reason. The config and its template are checked for every
repository; the store, the App settings and GitHub only where the environment
says the bot runs as an App (or, for GitHub, in Actions with a token).
"""

from __future__ import annotations

import argparse
import os
from typing import NamedTuple

from bot.core import messages as m

APP_SETTINGS = ("GITHUB_WEBHOOK_SECRET", "GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_PRIVATE_KEY_PATH")


class Check(NamedTuple):
    status: str  # ok, problem, skipped
    name: str
    detail: str


def add_command(sub: argparse._SubParsersAction) -> None:
    doctor = sub.add_parser("doctor", help="check the setup: config, template, store, App settings, GitHub access")
    doctor.add_argument("--repo", metavar="OWNER/NAME", help="the repository the App is installed on (default: $GITHUB_REPOSITORY)")
    doctor.set_defaults(run=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    checks = [*_config(args), *_service(args)]
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"{c.status:<8} {c.name:<{width}}  {c.detail}")
    problems = sum(c.status == "problem" for c in checks)
    print(m.DOCTOR_PROBLEMS.format(count=problems) if problems else m.DOCTOR_OK)
    return 1 if problems else 0


def _config(args: argparse.Namespace) -> list[Check]:
    from bot.cli.repository import load_repository  # the CLI's own way to find the repository and its config
    from bot.core.config import ConfigError  # what loading it raises
    from bot.local.workspace import UsageError  # idem, when there is no config at all

    try:
        _, cfg = load_repository(args)
    except ConfigError as exc:
        if exc.key == "paths.template":  # the config itself is valid; its template is not there
            return [Check("ok", "config", m.DOCTOR_CONFIG_VALID.format(file=exc.file)), Check("problem", "template", str(exc))]
        return [Check("problem", "config", str(exc)), Check("skipped", "template", m.DOCTOR_NO_CONFIG)]
    except UsageError as exc:
        return [Check("problem", "config", str(exc)), Check("skipped", "template", m.DOCTOR_NO_CONFIG)]
    valid = m.CONFIG_VALID.format(file=cfg.source, sections=len(cfg.sections), models=len(cfg.models), tags=len(cfg.tags))
    template = m.DOCTOR_TEMPLATE.format(path=cfg.template_path)
    return [Check("ok", "config", valid), Check("ok", "template", template)]


def _service(args: argparse.Namespace) -> list[Check]:
    repo = args.repo or os.environ.get("GITHUB_REPOSITORY")
    if not any(os.environ.get(name) for name in APP_SETTINGS):
        skipped = [Check("skipped", "store", m.DOCTOR_NO_APP), Check("skipped", "app settings", m.DOCTOR_NO_APP)]
        return skipped + [_token_access(repo)]
    from bot.service import settings as settings_mod  # only an App deployment needs the service's settings

    try:
        settings = settings_mod.load()
    except settings_mod.SettingsError as exc:
        return [Check("skipped", "store", m.DOCTOR_SETTINGS_FIRST), Check("problem", "app settings", str(exc)), Check("skipped", "github", m.DOCTOR_SETTINGS_FIRST)]
    missing = [name for name, value in (("GITHUB_APP_ID", settings.app_id), ("GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH", settings.private_key)) if not value]
    store = _store(settings.db_path)
    if missing:
        return [store, Check("problem", "app settings", m.DOCTOR_MISSING.format(names=" and ".join(missing))), Check("skipped", "github", m.DOCTOR_SETTINGS_FIRST)]
    present = Check("ok", "app settings", m.DOCTOR_APP_SETTINGS.format(app_id=settings.app_id, api=settings.api_url))
    return [store, present, _app_access(settings.app_id or "", settings.private_key or "", settings.api_url, repo)]


def _store(target: str) -> Check:
    from bot.service.store import StoreError, open_store  # only an App deployment has a store

    try:
        store = open_store(target)
    except StoreError as exc:
        return Check("problem", "store", f"CHALLENGE_BOT_DB={target}: {exc}")
    try:
        return Check("ok", "store", m.DOCTOR_STORE.format(location=store.location))
    finally:
        store.close()


def _app_access(app_id: str, key: str, api: str, repo: str | None) -> Check:
    if not repo:
        return Check("skipped", "github", m.DOCTOR_NO_REPO)
    from bot.core.github_data import GatewayError  # only a check that talks to GitHub needs these
    from bot.github.pygithub import AppGateways  # PyGithub: loaded for this check alone

    try:
        installation = AppGateways(app_id, key, api, write_interval=None).installation_id(repo)
    except GatewayError as exc:
        return Check("problem", "github", m.DOCTOR_APP_FAILED.format(app_id=app_id, repo=repo, api=api, error=exc))
    except ValueError as exc:  # a private key that is no PEM key cannot sign the App's token
        return Check("problem", "github", m.DOCTOR_BAD_KEY.format(error=exc))
    return Check("ok", "github", m.DOCTOR_APP_REACHED.format(app_id=app_id, repo=repo, installation=installation, api=api))


def _token_access(repo: str | None) -> Check:
    token = os.environ.get("GITHUB_TOKEN")
    if not token:
        return Check("skipped", "github", m.DOCTOR_NO_CREDENTIALS)
    if not repo:
        return Check("skipped", "github", m.DOCTOR_NO_REPO)
    from bot.core.github_data import GatewayError  # only a check that talks to GitHub needs these
    from bot.github.pygithub import DEFAULT_API_URL, TokenGateways  # PyGithub: loaded for this check alone

    api = os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL
    try:
        branch = TokenGateways(token, api, write_interval=None)(None, repo).default_branch()
    except GatewayError as exc:
        return Check("problem", "github", m.DOCTOR_TOKEN_FAILED.format(repo=repo, api=api, error=exc))
    return Check("ok", "github", m.DOCTOR_TOKEN_REACHED.format(repo=repo, branch=branch, api=api))
