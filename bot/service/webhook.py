"""POST /webhook, GET /healthz and GET /metrics: verify, record durably, answer at once. Transport only.

Answers: 401 missing or bad signature, 413 over 25 MiB, 415 not sent as
application/json, 400 not JSON (nested too deep included) or no event header, 200 ping, 202 recorded (or ignored:
an event the bot does not handle, or a redelivery already recorded), 503 when the delivery store is unavailable
(nothing was recorded: GitHub shows the delivery as failed, and the sweep asks for it again). A payload is never
answered with 500. A review or index delivery is recorded ready ``CHALLENGE_BOT_COALESCE_SECONDS`` later, so a
burst for one pull request is worked on once.

``/webhook`` is a plain WSGI application mounted in front of Flask (``Receiver``): every delivery pays for
the signature, one JSON parse, one insert and one log line, not for Flask's request context, URL routing
and request and response objects (a third of the acknowledgement's own CPU). The rarer pages stay on Flask.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from http import HTTPStatus
from typing import Any, Callable, Iterable

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from bot.service.handlers import router
from bot.service.metrics import CONTENT_TYPE
from bot.service.settings import MAX_PAYLOAD
from bot.core.payload import PayloadError
from bot.service.store import StoreUnavailable

blueprint = Blueprint("webhook", __name__)
log = logging.getLogger("challenge_bot")
RETRY_AFTER = 30  # seconds, in a 503's Retry-After
PATH = "/webhook"

Answer = tuple[int, dict[str, Any]]
WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode("utf-8", "replace"))


class Receiver:
    """``POST /webhook`` in front of ``app`` (everything else is passed on to it)."""

    def __init__(self, bot: Any, app: WsgiApp) -> None:
        self.bot, self.app = bot, app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            return self.app(environ, start_response)
        headers = [("Content-Type", "application/json")]
        if environ.get("REQUEST_METHOD") != "POST":
            code, body = 405, {"error": "The method is not allowed for the requested URL."}
            headers.append(("Allow", "POST"))
        else:
            try:
                code, body = receive(self.bot, environ)
            except Exception:  # a bug, never the payload's doing: GitHub marks the delivery failed, to redeliver
                log.exception("internal error while receiving a delivery", extra={"status": 500})
                code, body = 500, {"error": "internal error"}
            if code == 503:
                headers.append(("Retry-After", str(RETRY_AFTER)))
        data = (json.dumps(body, separators=(",", ":")) + "\n").encode()
        start_response(f"{code} {HTTPStatus(code).phrase}", [*headers, ("Content-Length", str(len(data)))])
        return [data]


def _count(bot: Any, event: str, outcome: str) -> None:
    bot.metrics.webhook.labels(event, outcome).inc()


class TooLarge(Exception):
    """The body is longer than GitHub ever sends."""


def read_body(environ: dict) -> bytes:
    """The request's bytes, exactly as sent (the signature covers these); TooLarge past 25 MiB, read no
    further. GitHub sends a Content-Length; a chunked body is read up to where the server ends it."""
    length = environ.get("CONTENT_LENGTH", "")
    if length.isdigit():
        wanted = int(length)
        if wanted > MAX_PAYLOAD:
            raise TooLarge
    elif environ.get("wsgi.input_terminated"):
        wanted = MAX_PAYLOAD + 1
    else:  # no length, and a server that does not end the stream: nothing can be read safely
        return b""
    stream, parts, got = environ["wsgi.input"], [], 0
    while got < wanted:
        part = stream.read(min(wanted - got, 1 << 20))
        if not part:  # the end of a chunked body, or a client that sent less than it announced (then
            break  # the signature does not match)
        parts.append(part)
        got += len(part)
    if got > MAX_PAYLOAD:
        raise TooLarge
    return b"".join(parts)


def receive(bot: Any, environ: dict) -> Answer:
    delivery_id, event = environ.get("HTTP_X_GITHUB_DELIVERY", ""), environ.get("HTTP_X_GITHUB_EVENT", "")
    extra = {"delivery": delivery_id or None, "event": event or None}
    try:
        body = read_body(environ)
    except TooLarge:
        log.warning("refused: payload too large", extra=extra | {"status": 413})
        return 413, {"error": "payload too large"}
    if not signature_ok(bot.settings.webhook_secret, body, environ.get("HTTP_X_HUB_SIGNATURE_256")):
        log.warning("refused: missing or bad signature", extra=extra | {"status": 401})
        _count(bot, "", "refused")  # the event header of an unsigned request is anyone's text: not a label
        return 401, {"error": "missing or invalid X-Hub-Signature-256"}
    if environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower() != "application/json":
        # GitHub can also send form-encoded payloads; the App is set up for JSON only.
        return 415, {"error": "set the webhook content type to application/json"}
    if not event or not delivery_id or len(delivery_id) > 100:
        return 400, {"error": "X-GitHub-Event and X-GitHub-Delivery headers are required"}
    try:
        text = body.decode("utf-8")  # GitHub sends UTF-8; the store keeps exactly this text
        payload = json.loads(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError included; a BOM is refused by json.loads on text;
        # nesting deeper than the interpreter's recursion limit is not JSON the bot can read either
        log.warning("refused: body is not UTF-8 JSON", extra=extra | {"status": 400})
        _count(bot, event, "refused")
        return 400, {"error": "body is not JSON"}
    if not isinstance(payload, dict):
        _count(bot, event, "refused")
        return 400, {"error": "body is not a JSON object"}
    if event == "ping":
        return 200, {"status": "pong"}
    return _record(bot, delivery_id, event, payload, text, extra)


def _record(bot: Any, delivery: str, event: str, payload: dict, text: str, extra: dict) -> Answer:
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    extra |= {"action": action}
    route = router.route(event, action)
    try:
        if route is None or route.internal or not route.accepts(payload):
            log.info("ignored", extra=extra | {"outcome": "ignored", "status": 202})
            _count(bot, event, "ignored")
            return 202, {"status": "ignored"}
        key = route.key(payload)
    except PayloadError as exc:
        log.warning("dropped: %s", exc, extra=extra | {"outcome": "dropped", "status": 202})
        _count(bot, event, "dropped")
        return 202, {"status": "dropped", "reason": str(exc)}
    extra |= {"repository": key.split("#")[0].split("@")[0]}
    delay = bot.settings.coalesce_seconds if route.work else 0.0  # a command is answered at once
    try:
        recorded = bot.store.record(delivery, event, action, key, text, delay=delay)
    except StoreUnavailable as exc:  # one transaction that did not commit: nothing half-written
        log.warning("refused: the delivery store is unavailable: %s", exc, extra=extra | {"outcome": "unavailable", "status": 503, "error": str(exc)})
        _count(bot, event, "unavailable")
        return 503, {"error": "the delivery store is unavailable; redeliver this delivery once /healthz answers 200"}
    if not recorded:
        log.info("redelivery of a recorded delivery", extra=extra | {"outcome": "duplicate", "status": 202})
        _count(bot, event, "duplicate")
        return 202, {"status": "duplicate"}
    bot.notify()  # a delayed one too: the worker then waits for its time
    log.info("recorded", extra=extra | {"outcome": "queued", "status": 202})
    _count(bot, event, "queued")
    return 202, {"status": "queued"}


def _answer(code: int, **body: object) -> tuple[Response, int]:
    return jsonify(body), code


@blueprint.app_errorhandler(Exception)
def internal_error(exc: Exception) -> tuple[Response, int]:
    if isinstance(exc, HTTPException):  # 404, 405 and the like: answer as Werkzeug would, in JSON
        return _answer(exc.code or 500, error=exc.description)
    log.exception("internal error", extra={"status": 500})
    return _answer(500, error="internal error")


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 with the deliveries by status; 503 saying why when the delivery store cannot be reached, or
    when the queue is stalled: a delivery has been ready for longer than ``CHALLENGE_BOT_STALL_SECONDS``
    and no worker finished one for as long (no worker runs, or all are stuck). ``?only=store`` leaves the
    queue out: for a load balancer, which should keep sending webhooks while the workers are down."""
    bot = current_app.extensions["challenge_bot"]
    store, stall = bot.store, bot.settings.stall_seconds
    try:
        counts, backlog = store.counts(), store.backlog()
    except StoreUnavailable as exc:
        response, code = _answer(503, status="unavailable", reason=str(exc), store=store.location)
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response, code
    waited, idle = backlog.oldest_ready, backlog.since_progress
    if request.args.get("only") != "store" and waited is not None and waited > stall and (idle is None or idle > stall):
        since = "no delivery was ever finished" if idle is None else f"none was finished for {idle:.0f} s"
        reason = f"stalled: a delivery has been ready for {waited:.0f} s and {since} (threshold {stall:g} s); are the workers running?"
        return _answer(503, status="stalled", reason=reason, deliveries=counts)
    return _answer(200, status="ok", deliveries=counts)


@blueprint.get("/metrics")
def metrics() -> Response:
    """Prometheus text format (see ``bot.service.metrics``)."""
    bot = current_app.extensions["challenge_bot"]
    return Response(bot.metrics.exposition(), 200, content_type=CONTENT_TYPE)
