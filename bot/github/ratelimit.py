"""GitHub's rate limits, per credential: wait for the time GitHub gave, never ask before it.

One ``RateGate`` per installation (and one for the App's own JWT calls, one per plain token) is
shared by every gateway of that credential. Before each request it lets the request through,
sleeps a short wait (``max_wait``) or raises ``RateLimited(retry_at)`` so the caller can
reschedule the work; after each response it reads ``Retry-After``, ``x-ratelimit-remaining`` and
``x-ratelimit-reset``. Other installations have their own gates and keep going.

``GatedAdapter`` puts a gate in front of a ``requests`` session, so reads and writes, pages and
the client's own retries all pass through it. ``RateGates`` holds the gates of one process and
tells the service the budget left per credential (for metrics), and logs it as it runs low.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Mapping, NamedTuple

import requests
from requests.adapters import HTTPAdapter

from bot.core.github_data import RateLimited

log = logging.getLogger("challenge_bot")
SECONDARY_WAIT = 60.0  # GitHub: without a Retry-After, wait at least a minute after a secondary limit
LIMIT_STATUSES = (403, 429)
LOW_MARKS = (0.5, 0.25, 0.1, 0.05)  # a log line each time the budget drops below one of these shares
MAX_RESENDS = 3  # a request refused for a rate limit is sent again at most this often after waiting


class Budget(NamedTuple):
    """What GitHub said was left of a credential's hourly budget, with its last answer."""

    remaining: int | None
    limit: int | None
    reset: float | None  # seconds since the epoch
    retry_at: float  # no request before this time (0: none pending)


class RateGate:
    """The wait GitHub asked of one credential. Thread-safe; clock and sleep can be injected."""

    def __init__(
        self,
        key: str,
        *,
        max_wait: float = 0.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_budget: Callable[[str, Budget], None] | None = None,
    ) -> None:
        self.key, self.max_wait = key, max_wait
        self._clock, self._sleep, self._on_budget = clock, sleep, on_budget
        self._lock = threading.Lock()
        self._retry_at = 0.0
        self._remaining: int | None = None
        self._limit: int | None = None
        self._reset: float | None = None

    @property
    def retry_at(self) -> float:
        with self._lock:
            return self._retry_at

    def budget(self) -> Budget:
        with self._lock:
            return Budget(self._remaining, self._limit, self._reset, self._retry_at)

    def wait_left(self) -> float:
        """Seconds until a request may go (0 or less: now)."""
        return self.retry_at - self._clock()

    def before(self) -> None:
        """Let a request go now, after a short wait, or raise ``RateLimited`` with the time to come back."""
        wait = self.wait_left()
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise RateLimited(f"GitHub asked {self.key} to wait until {_when(self.retry_at)}", self.retry_at)
        self._sleep(wait)

    def after(self, status: int, headers: Mapping[str, str], body: bytes = b"") -> bool:
        """Read the limits from a response; True when GitHub refused the request for a rate limit."""
        now = self._clock()
        remaining, limit, reset = _int(headers.get("x-ratelimit-remaining")), _int(headers.get("x-ratelimit-limit")), _int(headers.get("x-ratelimit-reset"))
        if (headers.get("x-ratelimit-resource") or "core") != "core" and remaining != 0:
            remaining = limit = reset = None  # another budget (GraphQL's): only its running out concerns the credential's gate
        retry_after = _int(headers.get("retry-after"))
        refused = status in LIMIT_STATUSES and (retry_after is not None or remaining == 0 or b"rate limit" in body.lower())
        until = 0.0
        if retry_after is not None and (refused or status == 503):
            until = now + retry_after
        elif remaining == 0 and reset is not None:
            until = float(reset)  # the budget is spent (refused or not): nothing before the reset
        elif refused:
            until = now + SECONDARY_WAIT
        with self._lock:
            before = self._remaining
            if remaining is not None:
                self._remaining, self._limit = remaining, limit
                self._reset = float(reset) if reset is not None else self._reset
            self._retry_at = max(self._retry_at, until)
            budget = Budget(self._remaining, self._limit, self._reset, self._retry_at)
        self._report(before, budget, refused)
        return refused

    def _report(self, before: int | None, budget: Budget, refused: bool) -> None:
        if self._on_budget is not None:
            self._on_budget(self.key, budget)
        extra = {"credential": self.key, "remaining": budget.remaining, "limit": budget.limit, "reset": budget.reset}
        if refused:
            log.warning("GitHub rate limit: no request for %s before %s", self.key, _when(budget.retry_at), extra=extra | {"outcome": "rate-limited", "retry_at": budget.retry_at})
        elif _crossed(before, budget.remaining, budget.limit):
            log.info("GitHub budget of %s: %s of %s requests left", self.key, budget.remaining, budget.limit, extra=extra | {"outcome": "budget"})


def _crossed(before: int | None, after: int | None, limit: int | None) -> bool:
    if after is None or not limit:
        return False
    if before is None:
        return after < limit * LOW_MARKS[0]
    return any(after < limit * mark <= before for mark in LOW_MARKS)


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def _when(moment: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(moment))


class RateGates:
    """The gates of one process, by credential, and the budget each has left (for metrics)."""

    def __init__(self, *, max_wait: float = 0.0, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.max_wait, self._clock, self._sleep = max_wait, clock, sleep
        self._gates: dict[str, RateGate] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str, Budget], None]] = []

    def gate(self, key: str) -> RateGate:
        with self._lock:
            found = self._gates.get(key)
            if found is None:
                found = self._gates[key] = RateGate(key, max_wait=self.max_wait, clock=self._clock, sleep=self._sleep, on_budget=self._notify)
            return found

    def subscribe(self, listener: Callable[[str, Budget], None]) -> None:
        """Call ``listener(credential, budget)`` after every response (e.g. to set a metrics gauge)."""
        with self._lock:
            self._listeners.append(listener)

    def budgets(self) -> dict[str, Budget]:
        """Each credential's budget as GitHub last reported it."""
        with self._lock:
            gates = dict(self._gates)
        return {key: gate.budget() for key, gate in sorted(gates.items())}

    def _notify(self, key: str, budget: Budget) -> None:
        for listener in list(self._listeners):
            listener(key, budget)


class GatedAdapter(HTTPAdapter):
    """A ``requests`` adapter that sends nothing a gate holds back and tells the gate every answer.

    A request GitHub refused for a rate limit is sent again once the wait is over if the gate
    may wait that long (``max_wait``), else ``RateLimited`` is raised: GitHub applied nothing."""

    def __init__(self, gate: RateGate, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = gate

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        for _ in range(MAX_RESENDS + 1):
            self.gate.before()
            response = super().send(request, *args, **kwargs)
            if not self.gate.after(response.status_code, response.headers, response.content if response.status_code in LIMIT_STATUSES else b""):
                return response
            if self.gate.wait_left() > self.gate.max_wait:
                break
        raise RateLimited(f"GitHub refused a request of {self.gate.key} for its rate limit", self.gate.retry_at, response.status_code)
