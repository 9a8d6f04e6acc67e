"""A worker's hold on one delivery, and the check that stops it before a write once the hold is gone.

The store lends a delivery to one worker for ``lease_seconds``; the worker's heartbeat renews it
every quarter of that. Two things end the hold: the store says the lease moved on (it ran out and
another worker claimed the delivery), or this worker could not renew it for most of its length (the
store unreachable), so another may claim it any moment. Either way :meth:`Lease.check` raises
:class:`LeaseLost`, and the worker's gateway calls it before every write: a delivery is never written
for by two workers at once, however long it runs.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, cast

from bot.github.gateway import Gateway
from bot.service.store import Delivery

SAFE_SHARE = 0.75  # stop writing once the lease has gone this long without a renewal (the rest is margin)
READS = frozenset({
    "repo", "pull_request", "changed_files", "read_blob", "read_blobs", "pull_request_and_blobs", "read_file", "tree", "default_branch", "branch_sha",
    "permission", "open_pulls", "check_runs", "issue_comments", "review_comments", "find_open_pull",
})


class LeaseLost(Exception):
    """The delivery is no longer this worker's: it stops before its next write, and records nothing."""


class Lease:
    """One claimed delivery; ``renewed`` is when the last successful renewal (or the claim) was sent."""

    def __init__(self, delivery: Delivery, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.delivery, self.seconds, self._clock = delivery, seconds, clock
        self.renewed = clock()
        self.lost: str | None = None
        self._lock = threading.Lock()

    def renew(self, beat: Callable[[Delivery], bool]) -> bool:
        """Renew through ``beat`` (the store's heartbeat); False once the store says the lease moved on."""
        sent = self._clock()
        if beat(self.delivery):
            with self._lock:
                self.renewed = max(self.renewed, sent)
            return True
        self.lose("the lease ran out and another worker took the delivery")
        return False

    def lose(self, reason: str) -> None:
        with self._lock:
            self.lost = self.lost or reason

    def check(self) -> None:
        """Raise :class:`LeaseLost` unless this worker still holds the delivery for a while."""
        with self._lock:
            lost, quiet = self.lost, self._clock() - self.renewed
        if lost:
            raise LeaseLost(lost)
        if quiet > self.seconds * SAFE_SHARE:
            raise LeaseLost(f"the lease was not renewed for {quiet:.0f} s of its {self.seconds:g} s (is the store reachable?)")


class _Guarded:
    def __init__(self, gateway: Gateway, check: Callable[[], None]) -> None:
        self._gateway, self._check = gateway, check

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._gateway, name)
        if name in READS or not callable(found):
            return found

        def write(*args: Any, **kwargs: Any) -> Any:
            self._check()
            return found(*args, **kwargs)

        return write


def guarded(gateway: Gateway, check: Callable[[], None]) -> Gateway:
    """``gateway`` with ``check()`` called before every method that is not a known read (every write)."""
    return cast(Gateway, _Guarded(gateway, check))
