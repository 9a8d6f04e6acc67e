"""The GitHub-facing commands: serve (the App), report and publish-index (Actions).

Imported lazily: none of this, nor Flask or PyGithub, is loaded for `check`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core import messages
from bot.local.workspace import UsageError

if TYPE_CHECKING:
    from flask import Flask

    from bot.github.gateway import Gateway


def add_github_commands(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run the GitHub App webhook service for development")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=cmd_serve)

    worker = sub.add_parser("worker", help="process recorded deliveries in a process of its own (next to gunicorn)")
    worker.add_argument("--threads", type=int, default=None, help="worker threads (default: CHALLENGE_BOT_WORKERS or 4)")
    worker.add_argument("--nice", type=int, default=10, help="lower this process's CPU priority so acknowledgements come first (default: 10)")
    worker.set_defaults(run=cmd_worker)

    store = sub.add_parser("store", help="the delivery store").add_subparsers(dest="store_command", required=True, metavar="COMMAND")
    migrate = store.add_parser("migrate", help="copy waiting deliveries from one store to another (stop the processes using FROM first)")
    migrate.add_argument("source", metavar="FROM", help="a SQLite file or a postgresql:// URL")
    migrate.add_argument("target", metavar="TO", help="a SQLite file or a postgresql:// URL (created or upgraded as needed)")
    migrate.add_argument("--finished", action="store_true", help="copy finished deliveries too, so redeliveries of them are still recognised")
    migrate.set_defaults(run=cmd_store_migrate)

    report = sub.add_parser("report", help="publish a check result on its pull request (GitHub Actions, workflow_run)")
    report.add_argument("--result", required=True, metavar="FILE", help="the result file written by `check --result`")
    report.add_argument("--event", metavar="FILE", help="the workflow_run event (default: $GITHUB_EVENT_PATH)")
    report.add_argument(
        "--commands", type=_command_list, default=(), metavar="LIST",
        help="the comment commands a workflow of the repository answers, comma-separated (recheck,regenerate-index,help; default: none): the summary names only those",
    )
    report.set_defaults(run=cmd_report)

    comment = sub.add_parser("comment-command", help="answer /challenge-bot commands in a comment (GitHub Actions, issue_comment)")
    comment.add_argument("--event", metavar="FILE", help="the issue_comment event (default: $GITHUB_EVENT_PATH)")
    comment.set_defaults(run=cmd_comment_command)

    from bot.cli.doctor import add_command  # doctor: the maintainer's check of a setup

    add_command(sub)

    publish = sub.add_parser("publish-index", help="regenerate the index and commit it on GitHub (GitHub Actions)")
    publish.add_argument("--branch", help="the branch to update (default: the repository's default branch)")
    publish.set_defaults(run=cmd_publish_index)


def _create_app(**overrides: object) -> Flask:
    """The App from the environment; a missing or bad setting is a one-line usage error."""
    # Flask, the store and PyGithub load only for the commands that run the App.
    from bot.service.app import create_app
    from bot.service.settings import SettingsError
    try:
        return create_app(overrides or None)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import run_simple  # Flask's stack, only for `serve`

    app = _create_app()
    print(f"challenge-bot: listening on http://{args.host}:{args.port}/webhook", file=sys.stderr)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    if args.nice:
        os.nice(args.nice)  # the webhook answers GitHub within seconds; background work can wait a moment
    app = _create_app(**({"workers": args.threads} if args.threads is not None else {}))
    service = app.extensions["challenge_bot"].service
    threads = app.extensions["challenge_bot"].settings.workers
    if threads < 1:
        raise UsageError("a worker needs at least one thread (--threads or CHALLENGE_BOT_WORKERS)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"challenge-bot: worker running with {threads} threads", file=sys.stderr)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    service.stop()
    app.extensions["challenge_bot"].store.close()  # say goodbye to the database rather than drop the connections
    return 0


def cmd_store_migrate(args: argparse.Namespace) -> int:
    from bot.service.store import StoreError, open_store  # likewise
    from bot.service.store.migrate import migrate  # likewise

    if "://" not in args.source and not Path(args.source).is_file():
        raise UsageError(f"store migrate: no SQLite store at {args.source}")
    try:
        source = open_store(args.source)
        target = open_store(args.target)
        try:
            moved = migrate(source, target, finished=args.finished)
        finally:
            source.close()
            target.close()
    except StoreError as exc:  # a bad location, a newer schema, or a database that cannot be reached
        raise UsageError(f"store migrate: {exc}") from None
    print(f"challenge-bot: copied {moved.waiting} waiting and {moved.finished} finished deliveries "
          f"from {source.location} to {target.location} ({moved.skipped} were there already)")
    return 0


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise UsageError(f"{name} is not set; this command runs in GitHub Actions (or set it yourself)")
    return value


def _gateway() -> Gateway:
    from bot.github.pygithub import DEFAULT_API_URL, TokenGateways  # PyGithub, only for the Actions commands

    api = os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL
    return TokenGateways(_env("GITHUB_TOKEN"), api, write_interval=None)(None, _env("GITHUB_REPOSITORY"))


def _output(**values: str) -> None:
    """Step outputs for later steps, through $GITHUB_OUTPUT when it is set."""
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in values.items())


def _command_list(text: str) -> tuple[str, ...]:
    from bot.core.commands import KNOWN  # only `report --commands` needs it

    names = tuple(name.strip() for name in text.split(",") if name.strip() and name.strip() != "none")
    unknown = [name for name in names if name not in KNOWN]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown command {unknown[0]!r}; known: {', '.join(KNOWN)}, or none")
    return names


EVENT_LIMIT = 25 * 1024 * 1024  # GitHub's cap on an event payload


def _read_bounded(path: Path, limit: int, what: str) -> bytes:
    """A file the job was handed (an artifact, an event): its size is looked at before a byte is
    read, and no more than ``limit`` + 1 bytes are ever read, whatever the file system says."""
    from bot.core.context import REGULAR  # the kind of entry a file must be
    from bot.local.workspace import read_entry  # the bounded reader of `check`, for untrusted files too

    entry = read_entry(path, limit, None)
    if entry.kind != REGULAR:
        raise UsageError(f"refusing the {what}: {path} is not a regular file")
    if entry.data is None:
        raise UsageError(f"refusing the {what}: the {what} file is {entry.size} bytes; at most {limit} are accepted")
    return entry.data


def _event(args: argparse.Namespace) -> dict:

    raw = _read_bounded(Path(args.event or _env("GITHUB_EVENT_PATH")), EVENT_LIMIT, "event")
    try:
        event = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"cannot read the event: {exc}") from None
    if not isinstance(event, dict):
        raise UsageError("cannot read the event: not a JSON object")
    return event


def cmd_report(args: argparse.Namespace) -> int:
    from bot.github import actions  # report: the Actions front end
    from bot.github import result as result_mod  # report: the untrusted result file
    from bot.cli.repository import load_repository  # report: the default branch's config
    from bot.core.payload import PayloadError  # report: a malformed event
    from bot.github.remote import Cache  # report: what the App keeps between deliveries

    _, cfg = load_repository(args)  # the base branch's config: the one in this trusted checkout
    event = _event(args)
    raw = _read_bounded(Path(args.result), result_mod.MAX_BYTES, "result")
    try:
        result = result_mod.load(raw)
        outcome = actions.report(_gateway(), event, result, cfg, Cache(), args.commands)
    except (result_mod.ResultError, PayloadError) as exc:
        raise UsageError(f"refusing the result: {exc}") from None
    print(f"challenge-bot: {outcome}")
    _output(outcome=outcome)
    return 0


def cmd_comment_command(args: argparse.Namespace) -> int:
    """What the App does with an ``issue_comment`` delivery, run by a workflow of the default branch:
    the comment is data, the pull request's files are read through the API (never its code run),
    and ``regenerate-index`` asks GitHub for the commenter's permission first."""
    from bot.github.remote import Cache  # what the App keeps between deliveries, for this one
    from bot.service import handlers  # the App's own handler: the same answers in both modes

    event = _event(args)
    route = handlers.router.route("issue_comment", event.get("action"))
    if route is None or not route.accepts(event):
        outcome = "ignored: no command for the bot"
    else:
        from bot.core.payload import PayloadError  # only a comment with a command is read further
        from bot.local.workspace import UsageError  # idem

        try:
            outcome = route.handler(handlers.Context(_gateway(), Cache()), event)
        except PayloadError as exc:
            raise UsageError(f"cannot read the event: {exc}") from None
    print(f"challenge-bot: {outcome}")
    _output(outcome=outcome)
    return 0


def cmd_publish_index(args: argparse.Namespace) -> int:
    # The GitHub edge loads only for the Actions commands.
    from bot.github.publish import publish_index
    from bot.github.remote import Cache

    gateway = _gateway()
    branch = args.branch or gateway.default_branch()
    outcome = publish_index(gateway, branch, Cache())
    detail = {"unchanged": messages.INDEX_CURRENT, "committed": f"Committed {outcome.sha} on {branch}.", "pull-request": f"Opened or updated pull request #{outcome.number}."}
    print(detail[outcome.kind])
    _output(outcome=outcome.kind, sha=outcome.sha or "", pull_request=str(outcome.number or ""))
    return 0
