"""POST /webhook and GET /healthz: verify, record durably, answer at once. Transport only.

Answers: 401 missing or bad signature, 413 over 25 MiB, 415 not sent as
application/json, 400 not JSON or no event header, 200 ping, 202 recorded (or ignored: an event the bot does not
handle, or a redelivery already recorded). A payload is never answered with 500.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.service.handlers import router
from bot.core.payload import PayloadError

blueprint = Blueprint("webhook", __name__)
log = logging.getLogger("challenge_bot")


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode("utf-8", "replace"))


def _answer(code: int, **body: object) -> tuple[Response, int]:
    return jsonify(body), code


@blueprint.post("/webhook")
def webhook() -> tuple[Response, int]:
    bot = current_app.extensions["challenge_bot"]
    delivery = request.headers.get("X-GitHub-Delivery", "")
    event = request.headers.get("X-GitHub-Event", "")
    extra = {"delivery": delivery or None, "event": event or None}
    try:
        body = request.get_data(cache=False)  # the raw bytes: the signature covers exactly these
    except RequestEntityTooLarge:
        log.warning("refused: payload too large", extra=extra | {"status": 413})
        return _answer(413, error="payload too large")
    if not signature_ok(bot.settings.webhook_secret, body, request.headers.get("X-Hub-Signature-256")):
        log.warning("refused: missing or bad signature", extra=extra | {"status": 401})
        return _answer(401, error="missing or invalid X-Hub-Signature-256")
    if request.mimetype != "application/json":
        # GitHub can also send form-encoded payloads; the App is set up for JSON only.
        return _answer(415, error="set the webhook content type to application/json")
    if not event or not delivery or len(delivery) > 100:
        return _answer(400, error="X-GitHub-Event and X-GitHub-Delivery headers are required")
    try:
        text = body.decode("utf-8")  # GitHub sends UTF-8; the store keeps exactly this text
        payload = json.loads(text)
    except ValueError:  # UnicodeDecodeError included; a BOM is refused by json.loads on text
        log.warning("refused: body is not UTF-8 JSON", extra=extra | {"status": 400})
        return _answer(400, error="body is not JSON")
    if not isinstance(payload, dict):
        return _answer(400, error="body is not a JSON object")
    if event == "ping":
        return _answer(200, status="pong")
    return _record(bot, delivery, event, payload, text, extra)


def _record(bot, delivery: str, event: str, payload: dict, text: str, extra: dict) -> tuple[Response, int]:
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    extra |= {"action": action}
    route = router.route(event, action)
    try:
        if route is None or not route.accepts(payload):
            log.info("ignored", extra=extra | {"outcome": "ignored", "status": 202})
            return _answer(202, status="ignored")
        key = route.key(payload)
    except PayloadError as exc:
        log.warning("dropped: %s", exc, extra=extra | {"outcome": "dropped", "status": 202})
        return _answer(202, status="dropped", reason=str(exc))
    extra |= {"repository": key.split("#")[0].split("@")[0]}
    if not bot.store.record(delivery, event, action, key, text):
        log.info("redelivery of a recorded delivery", extra=extra | {"outcome": "duplicate", "status": 202})
        return _answer(202, status="duplicate")
    bot.notify()
    log.info("recorded", extra=extra | {"outcome": "queued", "status": 202})
    return _answer(202, status="queued")


@blueprint.app_errorhandler(Exception)
def internal_error(exc: Exception) -> tuple[Response, int]:
    from werkzeug.exceptions import HTTPException

    if isinstance(exc, HTTPException):  # 404, 405 and the like: answer as Werkzeug would, in JSON
        return _answer(exc.code or 500, error=exc.description)
    # Not the payload's fault (the store is unavailable, or a bug): GitHub marks the
    # delivery failed, so it can be redelivered once the service is healthy again.
    log.exception("internal error while receiving a delivery", extra={"status": 500})
    return _answer(500, error="internal error")


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    counts = current_app.extensions["challenge_bot"].store.counts()
    return _answer(200, status="ok", deliveries=counts)
