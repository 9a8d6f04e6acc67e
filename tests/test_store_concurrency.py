"""The store under concurrency and failure: what would catch a wrong claim query.

Worker processes claim from one store while each, holding a claim, owns a lock file for the delivery's
key (``O_EXCL``): a second process working on the same key at the same time finds the file and reports
an overlap. Then: a process killed while holding a lease, a connection cut in the middle of a claim,
the database restarted under load, and the App while its database is down. Nothing acknowledged may be
lost, no key may run twice at once.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

import pgcluster
from bot.service.store import StoreUnavailable, open_store
from conftest import deliver
from helpers import GOOD
from test_handlers import pr_event

REPO = Path(__file__).resolve().parent.parent
cluster = pgcluster.cluster_fixture()

# One worker process: claim, hold the key's lock file for a moment, finish; retry while the store is down.
WORKER = r"""
import json, os, random, sys, time
sys.path.insert(0, sys.argv[1])
from bot.service.store import StoreUnavailable, open_store

target, lease, out, locks, stop, hold = sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], float(sys.argv[7])
log = open(out, "a", buffering=1)
store = open_store(target, lease_seconds=lease)

def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True

def take(path):
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            return True
        except FileExistsError:
            try:
                holder = int(open(path).read() or 0)
            except (OSError, ValueError):
                continue
            if holder and alive(holder):
                return False  # a live process works on this key right now
            os.unlink(path)  # left by a killed process

def settle(call):
    while True:
        try:
            return call()
        except StoreUnavailable:
            time.sleep(0.05)

log.write(json.dumps(["ready", os.getpid()]) + "\n")
swept = 0.0
while True:
    try:
        if time.monotonic() - swept > 0.3:
            store.release_dead_owners()
            swept = time.monotonic()
        delivery = store.claim()
    except StoreUnavailable:
        time.sleep(0.05)
        continue
    if delivery is None:
        if os.path.exists(stop):
            counts = settle(store.counts)
            if not counts.get("pending") and not counts.get("working"):
                break
        time.sleep(0.005)
        continue
    lock = os.path.join(locks, delivery.key.replace("/", "_").replace("#", "_"))
    alone = take(lock)
    log.write(json.dumps(["claimed", delivery.id, delivery.attempts, alone]) + "\n")
    time.sleep(random.uniform(0, hold) if hold >= 0 else -hold)  # a negative hold: exactly that long
    if alone:
        try:
            os.unlink(lock)  # before finishing: the key stays busy in the store until the finish commits
        except FileNotFoundError:  # another process took the key meanwhile and released it
            log.write(json.dumps(["claimed", delivery.id, delivery.attempts, False]) + "\n")
    ok = settle(lambda: store.finish(delivery, "done", "ok"))
    log.write(json.dumps(["finished" if ok else "late", delivery.id, delivery.attempts]) + "\n")
store.close()
"""


class Workers:
    """Worker processes on one store, their logs, and what the logs add up to."""

    def __init__(self, target: str, tmp: Path, lease: float = 30.0, hold: float = 0.004) -> None:
        self.target, self.tmp, self.lease, self.hold = target, tmp, lease, hold
        (tmp / "locks").mkdir(exist_ok=True)
        self.stop_file = tmp / "stop"
        self.procs: list[subprocess.Popen] = []

    def start(self, count: int, hold: float | None = None) -> None:
        """``count`` more processes, holding each delivery up to ``hold`` seconds (negative: exactly that long)."""
        for _ in range(count):
            out = self.tmp / f"worker-{len(self.procs)}.log"
            self.procs.append(subprocess.Popen(
                [sys.executable, "-c", WORKER, str(REPO), self.target, str(self.lease), str(out), str(self.tmp / "locks"), str(self.stop_file),
                 str(self.hold if hold is None else hold)],
                stderr=subprocess.PIPE, text=True,
            ))

    def lines(self, proc: int | None = None) -> list[list[Any]]:
        files = [self.tmp / f"worker-{proc}.log"] if proc is not None else sorted(self.tmp.glob("worker-*.log"))
        return [json.loads(line) for f in files if f.exists() for line in f.read_text().splitlines() if line.endswith("]")]

    def wait_until(self, predicate: Any, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.02)

    def finish(self, timeout: float = 120.0) -> None:
        self.stop_file.touch()
        for proc in self.procs:
            try:
                _, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
            assert proc.returncode in (0, -signal.SIGKILL), err

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()

    def outcome(self) -> tuple[Counter, list[list[Any]], list[list[Any]]]:
        """(finishes per delivery id, overlaps, late finishes)."""
        lines = self.lines()
        finished = Counter(line[1] for line in lines if line[0] == "finished")
        overlaps = [line for line in lines if line[0] == "claimed" and not line[3]]
        late = [line for line in lines if line[0] == "late"]
        return finished, overlaps, late


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "deliveries.sqlite3")
    return pgcluster.Databases(request.getfixturevalue("cluster")).new()


@pytest.fixture
def pg(cluster: pgcluster.Cluster) -> str:
    return pgcluster.Databases(cluster).new()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Workers]]:
    made: list[Workers] = []
    yield made
    for group in made:
        group.kill_all()


def record_all(target: str, ids_keys: list[tuple[str, str]]) -> None:
    store = open_store(target)
    try:
        for delivery_id, key in ids_keys:
            assert store.record(delivery_id, "pull_request", "opened", key, json.dumps({"id": delivery_id}))
    finally:
        store.close()


def deliveries(count: int, keys: int, prefix: str = "d") -> list[tuple[str, str]]:
    rng = random.Random(count * 31 + keys)
    return [(f"{prefix}{i:05d}", f"o/r#{rng.randrange(keys)}") for i in range(count)]


# --- several processes at once --------------------------------------------------------------


def test_processes_claiming_at_once_never_share_a_key_and_finish_each_delivery_once(target, tmp_path, workers):
    wanted = deliveries(240, keys=12)
    record_all(target, wanted)
    group = Workers(target, tmp_path)
    workers.append(group)
    group.start(6)
    group.finish()
    finished, overlaps, late = group.outcome()
    assert overlaps == [] and late == []
    assert finished == Counter({delivery_id: 1 for delivery_id, _ in wanted})
    store = open_store(target)
    assert store.counts() == {"done": 240}
    store.close()


def test_a_process_killed_while_holding_a_lease_loses_nothing(target, tmp_path, workers):
    wanted = deliveries(120, keys=8)
    record_all(target, wanted)
    group = Workers(target, tmp_path, lease=30.0, hold=0.05)
    workers.append(group)
    group.start(1, hold=-30.0)  # it will still hold its first delivery when it is killed
    group.wait_until(lambda: any(line[0] == "claimed" for line in group.lines(0)))
    group.procs[0].send_signal(signal.SIGKILL)  # mid-delivery: it holds a lease it will never give back
    group.procs[0].wait()
    claimed = {line[1] for line in group.lines(0) if line[0] == "claimed"}
    done = {line[1] for line in group.lines(0) if line[0] == "finished"}
    (orphan,) = claimed - done
    group.start(3)  # the same host: they see the dead process at once, long before its lease runs out
    group.finish()
    finished, overlaps, late = group.outcome()
    assert overlaps == [] and late == []
    assert finished == Counter({delivery_id: 1 for delivery_id, _ in wanted})
    store = open_store(target)
    assert store.get(orphan)["attempts"] == 2
    store.close()


# --- PostgreSQL: the claim's key lock, cut connections, restarts --------------------------


def _hold_key_lock(url: str, key: str) -> Any:
    import psycopg

    from bot.service.store.postgres import KEY_LOCKS

    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (KEY_LOCKS, key))
    return conn


def _waiting_on_advisory_lock(url: str) -> bool:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'challenge-bot' "
                           "AND wait_event_type = 'Lock' AND wait_event = 'advisory'").fetchone()
        return bool(row and row[0])


def _in_thread(call: Any) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def _until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_claim_rechecks_its_key_after_waiting_for_another_claim_of_it(pg):
    """The race a plain ``FOR UPDATE SKIP LOCKED`` claim loses: another delivery of the same key is
    claimed while this claim waits. The claim must see it, and take nothing."""
    store = open_store(pg)
    store.record("a", "pull_request", "opened", "o/r#1", "{}")
    store.record("b", "pull_request", "synchronize", "o/r#1", "{}")
    other = _hold_key_lock(pg, "o/r#1")  # a claimer of this key, between its lock and its commit
    thread, result = _in_thread(store.claim)
    _until(lambda: _waiting_on_advisory_lock(pg))
    other.execute("UPDATE deliveries SET status = 'working', owner = 'other:1:x', lease_until = 1e12, attempts = 1 WHERE id = 'b'")
    other.execute("SELECT pg_advisory_unlock_all()")
    thread.join(10)
    other.close()
    assert result == [None]
    assert (store.get("a")["status"], store.get("a")["attempts"]) == ("pending", 0)
    store.close()


def test_the_database_itself_refuses_two_working_deliveries_of_one_key(pg):
    import psycopg

    store = open_store(pg)
    store.record("a", "pull_request", "opened", "o/r#1", "{}")
    store.record("b", "pull_request", "opened", "o/r#1", "{}")
    assert store.claim().id == "a"
    with psycopg.connect(pg, autocommit=True) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("UPDATE deliveries SET status = 'working' WHERE id = 'b'")
    store.close()


def test_a_connection_cut_in_the_middle_of_a_claim_leaves_nothing_half_done(pg, cluster):
    store = open_store(pg)
    store.record("a", "pull_request", "opened", "o/r#1", "{}")
    other = _hold_key_lock(pg, "o/r#1")
    thread, result = _in_thread(store.claim)  # has locked the row, waits for the key
    _until(lambda: _waiting_on_advisory_lock(pg))
    assert cluster.terminate_sessions(pg.rsplit("/", 1)[1], "challenge-bot") >= 1
    thread.join(10)
    other.close()
    assert len(result) == 1 and isinstance(result[0], StoreUnavailable)
    row = store.get("a")  # a new connection: the store reconnects by itself
    assert (row["status"], row["attempts"], row["owner"]) == ("pending", 0, None)
    assert store.claim().attempts == 1
    assert store.record("b", "push", None, "o/r@index", "{}") is True
    cluster.terminate_sessions(pg.rsplit("/", 1)[1], "challenge-bot")  # cut while idle: noticed before use
    assert store.counts() == {"working": 1, "pending": 1}
    store.close()


def test_nothing_acknowledged_is_lost_when_the_database_restarts_under_load(pg, cluster, tmp_path, workers):
    group = Workers(pg, tmp_path, lease=3.0)  # a claim whose commit was cut off comes back when its lease runs out
    workers.append(group)
    group.start(4)
    acknowledged: list[str] = []
    refused = 0
    producer = open_store(pg)
    restarts: list[threading.Thread] = []
    for i, (delivery_id, key) in enumerate(deliveries(300, keys=25, prefix="r")):
        if i in (100, 200):  # a clean shutdown, then a crash, while deliveries keep coming
            for earlier in restarts:
                earlier.join()
            restarts.append(threading.Thread(target=cluster.restart, args=("fast" if i == 100 else "immediate", 0.5)))
            restarts[-1].start()
        while True:  # as GitHub would redeliver a delivery answered with 503
            try:
                if producer.record(delivery_id, "pull_request", "opened", key, json.dumps({"id": delivery_id})):
                    acknowledged.append(delivery_id)
                break
            except StoreUnavailable:
                refused += 1
                time.sleep(0.05)
        time.sleep(0.002)
    for thread in restarts:
        thread.join()
    producer.close()
    group.finish()
    finished, overlaps, late = group.outcome()
    assert refused > 0, "the restarts were not noticed"
    assert overlaps == []
    assert set(finished) == set(acknowledged) and len(acknowledged) == 300
    assert all(count == 1 for count in finished.values()), [k for k, v in finished.items() if v > 1]
    # A late finish is a claim whose commit answer was lost in the restart: its lease ran out, it ran again.
    assert len(late) <= 4


# --- the App while its database is down ----------------------------------------------------


def test_the_app_answers_503_while_the_database_is_down_and_resumes_after(make_app, fake_gateway, cluster):
    from bot.service import workers as service_mod

    url = pgcluster.Databases(cluster).new()
    numbers = [fake_gateway.open_pull({"case_studies/meta/good.md": GOOD.encode()}) for _ in range(2)]
    pause = service_mod.ERROR_PAUSE
    service_mod.ERROR_PAUSE = 0.05
    app = make_app(db_path=url, workers=2)
    try:
        client = app.test_client()
        assert deliver(client, "pull_request", pr_event(fake_gateway, numbers[0]), delivery="before").json == {"status": "queued"}
        bot = app.extensions["challenge_bot"]
        assert bot.service.wait_idle(30)
        cluster.stop("fast")
        try:
            refused = deliver(client, "pull_request", pr_event(fake_gateway, numbers[1]), delivery="during")
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "30"
            assert refused.json == {"error": "the delivery store is unavailable; redeliver this delivery once /healthz answers 200"}
            health = client.get("/healthz")
            assert (health.status_code, health.json["status"], health.json["store"]) == (503, "unavailable", pgcluster_location(url))
            assert "cannot be reached" in health.json["reason"] or "unavailable" in health.json["reason"]
            time.sleep(0.5)  # the workers meet the outage and back off
            assert all(thread.is_alive() for thread in bot.service._threads)
        finally:
            cluster.start()
        # GitHub's redelivery of the refused delivery: same id, recorded now, processed once.
        assert deliver(client, "pull_request", pr_event(fake_gateway, numbers[1]), delivery="during").json == {"status": "queued"}
        assert bot.service.wait_idle(30)
        assert client.get("/healthz").json == {"status": "ok", "deliveries": {"done": 2}}
        assert len(fake_gateway.runs) == 2
    finally:
        service_mod.ERROR_PAUSE = pause
        app.extensions["challenge_bot"].service.stop()
        app.extensions["challenge_bot"].store.close()


def test_an_app_can_start_while_its_database_is_down(make_app, cluster):
    url = pgcluster.Databases(cluster).new()
    cluster.stop("fast")
    try:
        app = make_app(db_path=url)
        assert app.test_client().get("/healthz").status_code == 503
    finally:
        cluster.start()
    try:
        assert app.test_client().get("/healthz").json == {"status": "ok", "deliveries": {}}
    finally:
        app.extensions["challenge_bot"].store.close()


def pgcluster_location(url: str) -> str:
    from bot.service.store.postgres import safe_location

    return safe_location(url)


# --- the workers' heartbeat ------------------------------------------------------------------


def test_a_long_handler_keeps_its_delivery_through_heartbeats(target, fake_gateway):
    """A review slower than the lease: the worker's heartbeat renews it, so no other process claims it meanwhile."""
    from bot.service.workers import Service

    store = open_store(target, lease_seconds=0.4)  # renewed every 0.1 s
    other = open_store(target, lease_seconds=0.4)
    number = fake_gateway.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    real_changed_files, stolen = fake_gateway.changed_files, []

    def slow_changed_files(n: int) -> Any:
        for _ in range(6):  # 1.2 s: three leases long
            time.sleep(0.2)
            stolen.append(other.claim())
        return real_changed_files(n)

    fake_gateway.changed_files = slow_changed_files
    assert store.record("slow", "pull_request", "opened", f"{fake_gateway.repo}#{number}", json.dumps(pr_event(fake_gateway, number)))
    service = Service(store, lambda installation, repository: fake_gateway, workers=1)
    service.start()
    try:
        assert service.wait_idle(30)
        row = store.get("slow")
        assert (row["status"], row["outcome"], row["attempts"]) == ("done", "reviewed", 1)
        assert stolen == [None] * 6 and len(fake_gateway.runs) == 1
    finally:
        service.stop()
        store.close()
        other.close()
