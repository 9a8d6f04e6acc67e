"""The delivery store: every verified webhook delivery, recorded durably before it is acknowledged.

SQLite in WAL mode with ``synchronous=NORMAL``: a commit survives the death
of the process (what acknowledging a delivery promises); only a power cut
can lose the last commits. One connection per thread, so threads and
gunicorn worker processes share the file. A delivery id is stored once (GitHub resends the
same ``X-GitHub-Delivery`` on redelivery), so the same delivery is processed
once. Deliveries that share a key (one pull request, or one repository's
index) are never worked on at the same time. A worker leases what it claims;
if its process dies, the lease runs out (or the next start on the same host
sees the process gone) and the delivery is claimed again: nothing
acknowledged is lost.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
import weakref
from contextlib import contextmanager
from typing import Any, Callable, Iterator, NamedTuple

LEASE_SECONDS = 300.0
KEEP_SECONDS = 14 * 24 * 3600  # finished deliveries are kept this long (for the log and redelivery checks)
_READY = """(status = 'pending' OR (status = 'working' AND lease_until < :now)) AND not_before <= :now"""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id          TEXT PRIMARY KEY,
    event       TEXT NOT NULL,
    action      TEXT,
    key         TEXT NOT NULL,
    payload     TEXT NOT NULL,
    received_at REAL NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  REAL NOT NULL,
    owner       TEXT,
    lease_until REAL,
    outcome     TEXT,
    last_error  TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS deliveries_ready ON deliveries (status, not_before);
CREATE INDEX IF NOT EXISTS deliveries_key ON deliveries (key, status);
"""


class Delivery(NamedTuple):
    id: str
    event: str
    action: str | None
    key: str
    payload: dict[str, Any]
    attempts: int


class DeliveryStore:
    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._lock_path = f"{path}.lock"
        self.owner = ""
        self._new_owner()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        # A fork while a thread holds the write lock (or the flock) would leave the child
        # with a lock no thread of it will release: fork only between writes.
        ref = weakref.ref(self)
        os.register_at_fork(
            before=lambda: (store := ref()) and store._write_lock.acquire(),
            after_in_parent=lambda: (store := ref()) and store._write_lock.release(),
            after_in_child=lambda: (store := ref()) and store._after_fork_in_child(),
        )

    def _new_owner(self) -> None:
        # host:pid:run — the run token tells this process from an earlier one that had the same pid.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def _after_fork_in_child(self) -> None:
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._new_owner()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db, self._local.pid = db, os.getpid()
        yield db

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """Serialise writers: threads on a lock, processes on flock. SQLite's own busy handler
        would make a blocked writer sleep in growing steps (tens of ms), which is what an
        acknowledgement waiting behind a worker must not do."""
        with self._write_lock:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                with self._connect() as db:
                    yield db
            finally:
                os.close(fd)  # closing releases the flock

    def record(self, delivery_id: str, event: str, action: str | None, key: str, payload: str) -> bool:
        """Store a delivery (its JSON text as received); False when this id was stored before (a redelivery)."""
        now = self.clock()
        with self._writing() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO deliveries (id, event, action, key, payload, received_at, not_before) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (delivery_id, event, action, key, payload, now, now),
            )
            return cursor.rowcount == 1

    def claim(self) -> Delivery | None:
        """Lease the oldest ready delivery whose key nobody is working on."""
        now = self.clock()
        with self._connect() as db:  # a read first: idle workers must not queue acknowledgements behind them
            if db.execute(f"SELECT 1 FROM deliveries WHERE {_READY} LIMIT 1", {"now": now}).fetchone() is None:
                return None
        with self._writing() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    f"""SELECT id, event, action, key, payload, attempts FROM deliveries AS d
                       WHERE {_READY}
                         AND NOT EXISTS (SELECT 1 FROM deliveries AS w WHERE w.key = d.key AND w.id != d.id
                                         AND w.status = 'working' AND w.lease_until >= :now)
                       ORDER BY received_at LIMIT 1""",
                    {"now": now},
                ).fetchone()
                if row is None:
                    db.execute("COMMIT")
                    return None
                db.execute(
                    "UPDATE deliveries SET status = 'working', owner = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ?",
                    (self.owner, now + LEASE_SECONDS, row[0]),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        try:
            payload = json.loads(row[4])
        except ValueError as exc:  # stored by an older version, or damaged: never claim it again
            self.finish(Delivery(row[0], row[1], row[2], row[3], {}, row[5] + 1), "dropped", "dropped", f"unreadable payload: {exc}")
            return self.claim()
        return Delivery(row[0], row[1], row[2], row[3], payload, row[5] + 1)

    def finish(self, delivery: Delivery, status: str, outcome: str, error: str | None = None) -> bool:
        """Close a delivery: ``done`` (handled or ignored), ``dropped`` (bad payload) or ``failed``.
        False when this worker's lease ran out and another attempt owns the delivery now."""
        with self._writing() as db:
            cursor = db.execute(
                "UPDATE deliveries SET status = ?, outcome = ?, last_error = ?, finished_at = ?, lease_until = NULL "
                "WHERE id = ? AND owner = ? AND attempts = ?",
                (status, outcome, error, self.clock(), delivery.id, self.owner, delivery.attempts),
            )
            return cursor.rowcount == 1

    def retry_later(self, delivery: Delivery, delay: float, error: str) -> bool:
        with self._writing() as db:
            cursor = db.execute(
                "UPDATE deliveries SET status = 'pending', not_before = ?, last_error = ?, lease_until = NULL "
                "WHERE id = ? AND owner = ? AND attempts = ?",
                (self.clock() + delay, error, delivery.id, self.owner, delivery.attempts),
            )
            return cursor.rowcount == 1

    def prune(self, older_than: float = KEEP_SECONDS) -> int:
        """Forget finished deliveries (and their payloads, up to 25 MB each) after a while."""
        with self._writing() as db:
            cursor = db.execute(
                "DELETE FROM deliveries WHERE status IN ('done', 'dropped', 'failed') AND finished_at < ?",
                (self.clock() - older_than,),
            )
            return cursor.rowcount

    def release_dead_owners(self) -> int:
        """On start: deliveries leased by processes of this host that no longer run are ready again."""
        released = 0
        with self._writing() as db:
            for delivery_id, owner in db.execute("SELECT id, owner FROM deliveries WHERE status = 'working'").fetchall():
                if self._owner_gone(owner or ""):
                    db.execute("UPDATE deliveries SET status = 'pending', lease_until = NULL WHERE id = ?", (delivery_id,))
                    released += 1
        return released

    def counts(self) -> dict[str, int]:
        with self._connect() as db:
            return dict(db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall())

    def get(self, delivery_id: str) -> dict[str, Any] | None:
        with self._connect() as db:
            cursor = db.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))
            row = cursor.fetchone()
            return dict(zip([c[0] for c in cursor.description], row)) if row else None


    def _owner_gone(self, owner: str) -> bool:
        host, pid, run = (owner.split(":") + ["", "", ""])[:3]
        mine_host, mine_pid, mine_run = self.owner.split(":")
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
