"""Failure injection: error answers, rate limits, slow answers, lost responses, dropped connections and ref races."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from flask import Response

from .errors import DOCS, REASONS, SECONDARY_RATE_LIMIT
from .responses import json_response
from .state import Content


ANY = "*"  # a fault for every operation: an outage


@dataclass
class Fault:
    operation_id: str
    status: int | None  # None: answer normally (after ``delay``)
    times: int
    retry_after: int | None
    delay: float
    body: dict[str, Any] | None
    after_apply: bool  # perform the write, then answer the error: the response is "lost"
    drop: bool = False  # after applying, close the connection without any answer

    def response(self) -> Response | None:
        if self.status is None:
            return None
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        body = self.body
        if body is None and self.retry_after is not None and self.status in (403, 429):
            body = SECONDARY_RATE_LIMIT
        if body is None:
            body = {"message": REASONS.get(self.status, "Error"), "documentation_url": DOCS}
        return json_response(body, self.status, headers)


@dataclass
class Conflict:
    files: dict[str, Content | None]
    author: str


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._conflicts: dict[tuple[str, str], Conflict] = {}

    def inject(
        self,
        operation_id: str,
        status: int | None = 502,
        times: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
        body: dict[str, Any] | None = None,
        after_apply: bool = False,
        drop: bool = False,
    ) -> None:
        with self._lock:
            self._faults.append(Fault(operation_id, status, times, retry_after, delay, body, after_apply, drop))

    def take(self, operation_id: str) -> Fault | None:
        """The first pending fault for this operation, used up once per matching request."""
        with self._lock:
            for fault in self._faults:
                if fault.operation_id in (operation_id, ANY):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def add_conflict(self, repo: str, branch: str, files: dict[str, Content | None], author: str) -> None:
        with self._lock:
            self._conflicts[(repo.lower(), branch)] = Conflict(files, author)

    def take_conflict(self, repo: str, branch: str) -> Conflict | None:
        with self._lock:
            return self._conflicts.pop((repo.lower(), branch), None)
