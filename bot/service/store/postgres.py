"""The shared store: PostgreSQL through psycopg 3, for web and worker processes on any number of hosts.

Claims. A worker takes the oldest ready delivery with ``SELECT … FOR UPDATE
SKIP LOCKED`` (two claimers never wait on, nor take, the same row), then takes
a transaction-scoped advisory lock on the delivery's key and, in a new
statement (so with a snapshot that sees every claim committed before the lock
was granted), marks it ``working`` only if no other delivery of that key is.
Every change of a key's deliveries to ``working`` happens under that lock, so
two deliveries of one pull request are never worked on at once; a partial
unique index (one ``working`` row per key) makes the database refuse it even if
this reasoning were wrong.

Wake-ups. Recording a delivery, and freeing a key that has deliveries waiting,
send ``NOTIFY challenge_bot_deliveries`` in the same transaction; each process
keeps one ``LISTEN`` connection and wakes its workers, so nobody polls. Retries
and leases that run out are waited for by time (``next_ready_in``).

Time. Leases and timestamps use the database's clock (one clock for all hosts),
unless a clock is passed in (the tests).

Schema. Versioned in ``challenge_bot_schema``; upgrades run in one transaction
under an advisory lock, so processes starting together apply each step once,
and a database newer than this code is refused.

A database that is down raises :class:`StoreUnavailable` (the webhook answers
503, workers back off); the broken connection is dropped and the next call
connects again. Each write is one transaction: nothing is half-written.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

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

CHANNEL = "challenge_bot_deliveries"
SCHEMA_LOCK = 0x63622D73  # advisory lock ids: the schema upgrade, and (with a hash of the key) one claim per key
KEY_LOCKS = 0x63622D6B
CONNECTION_DEFAULTS = {
    "application_name": "challenge-bot",
    "connect_timeout": "5",
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    "tcp_user_timeout": "20000",
    # A process frozen inside a transaction must not hold its locks for ever.
    "options": "-c statement_timeout=30000 -c idle_in_transaction_session_timeout=60000",
}
_NOW = "COALESCE(%(now)s::float8, extract(epoch FROM statement_timestamp())::float8)"
_READY = f"((d.status = 'pending' AND d.not_before <= {_NOW}) OR (d.status = 'working' AND d.lease_until < {_NOW}))"
_KEY_BUSY = "EXISTS (SELECT 1 FROM deliveries w WHERE w.key = d.key AND w.status = 'working' AND w.id <> d.id)"
_WAKE_IF_WAITING = (f"CASE WHEN EXISTS (SELECT 1 FROM deliveries p WHERE p.key = deliveries.key AND p.status = 'pending') "
                    f"THEN pg_notify('{CHANNEL}', '')::text END")

# Each step brings the database from the version before it to its own; never edit a released step, add one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE deliveries (
            id          text PRIMARY KEY,
            event       text NOT NULL,
            action      text,
            key         text NOT NULL,
            payload     text NOT NULL,
            received_at double precision NOT NULL,
            status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'working', 'done', 'dropped', 'failed')),
            attempts    integer NOT NULL DEFAULT 0,
            not_before  double precision NOT NULL,
            owner       text,
            lease_until double precision,
            outcome     text,
            last_error  text,
            finished_at double precision
        )""",
        "CREATE INDEX deliveries_pending ON deliveries (received_at, id) WHERE status = 'pending'",
        "CREATE INDEX deliveries_working ON deliveries (lease_until) WHERE status = 'working'",
        "CREATE UNIQUE INDEX deliveries_one_working_per_key ON deliveries (key) WHERE status = 'working'",
        "CREATE INDEX deliveries_key ON deliveries (key, status)",
        "CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE status IN ('done', 'dropped', 'failed')",
        "CREATE TABLE leases (name text PRIMARY KEY, owner text NOT NULL, until double precision NOT NULL)",
    ),
    (  # 2: what the bot remembers across restarts (index records by blob, what it wrote on pull requests)
        "CREATE TABLE memo (key text PRIMARY KEY, value text NOT NULL, updated_at double precision NOT NULL)",
        "CREATE INDEX memo_updated ON memo (updated_at)",
    ),
)


def connection_info(url: str) -> str:
    """The URL with this module's defaults for whatever it does not set itself."""
    try:
        given = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise StoreError(f"not a PostgreSQL URL: {exc}") from None
    return make_conninfo("", **(CONNECTION_DEFAULTS | given))


def safe_location(url: str) -> str:
    """The URL without its password, for logs and /healthz."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://?"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


@contextmanager
def _reachable(what: str) -> Iterator[None]:
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__  # libpq's messages run over several lines
        raise StoreUnavailable(f"PostgreSQL store {what}: {reason}") from exc


def _durable(conn: psycopg.Connection) -> None:
    """A delivery is acknowledged once its commit returns: with ``synchronous_commit = off`` a server crash
    could still lose it. Turn it back on for this session (stronger settings, for standbys, are kept)."""
    row = conn.execute("SHOW synchronous_commit").fetchone()
    if row and row[0] == "off":
        conn.execute("SET synchronous_commit = on")


def _closed_by_server(conn: psycopg.Connection) -> bool:
    """Whether an idle connection was closed from the other side (a restart, a terminated session): it then
    has something to read (the server's goodbye, or end of file); a live idle one has nothing. No round trip."""
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return True
    return bool(readable)


class PostgresStore:
    """The store in the PostgreSQL database at ``url`` (``postgresql://user:password@host:port/db``)."""

    def __init__(self, url: str, clock: Callable[[], float] | None = None, lease_seconds: float = LEASE_SECONDS,
                 migrations: tuple[tuple[str, ...], ...] = MIGRATIONS) -> None:
        self.url = url
        self.conninfo = connection_info(url)
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.migrations = migrations
        self.owner = new_owner()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[psycopg.Connection] = []
        self._inherited: list[psycopg.Connection] = []
        self._schema_lock = threading.Lock()
        self._schema_ready = False
        try:
            self._ensure_schema()
        except StoreUnavailable:
            pass  # start anyway: /healthz says why, the webhook answers 503, the schema is made on first contact
        os.register_at_fork(after_in_child=weak_call(self._after_fork_in_child))
        atexit.register(weak_call(self.close))  # end the sessions cleanly rather than drop them at exit

    @property
    def location(self) -> str:
        return safe_location(self.url)

    def _after_fork_in_child(self) -> None:
        # The parent's sockets are not this process's: never use (nor close) them here.
        self._inherited.extend(self._connections)
        self._connections, self._local = [], threading.local()
        self._lock, self._schema_lock = threading.Lock(), threading.Lock()
        self.owner = new_owner()

    # --- connections ---------------------------------------------------------------------

    def _params(self, **values: Any) -> dict[str, Any]:
        return {"now": self.clock() if self.clock else None} | values

    def _new_connection(self) -> psycopg.Connection:
        with _reachable(f"at {self.location} cannot be reached"):
            conn = psycopg.connect(self.conninfo, autocommit=True)
            _durable(conn)
        with self._lock:
            self._connections.append(conn)
        return conn

    def _drop(self, conn: psycopg.Connection) -> None:
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        try:
            conn.close()
        except psycopg.Error:
            pass
        self._local.conn = None

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection]:
        """This thread's connection; on a connection error it is dropped and StoreUnavailable raised."""
        if not self._schema_ready:
            self._ensure_schema()
        conn = getattr(self._local, "conn", None)
        if conn is not None and (conn.closed or _closed_by_server(conn)):
            self._drop(conn)
            conn = None
        if conn is None:
            conn = self._local.conn = self._new_connection()
        try:
            with _reachable(f"at {self.location} is unavailable"):
                yield conn
        except StoreUnavailable:
            self._drop(conn)
            raise

    def _ensure_schema(self) -> None:
        with self._schema_lock:
            if self._schema_ready:
                return
            with _reachable(f"at {self.location} cannot be reached"):
                conn = psycopg.connect(self.conninfo, autocommit=True)
            with conn:
                with _reachable(f"at {self.location}: the schema could not be set up"), conn.transaction():
                    self._migrate(conn)
            self._schema_ready = True

    def _migrate(self, conn: psycopg.Connection) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS challenge_bot_schema (version integer NOT NULL)")
        row = conn.execute("SELECT version FROM challenge_bot_schema").fetchone()
        version = row[0] if row else 0
        if version > len(self.migrations):
            raise StoreError(f"the store at {self.location} has schema version {version}, newer than this "
                             f"challenge-bot knows ({len(self.migrations)}): upgrade challenge-bot")
        for steps in self.migrations[version:]:
            for statement in steps:
                conn.execute(statement)
        if row is None:
            conn.execute("INSERT INTO challenge_bot_schema (version) VALUES (%s)", (len(self.migrations),))
        elif version < len(self.migrations):
            conn.execute("UPDATE challenge_bot_schema SET version = %s", (len(self.migrations),))

    # --- the contract --------------------------------------------------------------------

    def record(self, delivery_id: str, event: str, action: str | None, key: str, payload: str, delay: float = 0.0) -> bool:
        with self._conn() as conn:
            cursor = conn.execute(
                f"""INSERT INTO deliveries (id, event, action, key, payload, received_at, not_before)
                    VALUES (%(id)s, %(event)s, %(action)s, %(key)s, %(payload)s, {_NOW}, {_NOW} + %(delay)s)
                    ON CONFLICT (id) DO NOTHING RETURNING pg_notify('{CHANNEL}', '')::text""",
                self._params(id=delivery_id, event=event, action=action, key=key, payload=payload, delay=delay),
            )
            return cursor.rowcount == 1

    def claim(self) -> Delivery | None:
        while True:
            row = self._claim_one()
            if row is None:
                return None
            if isinstance(row, Delivery):
                return row

    def _claim_one(self) -> Delivery | None | bool:
        """A claimed delivery; None when nothing is ready; False when the candidate's key turned busy."""
        row = None
        with self._conn() as conn:
            with conn.transaction():
                candidate = conn.execute(
                    f"""SELECT d.id, d.key FROM deliveries d WHERE {_READY} AND NOT {_KEY_BUSY}
                        ORDER BY d.received_at, d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED""",
                    self._params(),
                ).fetchone()
                if candidate is None:
                    return None
                delivery_id, key = candidate
                conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (KEY_LOCKS, key))
                try:
                    row = conn.execute(
                        f"""UPDATE deliveries d SET status = 'working', owner = %(owner)s, attempts = attempts + 1,
                                   lease_until = {_NOW} + %(lease)s
                            WHERE d.id = %(id)s AND {_READY} AND NOT {_KEY_BUSY}
                            RETURNING d.event, d.action, d.payload, d.attempts""",
                        self._params(owner=self.owner, lease=self.lease_seconds, id=delivery_id),
                    ).fetchone()
                except psycopg.errors.UniqueViolation:  # the one-working-per-key index refused it: never expected
                    raise psycopg.Rollback() from None
        if row is None:
            return False  # claimed meanwhile by a worker that held the key's lock first
        event, action, text, attempts = row
        try:
            payload = json.loads(text)
        except ValueError as exc:  # damaged: never claim it again
            self.finish(Delivery(delivery_id, event, action, key, {}, attempts), "dropped", "dropped", f"unreadable payload: {exc}")
            return False
        return Delivery(delivery_id, event, action, key, payload, attempts)

    def _update_own(self, delivery: Delivery, assignments: str, **values: Any) -> bool:
        with self._conn() as conn:
            cursor = conn.execute(
                f"""UPDATE deliveries SET {assignments}
                    WHERE id = %(id)s AND owner = %(owner)s AND attempts = %(attempts)s AND status = 'working'
                    RETURNING {_WAKE_IF_WAITING}""",
                self._params(id=delivery.id, owner=self.owner, attempts=delivery.attempts, **values),
            )
            return cursor.rowcount == 1

    def heartbeat(self, delivery: Delivery) -> bool:
        return self._update_own(delivery, f"lease_until = {_NOW} + %(lease)s", lease=self.lease_seconds)

    def finish(self, delivery: Delivery, status: str, outcome: str, error: str | None = None) -> bool:
        return self._update_own(
            delivery,
            f"status = %(status)s, outcome = %(outcome)s, last_error = %(error)s, finished_at = {_NOW}, lease_until = NULL",
            status=status, outcome=outcome, error=error,
        )

    def fail(self, delivery: Delivery, error: str) -> bool:
        return self.finish(delivery, "failed", "failed", error)

    def retry_later(self, delivery: Delivery, delay: float, error: str) -> bool:
        return self._update_own(delivery, f"status = 'pending', not_before = {_NOW} + %(delay)s, last_error = %(error)s, lease_until = NULL",
                                delay=delay, error=error)

    def postpone(self, delivery: Delivery, delay: float, reason: str) -> bool:
        return self._update_own(delivery, f"status = 'pending', not_before = {_NOW} + %(delay)s, last_error = %(error)s, "
                                "lease_until = NULL, attempts = attempts - 1", delay=delay, error=reason)

    def pending(self, key: str) -> list[Waiting]:
        with self._conn() as conn:
            rows = conn.execute("SELECT id, event, action, received_at FROM deliveries WHERE key = %s AND status = 'pending' "
                                "ORDER BY received_at, id", (key,)).fetchall()
        return [Waiting(*row) for row in rows]

    def key_states(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        with self._conn() as conn:
            rows = conn.execute(
                """SELECT DISTINCT ON (key) key, status FROM deliveries WHERE key = ANY(%s)
                   ORDER BY key, CASE status WHEN 'working' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END,
                            finished_at DESC NULLS LAST, received_at DESC, id DESC""",
                (wanted,),
            ).fetchall()
        return dict(rows)

    def backlog(self) -> Backlog:
        with self._conn() as conn:
            row = conn.execute(
                f"""SELECT {_NOW} - (SELECT min(CASE d.status WHEN 'pending' THEN d.not_before ELSE d.lease_until END)
                                     FROM deliveries d WHERE {_READY} AND NOT {_KEY_BUSY}),
                           {_NOW} - (SELECT max(finished_at) FROM deliveries WHERE status IN {FINISHED})""",
                self._params(),
            ).fetchone()
        ready, finished = row if row else (None, None)
        return Backlog(None if ready is None else max(0.0, float(ready)), None if finished is None else max(0.0, float(finished)))

    def prune(self, older_than: float = KEEP_SECONDS) -> int:
        with self._conn() as conn:
            cursor = conn.execute(f"DELETE FROM deliveries WHERE status IN {FINISHED} AND finished_at < {_NOW} - %(age)s",
                                  self._params(age=older_than))
            conn.execute(f"DELETE FROM leases WHERE until < {_NOW} - 3600", self._params())
            conn.execute(f"DELETE FROM memo WHERE updated_at < {_NOW} - %(age)s", self._params(age=MEMO_KEEP_SECONDS))
            return cursor.rowcount

    def release_dead_owners(self) -> int:
        host = self.owner.split(":", 1)[0]
        with self._conn() as conn:
            rows = conn.execute("SELECT id, owner FROM deliveries WHERE status = 'working' AND owner LIKE %s", (host.replace("%", r"\%") + ":%",)).fetchall()
            gone = [(delivery_id, owner) for delivery_id, owner in rows if owner_gone(owner, self.owner)]
            released = 0
            with conn.transaction():
                for delivery_id, owner in gone:
                    cursor = conn.execute(
                        "UPDATE deliveries SET status = 'pending', lease_until = NULL WHERE id = %s AND owner = %s AND status = 'working'",
                        (delivery_id, owner),
                    )
                    released += cursor.rowcount
                if released:
                    conn.execute(f"NOTIFY {CHANNEL}")
            return released

    def counts(self) -> dict[str, int]:
        with self._conn() as conn:
            return {status: count for status, count in conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status")}

    def get(self, delivery_id: str) -> dict[str, Any] | None:
        with self._conn() as conn:
            row = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM deliveries WHERE id = %s", (delivery_id,)).fetchone()
            return dict(zip(COLUMNS, row)) if row else None

    def acquire_lease(self, name: str, seconds: float) -> bool:
        with self._conn() as conn:
            cursor = conn.execute(
                f"""INSERT INTO leases (name, owner, until) VALUES (%(name)s, %(owner)s, {_NOW} + %(seconds)s)
                    ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until
                    WHERE leases.owner = EXCLUDED.owner OR leases.until < {_NOW}
                    RETURNING 1""",
                self._params(name=name, owner=self.owner, seconds=seconds),
            )
            return cursor.rowcount == 1

    def release_lease(self, name: str) -> None:
        with self._conn() as conn:
            conn.execute("DELETE FROM leases WHERE name = %s AND owner = %s", (name, self.owner))

    def next_ready_in(self) -> float | None:
        with self._conn() as conn:
            row = conn.execute(
                f"""SELECT min(t) - {_NOW} FROM (
                      SELECT min(d.not_before) AS t FROM deliveries d WHERE d.status = 'pending' AND NOT {_KEY_BUSY}
                      UNION ALL SELECT min(lease_until) FROM deliveries WHERE status = 'working') due""",
                self._params(),
            ).fetchone()
        return None if row is None or row[0] is None else max(0.0, float(row[0]))

    def watch(self, wake: Callable[[], None]) -> Callable[[], None] | None:
        """A thread that LISTENs on its own connection and calls ``wake`` for each notification (and
        once after every (re)connection, for what was recorded while it was not listening)."""
        stop = threading.Event()

        def listen() -> None:
            delay = 0.25
            while not stop.is_set():
                try:
                    with psycopg.connect(self.conninfo, autocommit=True) as conn:
                        conn.execute(f"LISTEN {CHANNEL}")
                        delay = 0.25
                        wake()
                        while not stop.is_set():
                            for _ in conn.notifies(timeout=1.0):
                                wake()
                except psycopg.Error:
                    stop.wait(delay)
                    delay = min(delay * 2, 15.0)

        thread = threading.Thread(target=listen, name="challenge-bot-listen", daemon=True)
        thread.start()

        def unwatch() -> None:
            stop.set()
            thread.join(5)

        return unwatch

    def export(self, statuses: Iterable[str] = WAITING) -> list[dict[str, Any]]:
        with self._conn() as conn:
            rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM deliveries WHERE status = ANY(%s) ORDER BY received_at, id",
                                (list(statuses),)).fetchall()
            return [dict(zip(COLUMNS, row)) for row in rows]

    def import_rows(self, rows: Iterable[dict[str, Any]]) -> int:
        added = 0
        with self._conn() as conn, conn.transaction():
            for row in map(waiting_row, rows):
                cursor = conn.execute(
                    f"INSERT INTO deliveries ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) ON CONFLICT (id) DO NOTHING",
                    tuple(row[c] for c in COLUMNS),
                )
                added += cursor.rowcount
            if added:
                conn.execute(f"NOTIFY {CHANNEL}")
        return added

    def recall(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        with self._conn() as conn:
            return dict(conn.execute("SELECT key, value FROM memo WHERE key = ANY(%s)", (wanted,)).fetchall())

    def remember(self, items: dict[str, str]) -> None:
        if not items:
            return
        with self._conn() as conn, conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(
                f"""INSERT INTO memo (key, value, updated_at) VALUES (%(key)s, %(value)s, {_NOW})
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at""",
                [self._params(key=key, value=value) for key, value in sorted(items.items())],  # sorted: two writers never deadlock
            )

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            try:
                conn.close()
            except psycopg.Error:
                pass
        self._local = threading.local()
