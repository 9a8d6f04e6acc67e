"""Shared fixtures: configs, throwaway repositories, the webhook app (flaskr style), snapshots.

- ``cfg`` / ``repo``: a fixed fixture config and a knowledge base built on it; ``live_cfg``: this repository's.
- ``app`` / ``client`` / ``make_app``: the webhook service on an intent-level ``FakeGateway``, no worker
  threads (tests call ``drain()``); ``sign`` and ``deliver`` send it deliveries as GitHub does.
- ``bot``: the App as deployed, served over loopback HTTP, talking PyGithub to ``fake_github``.
- ``snapshot``: syrupy, one Markdown file per rendered message under ``tests/__snapshots__/``.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pytest
import requests
from flask import Flask
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from bot.core import config
from bot.service.app import create_app
from fake_github import FakeGitHub, payloads
from fake_github.loopback import LoopbackServer

if TYPE_CHECKING:
    from fakes import FakeGateway

REPO = Path(__file__).resolve().parent.parent
FIXTURE_REPO = Path(__file__).resolve().parent / "fixtures" / "repo"
WEBHOOK_SECRET = "webhook-secret-for-tests"


@pytest.fixture(scope="session")
def cfg() -> config.Config:
    """The config of the fixture repository: fixed, so expectations do not move as the knowledge base grows."""
    return config.load(FIXTURE_REPO)


@pytest.fixture(scope="session")
def live_cfg() -> config.Config:
    """This repository's own config, for tests about the repository itself."""
    return config.load(REPO)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A minimal knowledge-base repository with a config of its own (three models), an empty index.

    The config is a fixture, not this repository's live file, so tests do not change as models are added.
    """
    shutil.copytree(FIXTURE_REPO, tmp_path, dirs_exist_ok=True)
    for model in ("meta", "huggingface", "bloomberg"):
        (tmp_path / "case_studies" / model).mkdir(parents=True)
    (tmp_path / "README.md").write_text("# KB\n\n<!-- case-study-index:start -->\n<!-- case-study-index:end -->\n")
    return tmp_path


from fake_github.fixture import fake_github  # noqa: E402,F401  (the loopback GitHub, for the e2e tests)


# --- webhook deliveries ------------------------------------------------------------------------


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """``X-Hub-Signature-256`` of ``body``, as GitHub computes it (the fake GitHub's own signer)."""
    return payloads.sign(secret, body)


def deliver(
    client: Any,
    event: str,
    payload: Any = None,
    *,
    delivery: str = "d-1",
    secret: str = WEBHOOK_SECRET,
    body: bytes | None = None,
    content_type: str = "application/json",
) -> Any:
    """POST ``payload`` (or the raw ``body``) to ``/webhook``, signed, with GitHub's headers.

    ``client`` is a Flask test client, or anything with the same ``post(path, data=, headers=)``
    (``LiveBot``); its answer is returned as is."""
    body = json.dumps(payload).encode() if body is None else body
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(body, secret),
        "Content-Type": content_type,
    }
    return client.post("/webhook", data=body, headers=headers)


# --- the webhook app (flaskr style) ------------------------------------------------------------


@pytest.fixture
def fake_gateway() -> FakeGateway:
    """The intent-level fake the apps from ``make_app`` talk to, for every installation and repository."""
    from fakes import FakeGateway

    return FakeGateway()


@pytest.fixture
def make_app(tmp_path: Path, fake_gateway: FakeGateway) -> Iterator[Callable[..., Flask]]:
    """``create_app`` with test settings: the test secret, a throwaway store shared by every app of
    the test (a restart sees the same deliveries), no worker threads unless ``workers=`` says so.
    Keyword arguments override settings by name; the apps' workers are stopped at teardown."""
    made: list[Flask] = []

    def make(**settings: Any) -> Flask:
        # No coalescing window: a test's delivery is ready at once (tests of bursts set one).
        defaults = {"webhook_secret": WEBHOOK_SECRET, "db_path": str(tmp_path / "deliveries.sqlite3"), "workers": 0, "coalesce_seconds": 0}
        app = create_app(defaults | settings, gateway_factory=lambda installation, repository: fake_gateway)
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["challenge_bot"].service.stop()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


class LiveBot:
    """The App as deployed, over real HTTP: deliveries go through the socket, GitHub is ``fake_github``."""

    def __init__(self, app: Flask, url: str) -> None:
        self.app, self.url = app, url
        self.service = app.extensions["challenge_bot"].service
        self.store = app.extensions["challenge_bot"].store

    def post(self, path: str, data: bytes, headers: dict[str, str]) -> requests.Response:
        return requests.post(self.url + path, data=data, headers=headers, timeout=10)

    def deliver(self, event: tuple[str, dict], delivery_id: str | None = None) -> requests.Response:
        """Send ``event`` (from ``fake_github.payloads``), as a new delivery unless ``delivery_id`` repeats one."""
        name, payload = event
        return deliver(self, name, payload, delivery=delivery_id or str(uuid.uuid4()))

    def settle(self) -> None:
        assert self.service.wait_idle(30), f"deliveries still pending: {self.store.counts()}"


def bot_settings(fake_github: FakeGitHub, db_path: str) -> dict[str, Any]:
    """The settings of the App as the tests deploy it against ``fake_github``."""
    return {
        "webhook_secret": WEBHOOK_SECRET,
        "app_id": str(fake_github.app_id),
        "private_key": fake_github.private_key_pem,
        "api_url": fake_github.base_url,
        "write_interval": 0,
        "db_path": db_path,
        "workers": 2,
        "coalesce_seconds": 0,  # tests of bursts set a window
        "sweep_interval": 0,  # tests sweep when they say so: bot.service.sweep()
    }


@pytest.fixture
def make_bot(fake_github: FakeGitHub, tmp_path: Path) -> Iterator[Callable[..., LiveBot]]:
    """``make_bot(**settings)``: the webhook service with its real GitHub client (PyGithub against
    ``fake_github``), two worker threads, served on a loopback port; every bot of a test shares one store."""
    made: list[tuple[Flask, LoopbackServer]] = []

    def make(**settings: Any) -> LiveBot:
        app = create_app(bot_settings(fake_github, str(tmp_path / "deliveries.sqlite3")) | settings)
        server = LoopbackServer(app, name="challenge-bot").start()
        made.append((app, server))
        return LiveBot(app, server.url)

    yield make
    for app, server in made:
        server.stop()
        app.extensions["challenge_bot"].service.stop()


@pytest.fixture
def bot(make_bot: Callable[..., LiveBot]) -> LiveBot:
    """The App as deployed (see ``make_bot``), with the default test settings."""
    return make_bot()


# --- snapshots ---------------------------------------------------------------------------------


class MarkdownSnapshot(SingleFileSnapshotExtension):
    """One rendered message per file, exactly as GitHub receives it, plus a final newline.

    ``tests/__snapshots__/<test module>/<test>[<name>].md``. A missing snapshot fails the test;
    ``pytest --snapshot-update`` writes it (review the diff before committing it)."""

    file_extension = "md"
    _write_mode = WriteMode.TEXT

    def serialize(self, data: Any, **kwargs: Any) -> str:
        return str(super().serialize(data, **kwargs)) + "\n"  # the file is the text and one newline more


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(MarkdownSnapshot)


def without_sha(text: str, sha: str) -> str:
    """``text`` with the commit id ``sha`` (whole or in short) written as ``<head>``, for snapshots:
    commit ids depend on commit times and on how the fake computes them."""
    return text.replace(sha, "<head>").replace(sha[:7], "<head>")


@pytest.fixture
def run(repo, monkeypatch, capsys):
    """Run the CLI in the ``repo`` fixture: (exit status, stdout, stderr)."""
    from bot.cli.main import main

    monkeypatch.chdir(repo)

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
