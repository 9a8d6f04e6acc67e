"""The GitHub-facing commands: serve (the App), report and publish-index (Actions).

Imported lazily: none of this, nor Flask or PyGithub, is loaded for `check`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bot.core import messages


def add_github_commands(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run the GitHub App webhook service for development")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=cmd_serve)

    worker = sub.add_parser("worker", help="process recorded deliveries in a process of its own (next to gunicorn)")
    worker.add_argument("--threads", type=int, default=None, help="worker threads (default: CHALLENGE_BOT_WORKERS or 4)")
    worker.add_argument("--nice", type=int, default=10, help="lower this process's CPU priority so acknowledgements come first (default: 10)")
    worker.set_defaults(run=cmd_worker)

    report = sub.add_parser("report", help="publish a check result on its pull request (GitHub Actions, workflow_run)")
    report.add_argument("--result", required=True, metavar="FILE", help="the result file written by `check --result`")
    report.add_argument("--event", metavar="FILE", help="the workflow_run event (default: $GITHUB_EVENT_PATH)")
    report.set_defaults(run=cmd_report)

    publish = sub.add_parser("publish-index", help="regenerate the index and commit it on GitHub (GitHub Actions)")
    publish.add_argument("--branch", help="the branch to update (default: the repository's default branch)")
    publish.set_defaults(run=cmd_publish_index)


def _create_app(**overrides: object):
    """The App from the environment; a missing or bad setting is a one-line usage error."""
    from bot.service.app import create_app
    from bot.service.settings import SettingsError
    from bot.local.workspace import UsageError

    try:
        return create_app(overrides or None)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import run_simple

    app = _create_app()
    print(f"challenge-bot: listening on http://{args.host}:{args.port}/webhook", file=sys.stderr)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import signal
    import threading

    if args.nice:
        os.nice(args.nice)  # the webhook answers GitHub within seconds; background work can wait a moment
    app = _create_app(**({"workers": args.threads} if args.threads is not None else {}))
    service = app.extensions["challenge_bot"].service
    threads = app.extensions["challenge_bot"].settings.workers
    if threads < 1:
        from bot.local.workspace import UsageError

        raise UsageError("a worker needs at least one thread (--threads or CHALLENGE_BOT_WORKERS)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"challenge-bot: worker running with {threads} threads", file=sys.stderr)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    service.stop()
    return 0


def _env(name: str) -> str:
    from bot.local.workspace import UsageError

    value = os.environ.get(name)
    if not value:
        raise UsageError(f"{name} is not set; this command runs in GitHub Actions (or set it yourself)")
    return value


def _gateway():
    from bot.github.pygithub import DEFAULT_API_URL, TokenGateways

    api = os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL
    return TokenGateways(_env("GITHUB_TOKEN"), api, write_interval=None)(None, _env("GITHUB_REPOSITORY"))


def _output(**values: str) -> None:
    """Step outputs for later steps, through $GITHUB_OUTPUT when it is set."""
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in values.items())


def cmd_report(args: argparse.Namespace) -> int:
    from bot.github import actions
    from bot.github import result as result_mod
    from bot.cli.main import load_repository
    from bot.core.payload import PayloadError
    from bot.github.remote import Cache
    from bot.local.workspace import UsageError

    _, cfg = load_repository(args)  # the base branch's config: the one in this trusted checkout
    event_path = Path(args.event or _env("GITHUB_EVENT_PATH"))
    try:
        event = json.loads(event_path.read_bytes())
        raw = Path(args.result).read_bytes()
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the event or the result: {exc}") from None
    try:
        result = result_mod.load(raw)
        outcome = actions.report(_gateway(), event, result, cfg, Cache())
    except (result_mod.ResultError, PayloadError) as exc:
        raise UsageError(f"refusing the result: {exc}") from None
    print(f"challenge-bot: {outcome}")
    _output(outcome=outcome)
    return 0


def cmd_publish_index(args: argparse.Namespace) -> int:
    from bot.github.publish import publish_index
    from bot.github.remote import Cache

    gateway = _gateway()
    branch = args.branch or gateway.default_branch()
    outcome = publish_index(gateway, branch, Cache())
    detail = {"unchanged": messages.INDEX_CURRENT, "committed": f"Committed {outcome.sha} on {branch}.", "pull-request": f"Opened or updated pull request #{outcome.number}."}
    print(detail[outcome.kind])
    _output(outcome=outcome.kind, sha=outcome.sha or "", pull_request=str(outcome.number or ""))
    return 0
