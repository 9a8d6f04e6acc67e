"""The embedded store: one SQLite file on one host (the default).

WAL mode with ``synchronous=NORMAL``: a commit survives the death of the
process (what acknowledging a delivery promises); only a power cut can lose
the last commits. Checkpoints (copying the log into the database file, with an
fsync) never run inside a commit, where they would hold every writer, an
acknowledgement included, for tens of milliseconds: each process that claims
deliveries (the workers') runs them in a thread of its own, ``PASSIVE`` (they
wait for no writer), at the lowest CPU priority. A web process only records and
never checkpoints: on its core a page copy would delay acknowledgements (p99 at
50 in flight rose from 38–49 to 49–59 ms with it). One connection per thread, so
threads and gunicorn worker processes on the same host share the file. Writers
queue on a lock and a ``flock`` rather than SQLite's busy handler, which sleeps
in growing steps.
The schema version is SQLite's ``user_version``; upgrades run inside one
``BEGIN IMMEDIATE`` transaction, so processes starting together apply each
step once. Other processes' records are seen by polling (no push on SQLite).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from bot.service.store.contract import (
    COLUMNS,
    FINISHED,
    KEEP_SECONDS,
    LEASE_SECONDS,
    MEMO_KEEP_SECONDS,
    WAITING,
    Backlog,
    Delivery,
    StoreError,
    StoreUnavailable,
    new_owner,
    owner_gone,
    Waiting,
    waiting_row,
    weak_call,
)

# The unary + keeps SQLite off the (status, not_before) index here: walking (status, received_at, id)
# stops at the first free key, where the other index would sort every ready row first.
_PENDING_READY = "status = 'pending' AND +not_before <= :now"
_LEASE_LAPSED = "status = 'working' AND lease_until < :now"
_READY = f"(({_PENDING_READY}) OR ({_LEASE_LAPSED}))"
_BUSY_KEY = """EXISTS (SELECT 1 FROM deliveries AS w WHERE w.key = d.key AND w.id != d.id
                        AND w.status = 'working' AND w.lease_until >= :now)"""
# The same test for a walk over many rows: the keys at work listed once, not looked up per row.
_FREE_KEY = "d.key NOT IN (SELECT key FROM deliveries WHERE status = 'working' AND lease_until >= :now)"
# Each step brings the file from the version before it to its own; never edit a released step, add one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: the deliveries (files written before versioning have this already: IF NOT EXISTS)
        """CREATE TABLE IF NOT EXISTS deliveries (
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
        )""",
        "CREATE INDEX IF NOT EXISTS deliveries_ready ON deliveries (status, not_before)",
        "CREATE INDEX IF NOT EXISTS deliveries_key ON deliveries (key, status)",
    ),
    (  # 2: named leases (the sweep's single runner)
        "CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL)",
    ),
    (  # 3: what the bot remembers across restarts (index records by blob, what it wrote on pull requests)
        "CREATE TABLE memo (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL)",
        "CREATE INDEX memo_updated ON memo (updated_at)",
    ),
    (  # 4: the claim walks ready deliveries in arrival order without sorting them or reading a payload;
        # the index it replaces was one more page to write for every acknowledgement
        "CREATE INDEX deliveries_arrival ON deliveries (status, received_at, id, not_before, key, lease_until)",
        "DROP INDEX deliveries_ready",
    ),
)
RECALL_BATCH = 500  # keys per query (SQLite caps a statement's parameters)
CHECKPOINT_EVERY = 1.0  # seconds between a claiming process's checkpoints of the log


class SQLiteStore:
    """The store in a SQLite file at ``path``."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time, lease_seconds: float = LEASE_SECONDS,
                 migrations: tuple[tuple[str, ...], ...] = MIGRATIONS) -> None:
        self.path = path
        self.clock = clock
        self.lease_seconds = lease_seconds
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._lock_path = f"{path}.lock"
        self.owner = new_owner()
        self._checkpointer: threading.Thread | None = None
        self._stop_checkpoints = threading.Event()
        try:
            with self._writing() as db:  # the first switch to WAL needs the file to itself: under the writers' lock
                db.execute("PRAGMA journal_mode=WAL")
            self._migrate(migrations)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite store {path}: {exc}") from None
        # A fork while a thread holds the write lock (or the flock) would leave the child
        # with a lock no thread of it will release: fork only between writes.
        os.register_at_fork(
            before=weak_call(self._hold_writes),
            after_in_parent=weak_call(self._release_writes),
            after_in_child=weak_call(self._after_fork_in_child),
        )

    @property
    def location(self) -> str:
        return f"sqlite:{self.path}"

    def _migrate(self, migrations: tuple[tuple[str, ...], ...]) -> None:
        with self._transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(migrations):
                raise StoreError(f"the store {self.path} has schema version {version}, newer than this "
                                 f"challenge-bot knows ({len(migrations)}): upgrade challenge-bot")
            for number, steps in enumerate(migrations[version:], start=version + 1):
                for statement in steps:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    def _hold_writes(self) -> None:
        self._write_lock.acquire()

    def _release_writes(self) -> None:
        self._write_lock.release()

    def _after_fork_in_child(self) -> None:
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._connections = []  # the parent's: never used (nor closed) here
        self.owner = new_owner()
        self._checkpointer = None  # threads do not survive a fork: the child starts its own at its first write

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            try:
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA busy_timeout=30000")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA wal_autocheckpoint=0")  # see the module's docstring: ``_checkpoints``
            except sqlite3.OperationalError as exc:  # the file cannot be opened (gone, a folder, no permission)
                raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc
            self._local.db, self._local.pid = db, os.getpid()
            self._connections.append(db)
        try:
            yield db
        except sqlite3.OperationalError as exc:  # locked for 30 s, disk I/O error, file gone: nothing was written
            raise StoreUnavailable(f"SQLite store {self.path}: {exc}") from exc

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

    def _start_checkpoints(self) -> None:
        with self._write_lock:
            if self._checkpointer is None:
                stop = self._stop_checkpoints = threading.Event()
                self._checkpointer = threading.Thread(target=self._checkpoints, args=(stop,), name="challenge-bot-sqlite-checkpoint", daemon=True)
                self._checkpointer.start()  # returns once the thread runs, so its native id is known
                thread_id = self._checkpointer.native_id
                if thread_id is not None and hasattr(os, "setpriority"):  # Linux: each thread has a nice value of its own
                    with contextlib.suppress(OSError):
                        os.setpriority(os.PRIO_PROCESS, thread_id, 19)

    def _checkpoints(self, stop: threading.Event) -> None:
        """Copy the log into the database every ``CHECKPOINT_EVERY`` seconds, off every writer's path
        (PASSIVE: as far as no reader still needs the log; the rest goes next time). At the lowest CPU
        priority: on a busy core a checkpoint (megabytes of page copies) waits for the acknowledgements
        rather than delaying them; on an idle one it runs at once."""
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return
        try:
            while not stop.wait(CHECKPOINT_EVERY):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error:  # busy, or the file is gone: try again next time
                    pass
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._writing() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def record(self, delivery_id: str, event: str, action: str | None, key: str, payload: str, delay: float = 0.0) -> bool:
        now = self.clock()
        with self._writing() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO deliveries (id, event, action, key, payload, received_at, not_before) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (delivery_id, event, action, key, payload, now, now + delay),
            )
            return cursor.rowcount == 1

    def claim(self) -> Delivery | None:
        if self._checkpointer is None:
            self._start_checkpoints()
        while True:
            now = self.clock()
            with self._connect() as db:  # a read: the search holds no lock, so no acknowledgement waits behind it
                candidate = self._oldest_ready(db, now)
            if candidate is None:
                return None
            with self._writing() as db:  # one short indexed write; it re-checks what the read saw
                taken = db.execute(
                    f"""UPDATE deliveries AS d SET status = 'working', owner = :owner, lease_until = :until, attempts = attempts + 1
                        WHERE id = :id AND {_READY} AND NOT {_BUSY_KEY}""",
                    {"owner": self.owner, "until": now + self.lease_seconds, "id": candidate, "now": now},
                ).rowcount
            if not taken:  # another worker claimed it, or its key turned busy, meanwhile: look again
                continue
            with self._connect() as db:  # ours now: nobody else writes the row until we finish it
                row = db.execute("SELECT id, event, action, key, payload, attempts FROM deliveries WHERE id = ?", (candidate,)).fetchone()
            try:
                payload = json.loads(row[4])
            except ValueError as exc:  # stored by an older version, or damaged: never claim it again
                self.finish(Delivery(row[0], row[1], row[2], row[3], {}, row[5]), "dropped", "dropped", f"unreadable payload: {exc}")
                continue
            return Delivery(row[0], row[1], row[2], row[3], payload, row[5])

    @staticmethod
    def _oldest_ready(db: sqlite3.Connection, now: float) -> str | None:
        """The id of the oldest ready delivery whose key is free. Two walks of one covering index in arrival
        order (pending, then working with a lapsed lease) rather than one OR: the OR sorted every ready row
        and read each past its payload, 45 ms for a backlog of 8,000 (now 2 ms when every key is busy)."""
        found = [
            db.execute(f"SELECT received_at, id FROM deliveries AS d WHERE {ready} AND {_FREE_KEY} "
                       "ORDER BY received_at, id LIMIT 1", {"now": now}).fetchone()
            for ready in (_PENDING_READY, _LEASE_LAPSED)
        ]
        rows = [row for row in found if row is not None]
        return min(rows)[1] if rows else None

    def _update_own(self, delivery: Delivery, assignments: str, values: tuple) -> bool:
        with self._writing() as db:
            cursor = db.execute(
                f"UPDATE deliveries SET {assignments} WHERE id = ? AND owner = ? AND attempts = ? AND status = 'working'",
                (*values, delivery.id, self.owner, delivery.attempts),
            )
            return cursor.rowcount == 1

    def heartbeat(self, delivery: Delivery) -> bool:
        return self._update_own(delivery, "lease_until = ?", (self.clock() + self.lease_seconds,))

    def finish(self, delivery: Delivery, status: str, outcome: str, error: str | None = None) -> bool:
        return self._update_own(delivery, "status = ?, outcome = ?, last_error = ?, finished_at = ?, lease_until = NULL",
                                (status, outcome, error, self.clock()))

    def fail(self, delivery: Delivery, error: str) -> bool:
        return self.finish(delivery, "failed", "failed", error)

    def retry_later(self, delivery: Delivery, delay: float, error: str) -> bool:
        return self._update_own(delivery, "status = 'pending', not_before = ?, last_error = ?, lease_until = NULL",
                                (self.clock() + delay, error))

    def postpone(self, delivery: Delivery, delay: float, reason: str) -> bool:
        return self._update_own(delivery, "status = 'pending', not_before = ?, last_error = ?, lease_until = NULL, attempts = attempts - 1",
                                (self.clock() + delay, reason))

    def pending(self, key: str) -> list[Waiting]:
        with self._connect() as db:
            rows = db.execute("SELECT id, event, action, received_at FROM deliveries WHERE key = ? AND status = 'pending' "
                              "ORDER BY received_at, id", (key,)).fetchall()
        return [Waiting(*row) for row in rows]

    def key_states(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        with self._connect() as db:
            rows = db.execute(
                f"""SELECT key, status FROM (
                      SELECT key, status, ROW_NUMBER() OVER (PARTITION BY key ORDER BY
                          CASE status WHEN 'working' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END,
                          finished_at DESC, received_at DESC, id DESC) AS n
                      FROM deliveries WHERE key IN ({', '.join('?' * len(wanted))})) WHERE n = 1""",
                wanted,
            ).fetchall()
        return dict(rows)

    def backlog(self) -> Backlog:
        now = self.clock()
        with self._connect() as db:
            ready, finished = db.execute(
                f"""SELECT (SELECT MIN(CASE status WHEN 'pending' THEN not_before ELSE lease_until END) FROM deliveries AS d
                            WHERE {_READY} AND {_FREE_KEY}),
                           (SELECT MAX(finished_at) FROM deliveries WHERE status IN {FINISHED})""",
                {"now": now},
            ).fetchone()
        return Backlog(None if ready is None else max(0.0, now - ready), None if finished is None else max(0.0, now - finished))

    def prune(self, older_than: float = KEEP_SECONDS) -> int:
        """Forget finished deliveries (and their payloads, up to 25 MB each) after a while."""
        with self._writing() as db:
            cursor = db.execute(
                f"DELETE FROM deliveries WHERE status IN {FINISHED} AND finished_at < ?", (self.clock() - older_than,)
            )
            db.execute("DELETE FROM memo WHERE updated_at < ?", (self.clock() - MEMO_KEEP_SECONDS,))
            return cursor.rowcount

    def release_dead_owners(self) -> int:
        released = 0
        with self._transaction() as db:
            for delivery_id, owner in db.execute("SELECT id, owner FROM deliveries WHERE status = 'working'").fetchall():
                if owner_gone(owner or "", self.owner):
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

    def acquire_lease(self, name: str, seconds: float) -> bool:
        now = self.clock()
        with self._writing() as db:
            cursor = db.execute(
                """INSERT INTO leases (name, owner, until) VALUES (?, ?, ?)
                   ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
                   WHERE leases.owner = excluded.owner OR leases.until < ?""",
                (name, self.owner, now + seconds, now),
            )
            return cursor.rowcount == 1

    def release_lease(self, name: str) -> None:
        with self._writing() as db:
            db.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, self.owner))

    def next_ready_in(self) -> float | None:
        now = self.clock()
        with self._connect() as db:
            (due,) = db.execute(
                f"""SELECT MIN(t) FROM (
                      SELECT MIN(not_before) AS t FROM deliveries AS d WHERE status = 'pending' AND {_FREE_KEY}
                      UNION ALL SELECT MIN(lease_until) FROM deliveries WHERE status = 'working')""",
                {"now": now},
            ).fetchone()
        return None if due is None else max(0.0, due - now)

    def watch(self, wake: Callable[[], None]) -> Callable[[], None] | None:
        return None  # processes on this host find each other's deliveries by polling

    def export(self, statuses: Iterable[str] = WAITING) -> list[dict[str, Any]]:
        wanted = tuple(statuses)
        with self._connect() as db:
            cursor = db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM deliveries WHERE status IN ({', '.join('?' * len(wanted))}) ORDER BY received_at, id",
                wanted,
            )
            return [dict(zip(COLUMNS, row)) for row in cursor.fetchall()]

    def import_rows(self, rows: Iterable[dict[str, Any]]) -> int:
        added = 0
        with self._transaction() as db:
            for row in map(waiting_row, rows):
                cursor = db.execute(
                    f"INSERT OR IGNORE INTO deliveries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                    tuple(row[c] for c in COLUMNS),
                )
                added += cursor.rowcount
        return added

    def recall(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        with self._connect() as db:  # a read: no lock, no wait behind a writer (WAL)
            for start in range(0, len(wanted), RECALL_BATCH):
                chunk = wanted[start : start + RECALL_BATCH]
                found.update(db.execute(f"SELECT key, value FROM memo WHERE key IN ({', '.join('?' * len(chunk))})", chunk).fetchall())
        return found

    def remember(self, items: dict[str, str]) -> None:
        if not items:
            return
        now = self.clock()
        with self._transaction() as db:
            db.executemany("INSERT INTO memo (key, value, updated_at) VALUES (?, ?, ?) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                           [(key, value, now) for key, value in items.items()])

    def close(self) -> None:
        checkpointer, self._checkpointer = self._checkpointer, None
        self._stop_checkpoints.set()  # a write after this starts another
        if checkpointer is not None:
            checkpointer.join(5)
        connections, self._connections = self._connections, []
        for db in connections:
            db.close()
        self._local = threading.local()
