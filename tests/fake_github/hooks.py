"""The App's webhook: where GitHub sends deliveries, and its delivery log (``/app/hook/deliveries``).

``fake.hooks.configure(url, secret)`` points the App's webhook at the bot. ``fake.hooks.send(event)``
delivers an event as GitHub does (signed POST, recorded with the answer's status); with
``fail=502`` it is recorded as failed without being sent, as when the App was down. A redelivery
(``POST /app/hook/deliveries/{id}/attempts``) records a new attempt with the same GUID and sends it
from a thread, as GitHub answers 202 and delivers later: ``fake.hooks.wait()`` waits for those.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from .payloads import Event, delivery
from .state import iso, now

FAILED_STATUS = {0: "timed out"}  # GitHub's words for an answer that never came


@dataclass
class HookDelivery:
    id: int
    guid: str
    event: str
    action: str | None
    payload: dict[str, Any]
    redelivery: bool
    delivered_at: str = field(default_factory=lambda: iso(now()) or "")
    status_code: int = 0
    duration: float = 0.0
    request_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""

    @property
    def status(self) -> str:
        if 200 <= self.status_code < 300:
            return "OK"
        return FAILED_STATUS.get(self.status_code, f"Invalid HTTP Response: {self.status_code}")

    @property
    def installation_id(self) -> int | None:
        return (self.payload.get("installation") or {}).get("id")

    @property
    def repository_id(self) -> int | None:
        return (self.payload.get("repository") or {}).get("id")

    def item(self) -> dict[str, Any]:
        """``hook-delivery-item``: what the list shows."""
        return {
            "id": self.id,
            "guid": self.guid,
            "delivered_at": self.delivered_at,
            "redelivery": self.redelivery,
            "duration": self.duration,
            "status": self.status,
            "status_code": self.status_code,
            "event": self.event,
            "action": self.action,
            "installation_id": self.installation_id,
            "repository_id": self.repository_id,
            "throttled_at": None,
        }

    def full(self, url: str) -> dict[str, Any]:
        """``hook-delivery``: one delivery with its request and response."""
        return self.item() | {
            "url": url,
            "request": {"headers": dict(self.request_headers), "payload": self.payload},
            "response": {"headers": {}, "payload": self.response_body},
        }


class Hooks:
    """The App's webhook configuration and delivery log; ids grow, the list shows the newest first."""

    def __init__(self, app_id: int) -> None:
        self.app_id = app_id
        self.url: str | None = None
        self.secret = ""
        self.deliveries: dict[int, HookDelivery] = {}
        self._ids = itertools.count(90_000_001)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def configure(self, url: str | None, secret: str) -> None:
        self.url, self.secret = url, secret

    def newest_first(self) -> list[HookDelivery]:
        with self._lock:
            return sorted(self.deliveries.values(), key=lambda d: d.id, reverse=True)

    def get(self, delivery_id: int) -> HookDelivery | None:
        with self._lock:
            return self.deliveries.get(delivery_id)

    def send(self, event: Event, *, fail: int | None = None, guid: str | None = None) -> HookDelivery:
        """Deliver ``event`` now (or, with ``fail``, record it failed with that status, unsent)."""
        name, payload = event
        return self._attempt(name, payload, guid or str(uuid.uuid4()), redelivery=False, fail=fail)

    def redeliver(self, original: HookDelivery) -> HookDelivery:
        """A new attempt of ``original`` (same GUID), sent from a thread: GitHub answers 202 first."""
        with self._lock:
            attempt = HookDelivery(next(self._ids), original.guid, original.event, original.action, original.payload, True)
            self.deliveries[attempt.id] = attempt
        thread = threading.Thread(target=self._post, args=(attempt,), name="fake-github-redelivery", daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()
        return attempt

    def wait(self, timeout: float = 10.0) -> None:
        """Wait until every redelivery started so far has been answered."""
        with self._lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout)

    def _attempt(self, event: str, payload: dict[str, Any], guid: str, *, redelivery: bool, fail: int | None) -> HookDelivery:
        with self._lock:
            record = HookDelivery(next(self._ids), guid, event, payload.get("action"), payload, redelivery)
            self.deliveries[record.id] = record
        if fail is not None:
            record.status_code = fail
            return record
        self._post(record)
        return record

    def _post(self, record: HookDelivery) -> None:
        body, headers = delivery((record.event, record.payload), self.secret, record.guid, self.app_id)
        record.request_headers = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}
        started = time.monotonic()
        if self.url is None:
            record.status_code = 0
            return
        try:
            answer = requests.post(self.url, data=body, headers=headers, timeout=10)
        except requests.RequestException as exc:
            record.status_code, record.response_body = 0, str(exc)
        else:
            record.status_code, record.response_body = answer.status_code, answer.text
        record.duration = round(time.monotonic() - started, 3)
