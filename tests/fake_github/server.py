"""``FakeGitHub``: the state served over real HTTP on loopback, every exchange spec-checked.

Lifecycle of a request: route (derived from openapi.json) -> request validation -> injected
fault -> authentication -> handler (under the state lock) -> response validation -> log.
"""

from __future__ import annotations

import functools
import hashlib
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from . import allowlist, graphql
from .auth import JWT_OPERATIONS, Authenticator, throwaway_private_key_pem
from .errors import DOCS, GitHubError, not_found
from .faults import Faults
from .hooks import Hooks
from .loopback import LoopbackServer
from .payloads import Payloads
from .render import App, Renderer
from .responses import error_response, json_response
from .routes import HANDLERS, flask_rule
from .routes.registry import FAKE_ENVIRON_KEY, current_fake
from .state import Content, GitHubState
from .validation import Operation, SpecValidator, Violation, operations

APP_PERMISSIONS = {
    "actions": "read",
    "checks": "write",
    "contents": "write",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
}
APP_EVENTS = ("check_run", "check_suite", "issue_comment", "pull_request", "push")
RATE_LIMIT = 5000  # requests per hour and credential (an installation, a token, the App's JWT)
# POST /graphql in the pipeline: it has no place in openapi.json (see graphql.py).
GRAPHQL = Operation(graphql.OPERATION_ID, "POST", "/graphql", frozenset())
# The App behind Actions' GITHUB_TOKEN (its real id and slug).
ACTIONS_APP = App(15368, "github-actions", "GitHub Actions", "github", dict(APP_PERMISSIONS), ())


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int
    operation_id: str | None
    actor: str | None
    at: float = 0.0  # time.time() when the request arrived
    bucket: str | None = None  # whose rate limit it counts against: "app", "installation:<id>", "token:<login>"


@functools.cache
def flask_app(prefix: str) -> Flask:
    """One Flask app per API prefix, shared by all fakes: building the URL map costs ~80 ms.

    Each request finds its fake in the WSGI environ (``FakeGitHub.__call__``)."""
    app = Flask(__name__)
    ops = operations()
    unmatched = {op.operation_id for op in ops} ^ set(HANDLERS)
    assert not unmatched, f"handlers and openapi.json disagree on {sorted(unmatched)}"
    for op in ops:
        view = _locked(HANDLERS[op.operation_id])
        app.add_url_rule(prefix + flask_rule(op), op.operation_id, view, methods=[op.method])
    app.add_url_rule(graphql.path(prefix), graphql.OPERATION_ID, _locked(graphql.endpoint), methods=["POST"])
    app.before_request(lambda: current_fake()._before())
    app.after_request(lambda response: current_fake()._after(response))
    app.register_error_handler(GitHubError, error_response)
    app.register_error_handler(Exception, lambda error: current_fake()._crashed(error))
    return app


def _locked(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Handlers run one at a time per fake, as state changes must not interleave."""

    @functools.wraps(handler)
    def view(**kwargs: Any) -> Response:
        with current_fake().lock:
            return handler(**kwargs)

    return view


class FakeGitHub(GitHubState):
    def __init__(
        self,
        prefix: str = "",
        *,
        app_id: int = 424242,
        installation_id: int = 7654321,
        app_slug: str = "challenge-bot",
        private_key_pem: str | None = None,
        token_ttl: timedelta = timedelta(hours=1),
    ) -> None:
        super().__init__()
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.app_id, self.installation_id, self.app_slug = app_id, installation_id, app_slug
        self.private_key_pem = private_key_pem or throwaway_private_key_pem()
        self.apps = {
            app_slug: App(app_id, app_slug, app_slug, "challenge-bot-dev", dict(APP_PERMISSIONS), APP_EVENTS),
            ACTIONS_APP.slug: ACTIONS_APP,
        }
        self.auth = Authenticator(app_id, app_slug, self.private_key_pem, token_ttl)
        self.faults = Faults()
        self.installations: dict[int, set[str] | None] = {installation_id: None}  # None: every repository
        self.hooks = Hooks(app_id)  # the App's webhook and its delivery log
        self.rate_reset = int(time.time()) + 3600  # when every credential's hourly budget starts again
        self._used: dict[str, int] = {}  # per bucket: requests counted against the budget (not 304s)
        self._exhausted: dict[str, int] = {}  # bucket -> reset time: answered 403 until then
        self.violations: list[Violation] = []
        self.requests: list[RecordedRequest] = []
        self._operations = {op.operation_id: op for op in operations()} | {graphql.OPERATION_ID: GRAPHQL}
        self._url_root: str | None = None
        self._server: LoopbackServer | None = None
        self._log_lock = threading.Lock()
        self.payloads = Payloads(self)  # webhook builders: fake.payloads.pull_request_event(...)
        self.render: Renderer
        self.validator: SpecValidator

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        self._server = LoopbackServer(self, name="fake-github").start()
        self._url_root = self._server.url
        self.render = Renderer(self, self.apps, self.base_url)
        self.validator = SpecValidator(self.base_url, self.prefix)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url_root(self) -> str:
        """``http://127.0.0.1:PORT``: where pages (``html_url``) live, without the API prefix."""
        if self._url_root is None:
            raise RuntimeError("FakeGitHub is not started")
        return self._url_root

    @property
    def base_url(self) -> str:
        """What to pass as PyGithub's ``base_url``, e.g. ``http://127.0.0.1:54321/api/v3``."""
        return self.url_root + self.prefix

    # -- test controls -------------------------------------------------------------------------

    def installation_token(self, installation_id: int | None = None) -> str:
        """A fresh installation token, as if the App had just asked for one (skips the JWT step)."""
        return self.auth.issue_installation_token(installation_id or self.installation_id)[0]

    def add_installation(self, installation_id: int, repos: list[str]) -> None:
        """Install the App a second time, on ``repos`` only (the first installation keeps the rest)."""
        self.installations[installation_id] = {r.lower() for r in repos}

    def installation_of(self, repo: str) -> int | None:
        """The installation that reaches ``repo``: one that names it, else the one on every repository."""
        named = [i for i, repos in self.installations.items() if repos is not None and repo.lower() in repos]
        everything = [i for i, repos in self.installations.items() if repos is None]
        return (named or everything or [None])[0]

    def installation_account(self, installation_id: int) -> str:
        repos = self.installations[installation_id]
        return sorted(repos)[0].split("/")[0] if repos else "octo"

    def outage(self, status: int | None = 502) -> None:
        """From now on answer every request with ``status``; ``outage(None)`` ends it (and every pending fault)."""
        self.faults.clear()
        if status is not None:
            self.faults.inject("*", status, 10**9, None, 0.0, None, False)

    def lose_response(self, operation_id: str, times: int = 1) -> None:
        """Apply the next ``times`` calls of ``operation_id``, then drop the connection unanswered."""
        if operation_id not in self._operations:
            raise ValueError(f"{operation_id!r} is not an operation in openapi.json")
        self.faults.inject(operation_id, None, times, None, 0.0, None, True, drop=True)

    def exhaust_rate_limit(self, installation_id: int | None = None, reset_in: int = 60) -> int:
        """Spend the installation's primary budget: its requests get 403 until the reset time (returned)."""
        reset = int(time.time()) + reset_in
        with self._log_lock:
            self._exhausted[f"installation:{installation_id or self.installation_id}"] = reset
        return reset

    def requests_of(self, operation_id: str | None = None) -> list[RecordedRequest]:
        with self._log_lock:
            return [r for r in self.requests if operation_id in (None, r.operation_id)]

    def add_token(self, token: str, login: str = "github-actions[bot]") -> str:
        """Accept ``token`` as a credential acting as ``login`` (e.g. an Actions GITHUB_TOKEN)."""
        app = ACTIONS_APP.slug if login == f"{ACTIONS_APP.slug}[bot]" else None
        self.auth.add_token(token, login, app)
        return token

    def inject(
        self,
        operation_id: str,
        status: int | None = 502,
        times: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
        body: dict[str, Any] | None = None,
        after_apply: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``operation_id`` (``"*"``: of any operation) with ``status``
        (None: normally), after sleeping ``delay`` seconds; ``after_apply`` performs the write first."""
        if operation_id != "*" and operation_id not in self._operations:
            raise ValueError(f"{operation_id!r} is not an operation in openapi.json")
        self.faults.inject(operation_id, status, times, retry_after, delay, body, after_apply)

    def inject_conflict_on_next_update_ref(
        self,
        repo: str,
        branch: str,
        files: dict[str, Content | None] | None = None,
        author: str = "someone-else",
    ) -> None:
        """Land another commit on ``branch`` just before the next git/update-ref of it applies."""
        self.faults.add_conflict(repo, branch, files or {"CONCURRENT_CHANGE.md": "landed first\n"}, author)

    def count(self, operation_id: str | None = None) -> int:
        with self._log_lock:
            return sum(1 for r in self.requests if operation_id in (None, r.operation_id))

    def reset_counts(self) -> None:
        with self._log_lock:
            self.requests.clear()

    def unexpected_violations(self) -> list[Violation]:
        with self._log_lock:
            return allowlist.unexpected(self.violations)

    def clear_violations(self) -> None:
        with self._log_lock:
            self.violations.clear()

    # -- serving -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        """WSGI entry: the shared Flask app for this prefix, told which fake it serves."""
        environ[FAKE_ENVIRON_KEY] = self
        return flask_app(self.prefix)(environ, start_response)

    def _record(self, found: list[Violation]) -> None:
        if found:
            with self._log_lock:
                self.violations += found

    def _bucket(self, operation_id: str) -> str:
        if operation_id in JWT_OPERATIONS:
            return "app"
        identity = self.auth.peek(request.headers.get("Authorization"))
        if identity is None:
            return "anonymous"
        return f"installation:{identity.installation}" if identity.installation else f"token:{identity.login}"

    def _before(self) -> Response | None:
        g.arrived = time.time()
        if request.url_rule is None:
            message = f"{request.method} {request.path} is not one of the operations in openapi.json"
            self._record([Violation(None, "route", "unknown-route", message, request.method, request.path)])
            return error_response(not_found())
        op = self._operations[request.url_rule.endpoint]
        g.operation = op
        g.bucket = self._bucket(op.operation_id)
        if op is GRAPHQL:  # not in the REST description: checked against the GraphQL schema by graphql.endpoint
            g.bucket += "/graphql"  # GitHub counts GraphQL against a budget of its own
        else:
            self._record(self.validator.check_request(op, request))
        reset = self._exhausted.get(g.bucket)
        if reset is not None and time.time() < reset:
            g.injected = True
            return json_response(
                {"message": f"API rate limit exceeded for {g.bucket.replace(':', ' ID ')}.", "documentation_url": DOCS},
                403,
                {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
            )
        fault = g.fault = self.faults.take(op.operation_id)
        if fault:
            time.sleep(fault.delay)
            if not fault.after_apply and fault.status is not None:
                g.injected = True
                return fault.response()
        g.identity = self.auth.identify(op.operation_id, request.headers.get("Authorization"))
        return None

    def _after(self, response: Response) -> Response:
        op: Operation | None = g.get("operation")
        if op is not None and op is not GRAPHQL and not g.get("injected"):
            # Injected errors are GitHub misbehaving on purpose: they skip validation.
            self._record(self.validator.check_response(op, request, response))
        fault = g.get("fault")
        if fault is not None and fault.after_apply:
            response = fault.response() or response
        if op is not None and op.conditional and response.status_code == 200:
            response = self._conditional(response)
        identity = g.get("identity")
        bucket = g.get("bucket")
        with self._log_lock:
            self.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=dict(request.args),
                    status=0 if fault is not None and fault.drop else response.status_code,
                    operation_id=op.operation_id if op else None,
                    actor=identity.login if identity else None,
                    at=g.get("arrived", 0.0),
                    bucket=bucket,
                )
            )
            if bucket is not None and response.status_code != 304:  # a 304 costs no budget
                self._used[bucket] = self._used.get(bucket, 0) + 1
            limits = self._rate_limit_headers(bucket)
        for name, value in limits.items():
            response.headers.setdefault(name, value)
        if fault is not None and fault.drop:
            return _dropped(request.environ)
        return response

    def _conditional(self, response: Response) -> Response:
        """GitHub's ETag on a read that can be conditional, and 304 (no body) when it matches."""
        etag = 'W/"' + hashlib.sha1(response.get_data()).hexdigest() + '"'
        if etag in (request.headers.get("If-None-Match") or ""):
            return Response(status=304, headers={"ETag": etag})
        response.headers["ETag"] = etag
        return response

    def _rate_limit_headers(self, bucket: str | None) -> dict[str, str]:
        used = self._used.get(bucket or "", 0)
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(max(RATE_LIMIT - used, 0)),
            "X-RateLimit-Used": str(used),
            "X-RateLimit-Reset": str(self.rate_reset),
            "X-RateLimit-Resource": "graphql" if (bucket or "").endswith("/graphql") else "core",
            "X-GitHub-Media-Type": "github.v3; format=json",
        }

    def _crashed(self, error: Exception) -> Response:
        """A bug in the fake itself: answer 500 and fail the test through a violation."""
        if isinstance(error, HTTPException):
            return error_response(GitHubError(error.code or 500, error.description))
        op: Operation | None = g.get("operation")
        message = f"fake crashed:\n{traceback.format_exc()}"
        operation_id = op.operation_id if op else None
        self._record([Violation(operation_id, "response", "other", message, request.method, request.path, 500)])
        return json_response({"message": f"fake crashed: {error!r}", "documentation_url": "fake"}, 500)


def _dropped(environ: dict[str, Any]) -> Response:
    """A response that never arrives: the body iterator shuts the socket and reports the drop to werkzeug."""

    def body() -> Any:
        connection = environ.get("werkzeug.socket")
        if connection is not None:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise ConnectionError("fake GitHub dropped the connection after applying the request")
        yield b""  # a generator: werkzeug starts it only when it sends the response

    return Response(body(), status=200)
