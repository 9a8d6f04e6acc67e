"""The delivery store: every verified webhook delivery, recorded durably before it is acknowledged.

SQLite in WAL mode, one connection per call so threads and gunicorn worker
processes can share the file. A delivery id is stored once (GitHub resends the
same ``X-GitHub-Delivery`` on redelivery), so the same delivery is processed
once. Deliveries that share a key (one pull request, or one repository's
index) are never worked on at the same time. A worker leases what it claims;
if its process dies, the lease runs out (or the next start on the same host
sees the process gone) and the delivery is claimed again: nothing
acknowledged is lost.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from contextlib import closing, contextmanager
from typing import Any, Callable, Iterator, NamedTuple

LEASE_SECONDS = 300.0
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
        # host:pid:run — the run token tells this process from an earlier one that had the same pid.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=FULL")
            yield db

    def record(self, delivery_id: str, event: str, action: str | None, key: str, payload: dict[str, Any]) -> bool:
        """Store a delivery; False when this id was stored before (a redelivery)."""
        now = self.clock()
        with self._connect() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO deliveries (id, event, action, key, payload, received_at, not_before) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (delivery_id, event, action, key, json.dumps(payload), now, now),
            )
            return cursor.rowcount == 1

    def claim(self) -> Delivery | None:
        """Lease the oldest ready delivery whose key nobody is working on."""
        now = self.clock()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    """SELECT id, event, action, key, payload, attempts FROM deliveries AS d
                       WHERE (status = 'pending' OR (status = 'working' AND lease_until < :now)) AND not_before <= :now
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
        return Delivery(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5] + 1)

    def finish(self, delivery_id: str, status: str, outcome: str, error: str | None = None) -> None:
        """Close a delivery: ``done`` (handled or ignored), ``dropped`` (bad payload) or ``failed``."""
        with self._connect() as db:
            db.execute(
                "UPDATE deliveries SET status = ?, outcome = ?, last_error = ?, finished_at = ?, lease_until = NULL WHERE id = ?",
                (status, outcome, error, self.clock(), delivery_id),
            )

    def retry_later(self, delivery_id: str, delay: float, error: str) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE deliveries SET status = 'pending', not_before = ?, last_error = ?, lease_until = NULL WHERE id = ?",
                (self.clock() + delay, error, delivery_id),
            )

    def release_dead_owners(self) -> int:
        """On start: deliveries leased by processes of this host that no longer run are ready again."""
        released = 0
        with self._connect() as db:
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
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
            return dict(row) if row else None


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
