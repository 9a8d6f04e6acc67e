"""What every delivery store promises, whatever database keeps the deliveries.

A store records each verified delivery once (by its ``X-GitHub-Delivery`` id),
hands it to one worker at a time under a lease that the worker renews while it
works, and never lets two deliveries that share a key (one pull request, or one
repository's index) be worked on at once. A worker whose process dies loses its
lease when it runs out (sooner on the same host, where a dead process is seen
at once), and the delivery is claimed again: nothing acknowledged is lost. A
store that cannot reach its database raises :class:`StoreUnavailable`; every
write is one transaction, so nothing is ever half-written.

The same test suite (``tests/test_store_contract.py``) runs against every
backend: SQLite (``sqlite.py``, one host) and PostgreSQL (``postgres.py``, any
number of hosts).
"""

from __future__ import annotations

import os
import socket
import uuid
import weakref
from typing import Any, Callable, Iterable, NamedTuple, Protocol

LEASE_SECONDS = 60.0  # a worker renews its lease every quarter of this while it works
KEEP_SECONDS = 14 * 24 * 3600  # finished deliveries are kept this long (for the log and redelivery checks)
FINISHED = ("done", "dropped", "failed")
WAITING = ("pending", "working")
SWEEP_LEASE = "sweep"  # the periodic maintenance runs in one process of all hosts at a time
MEMO_KEEP_SECONDS = 60 * 24 * 3600  # remembered text nobody wrote again for this long is forgotten by prune()


class StoreError(Exception):
    """The store cannot be used as configured (a bad location, a schema newer than this code)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached right now; nothing was written. Try again later."""


class Delivery(NamedTuple):
    id: str
    event: str
    action: str | None
    key: str
    payload: dict[str, Any]
    attempts: int


class Waiting(NamedTuple):
    """A delivery waiting to be claimed, as ``pending`` lists it (without its payload)."""

    id: str
    event: str
    action: str | None
    received_at: float


class Backlog(NamedTuple):
    """How the queue moves, for ``/healthz`` and ``/metrics`` (seconds, by the store's clock)."""

    oldest_ready: float | None  # how long the longest-waiting claimable delivery has been ready; None: none is
    since_progress: float | None  # since a delivery was last finished; None: none ever was (or all were pruned)


class Store(Protocol):
    """The store contract. ``owner`` names this process's leases: ``host:pid:run``."""

    owner: str
    lease_seconds: float

    @property
    def location(self) -> str:
        """Where the deliveries are kept, safe to log (no password)."""

    def record(self, delivery_id: str, event: str, action: str | None, key: str, payload: str, delay: float = 0.0) -> bool:
        """Store a delivery (its JSON text as received), ready in ``delay`` seconds; False when this id was stored before."""

    def claim(self) -> Delivery | None:
        """Lease the oldest ready delivery whose key nobody is working on."""

    def heartbeat(self, delivery: Delivery) -> bool:
        """Extend this worker's lease; False when it ran out and another attempt owns the delivery."""

    def retry_later(self, delivery: Delivery, delay: float, error: str) -> bool:
        """Give the delivery back, ready again in ``delay`` seconds."""

    def postpone(self, delivery: Delivery, delay: float, reason: str) -> bool:
        """Give the delivery back, ready again in ``delay`` seconds, without counting this attempt (a rate limit)."""

    def pending(self, key: str) -> list[Waiting]:
        """The deliveries of ``key`` waiting to be claimed (not the one being worked on), oldest first."""

    def key_states(self, keys: Iterable[str]) -> dict[str, str]:
        """Per key: ``working`` or ``pending`` while a delivery of it is, else the status of the one that
        finished last (``done``, ``dropped``, ``failed``); keys the store has nothing of are left out."""

    def backlog(self) -> Backlog:
        """How long the oldest claimable delivery has waited, and since when nothing was finished."""

    def finish(self, delivery: Delivery, status: str, outcome: str, error: str | None = None) -> bool:
        """Close a delivery: ``done``, ``dropped`` or ``failed``; False when the lease had moved on."""

    def fail(self, delivery: Delivery, error: str) -> bool:
        """Close a delivery as failed."""

    def prune(self, older_than: float = KEEP_SECONDS) -> int:
        """Forget finished deliveries after a while; the number forgotten."""

    def release_dead_owners(self) -> int:
        """Make deliveries leased by processes of this host that no longer run ready again."""

    def counts(self) -> dict[str, int]:
        """Deliveries by status; raises :class:`StoreUnavailable` when the database is down."""

    def get(self, delivery_id: str) -> dict[str, Any] | None:
        """One delivery's row, for tests and diagnosis."""

    def acquire_lease(self, name: str, seconds: float) -> bool:
        """Take or renew the named lease (one holder among all processes); False when another holds it."""

    def release_lease(self, name: str) -> None:
        """Give up the named lease if this process holds it."""

    def next_ready_in(self) -> float | None:
        """Seconds until a delivery that is not ready now becomes ready (a retry, a lease running out)."""

    def watch(self, wake: Callable[[], None]) -> Callable[[], None] | None:
        """Call ``wake`` whenever any process records or frees a delivery; returns a function that
        stops watching, or None when the backend cannot push (then the workers poll)."""

    def export(self, statuses: Iterable[str] = WAITING) -> list[dict[str, Any]]:
        """The rows with these statuses, oldest first, for ``challenge-bot store migrate``."""

    def import_rows(self, rows: Iterable[dict[str, Any]]) -> int:
        """Add exported rows (waiting ones as pending, leases dropped); ids already here are kept. The number added."""

    def recall(self, keys: Iterable[str]) -> dict[str, str]:
        """What was remembered under these keys (``bot.github.remote.Memory``); keys never remembered are left out."""

    def remember(self, items: dict[str, str]) -> None:
        """Keep text by key (replacing what was kept), in one transaction: index records by blob, what the
        bot wrote on a pull request. Forgotten by ``prune`` once nobody wrote it for ``MEMO_KEEP_SECONDS``."""

    def close(self) -> None:
        """Close this process's connections."""


def new_owner() -> str:
    """host:pid:run — the run token tells this process from an earlier one that had the same pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_gone(owner: str, mine: str) -> bool:
    """Whether the process that leased as ``owner`` is gone, as far as this host (``mine``) can tell."""
    host, pid, run = (owner.split(":") + ["", "", ""])[:3]
    mine_host, mine_pid, mine_run = mine.split(":")
    if host != mine_host or not pid.isdigit():
        return False  # another machine's lease: wait for it to run out
    if pid == mine_pid:
        return run != mine_run
    return not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def waiting_row(row: dict[str, Any]) -> dict[str, Any]:
    """An exported row as it is imported: a delivery that was being worked on is pending again."""
    row = dict(row)
    if row["status"] == "working":
        row["status"] = "pending"
    if row["status"] == "pending":
        row["owner"] = row["lease_until"] = None
    return row


COLUMNS = ("id", "event", "action", "key", "payload", "received_at", "status", "attempts", "not_before",
           "owner", "lease_until", "outcome", "last_error", "finished_at")


def weak_call(method: Callable[[], None]) -> Callable[[], None]:
    """Call ``method`` while its object lives: a fork hook, never unregistered, must not keep it alive."""
    ref = weakref.WeakMethod(method)

    def call() -> None:
        bound = ref()
        if bound is not None:
            bound()

    return call
