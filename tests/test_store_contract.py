"""The store contract, run against both backends: SQLite (a file) and PostgreSQL (a throwaway server).

Each test gets an empty store and a clock it moves by hand; "another process" is a second store
object on the same database (its own owner token, as a process of its own would have).
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Iterator

import pytest

import pgcluster
from bot.service.store import SQLiteStore, Store, StoreError, open_store, sqlite
from bot.service.store.contract import FINISHED, SWEEP_LEASE
from helpers import Clock

cluster = pgcluster.cluster_fixture()
LEASE = 60.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """Where the store under test lives: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "deliveries.sqlite3")
    return pgcluster.Databases(request.getfixturevalue("cluster")).new()


@pytest.fixture
def make_store(target: str, clock: Clock) -> Iterator[Callable[..., Store]]:
    made: list[Store] = []

    def make(**options: Any) -> Store:
        store = open_store(target, clock=clock, lease_seconds=options.pop("lease_seconds", LEASE), **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    return make_store()


def record(store: Store, delivery_id: str, key: str = "o/r#1", payload: Any = None, event: str = "pull_request") -> bool:
    return store.record(delivery_id, event, "opened", key, json.dumps(payload if payload is not None else {"id": delivery_id}))


# --- record and claim ----------------------------------------------------------------------


def test_a_delivery_id_is_recorded_once(store):
    assert record(store, "d1") is True
    assert record(store, "d1") is False
    assert store.counts() == {"pending": 1}


def test_claims_go_oldest_first_and_one_at_a_time_per_key(store, clock):
    record(store, "a", "o/r#1", {"n": 1})
    clock.now += 1
    record(store, "b", "o/r#1", {"n": 2})
    clock.now += 1
    record(store, "c", "o/r@index", {"n": 3})
    first = store.claim()
    assert (first.id, first.event, first.action, first.key, first.payload, first.attempts) == ("a", "pull_request", "opened", "o/r#1", {"n": 1}, 1)
    assert store.claim().id == "c"  # "b" waits: its pull request is being worked on
    assert store.claim() is None
    assert store.finish(first, "done", "reviewed") is True
    assert store.claim().id == "b"
    assert store.counts() == {"done": 1, "working": 2}


def test_deliveries_received_in_the_same_instant_are_claimed_in_id_order(store):
    for name in ("b", "a", "c"):
        record(store, name, key=f"o/r#{name}")
    assert [store.claim().id for _ in range(3)] == ["a", "b", "c"]


def test_an_unreadable_payload_is_dropped_not_claimed_forever(store):
    store.record("bad", "pull_request", "opened", "o/r#1", "{not json")
    record(store, "good", "o/r#2")
    assert store.claim().id == "good"
    row = store.get("bad")
    assert (row["status"], row["last_error"].startswith("unreadable payload:")) == ("dropped", True)
    assert store.claim() is None


def test_the_payload_text_is_kept_exactly_as_received(store):
    text = '{"b": 1,   "a": "\\u00e9t\u00e9", "n": 1.50}'
    store.record("d", "push", None, "o/r@index", text)
    assert store.get("d")["payload"] == text
    assert store.claim().payload == {"b": 1, "a": "été", "n": 1.5}


# --- leases ------------------------------------------------------------------------------


def test_a_lease_that_runs_out_is_claimed_again_and_the_late_worker_cannot_finish(make_store, clock):
    dead, other = make_store(), make_store()
    record(dead, "a")
    stuck = dead.claim()
    assert other.claim() is None
    clock.now += LEASE + 1
    again = other.claim()
    assert (again.id, again.attempts) == ("a", 2)
    assert dead.finish(stuck, "done", "late") is False  # the lease moved on: the late result is not recorded
    assert dead.heartbeat(stuck) is False
    assert dead.retry_later(stuck, 1, "late") is False
    assert other.finish(again, "done", "reviewed") is True
    row = other.get("a")
    assert (row["status"], row["outcome"], row["attempts"], row["lease_until"]) == ("done", "reviewed", 2, None)


def test_a_heartbeat_keeps_the_lease(make_store, clock):
    worker, other = make_store(), make_store()
    record(worker, "a")
    delivery = worker.claim()
    for _ in range(3):
        clock.now += LEASE * 0.75
        assert worker.heartbeat(delivery) is True
    assert other.claim() is None
    assert worker.finish(delivery, "done", "reviewed") is True
    assert worker.heartbeat(delivery) is False  # finished: nothing left to renew


def test_a_restarted_process_resumes_what_a_dead_one_left(make_store):
    first = make_store()
    record(first, "a")
    assert first.claim() is not None
    restarted = make_store()  # same host, same pid, a new run
    assert restarted.claim() is None  # the lease still runs...
    assert restarted.release_dead_owners() == 1  # ...but its owner is gone
    assert restarted.claim().id == "a"
    assert restarted.release_dead_owners() == 0


def test_leases_of_other_hosts_are_left_to_run_out(make_store):
    other_host, here = make_store(), make_store()
    other_host.owner = "elsewhere:1:run"
    record(other_host, "a")
    assert other_host.claim() is not None
    assert here.release_dead_owners() == 0


def test_retry_later_waits_for_its_time(store, clock):
    record(store, "a")
    assert store.retry_later(store.claim(), 30, "502") is True
    assert store.claim() is None
    assert store.next_ready_in() == pytest.approx(30)
    clock.now += 31
    again = store.claim()
    assert (again.attempts, store.get("a")["last_error"]) == (2, "502")


def test_a_retry_frees_the_key_for_the_next_delivery(store, clock):
    record(store, "a")
    clock.now += 1
    record(store, "b")
    assert store.retry_later(store.claim(), 30, "502") is True
    assert store.claim().id == "b"


def test_fail_closes_a_delivery_as_failed(store):
    record(store, "a")
    assert store.fail(store.claim(), "GatewayError: 404") is True
    row = store.get("a")
    assert (row["status"], row["outcome"], row["last_error"]) == ("failed", "failed", "GatewayError: 404")


def test_next_ready_in_says_when_to_look_again(make_store, clock):
    store = make_store()
    assert store.next_ready_in() is None
    record(store, "a")
    assert store.next_ready_in() == 0
    held = store.claim()
    clock.now += 1
    record(store, "b")  # same key: waits for "a", which frees it (or its lease runs out)
    assert store.next_ready_in() == pytest.approx(LEASE - 1)
    store.finish(held, "done", "reviewed")
    assert store.next_ready_in() == 0


def test_a_delayed_delivery_waits_for_its_time(store, clock):
    assert store.record("later", "pull_request", "synchronize", "o/r#1", "{}", delay=5) is True
    assert store.claim() is None
    assert store.next_ready_in() == pytest.approx(5)
    clock.now += 5
    assert store.claim().id == "later"


def test_postpone_gives_the_delivery_back_without_counting_the_attempt(store, clock):
    record(store, "a")
    first = store.claim()
    assert store.postpone(first, 120, "rate limited until 12:00") is True
    assert store.postpone(first, 120, "again") is False  # no longer this worker's
    row = store.get("a")
    assert (row["status"], row["attempts"], row["last_error"], row["lease_until"]) == ("pending", 0, "rate limited until 12:00", None)
    assert store.claim() is None
    clock.now += 120
    assert store.claim().attempts == 1


def test_pending_lists_a_keys_waiting_deliveries_oldest_first(store, clock):
    record(store, "a", "o/r#1")
    clock.now += 1
    record(store, "b", "o/r#1", event="check_run")
    record(store, "other", "o/r#2")
    assert store.claim().id == "a"  # working: not listed
    clock.now += 1
    store.record("c", "pull_request", "synchronize", "o/r#1", "{}", delay=30)
    assert [(w.id, w.event, w.action, w.received_at) for w in store.pending("o/r#1")] == [
        ("b", "check_run", "opened", 1_000_001.0), ("c", "pull_request", "synchronize", 1_000_002.0)]
    assert store.pending("o/r#9") == []


def test_key_states_say_what_is_waiting_or_how_the_last_one_ended(store, clock):
    for name, key, status in (("a", "o/r#1", "failed"), ("b", "o/r#2", "done"), ("c", "o/r#2", "failed"), ("d", "o/r#4", "done")):
        record(store, name, key)
        clock.now += 1
        store.finish(store.claim(), status, status)
    record(store, "e", "o/r#1")  # waiting again after a failure
    record(store, "f", "o/r#3")
    record(store, "g", "o/r#3")
    assert store.claim().id == "e"
    assert store.key_states(["o/r#1", "o/r#2", "o/r#3", "o/r#4", "o/r#5", "o/r#1"]) == {
        "o/r#1": "working", "o/r#2": "failed", "o/r#3": "pending", "o/r#4": "done"}
    assert store.key_states([]) == {}


def test_backlog_says_how_long_the_oldest_ready_delivery_waits_and_since_when_nothing_finished(store, clock):
    assert store.backlog() == (None, None)
    record(store, "a", "o/r#1")
    clock.now += 10
    record(store, "b", "o/r#2")
    store.record("later", "push", None, "o/r@index", "{}", delay=100)
    assert store.backlog() == (pytest.approx(10), None)
    held = store.claim()
    clock.now += 5
    record(store, "c", "o/r#1")  # waits for its key, not for a worker
    assert store.backlog() == (pytest.approx(5), None)
    store.finish(store.claim(), "done", "reviewed")
    clock.now += 3
    assert store.backlog() == (None, pytest.approx(3))
    store.finish(held, "done", "reviewed")
    assert store.backlog() == (pytest.approx(3), 0)
    assert store.claim().id == "c"
    clock.now += LEASE + 1  # its worker stopped renewing: ready again since the lease ran out
    assert store.backlog() == (pytest.approx(1), pytest.approx(LEASE + 1))


# --- the sweep's lease, pruning, counts ----------------------------------------------------


def test_one_process_holds_a_named_lease_until_it_runs_out(make_store, clock):
    one, two = make_store(), make_store()
    assert one.acquire_lease(SWEEP_LEASE, 100) is True
    assert two.acquire_lease(SWEEP_LEASE, 100) is False
    assert one.acquire_lease(SWEEP_LEASE, 100) is True  # renewed by its holder
    clock.now += 101
    assert two.acquire_lease(SWEEP_LEASE, 100) is True
    assert one.acquire_lease(SWEEP_LEASE, 100) is False
    one.release_lease(SWEEP_LEASE)  # not its lease: nothing happens
    assert one.acquire_lease(SWEEP_LEASE, 100) is False
    two.release_lease(SWEEP_LEASE)
    assert one.acquire_lease(SWEEP_LEASE, 100) is True
    assert one.acquire_lease("another", 100) is True


def test_finished_deliveries_are_pruned_after_a_while(store, clock):
    for name in ("old", "new"):
        record(store, name, key="o/r@index")
        store.finish(store.claim(), "done", "index-unchanged")
        clock.now += 10 * 24 * 3600
    record(store, "waiting", key="o/r@index")
    assert store.prune() == 1
    assert (store.get("old"), store.get("new")["status"], store.get("waiting")["status"]) == (None, "done", "pending")
    assert store.counts() == {"done": 1, "pending": 1}


# --- what the bot remembers (bot.github.remote.Memory) --------------------------------------


def test_what_is_remembered_is_recalled_by_any_process_until_it_is_pruned(make_store, clock):
    one, other = make_store(), make_store()  # two processes sharing the store
    one.remember({"record:a": "{}", "pull:o/r#1": '{"comment": 7}'})
    clock.now += 40 * 24 * 3600
    other.remember({"pull:o/r#1": '{"comment": 8}', "run:o/r@abc:challenge-bot": '{"id": 0}'})
    keys = ["record:a", "pull:o/r#1", "run:o/r@abc:challenge-bot", "never"]
    assert other.recall(keys) == one.recall(keys) == {"record:a": "{}", "pull:o/r#1": '{"comment": 8}', "run:o/r@abc:challenge-bot": '{"id": 0}'}
    assert one.recall([]) == {} and one.remember({}) is None
    assert one.recall([f"k{i}" for i in range(1200)] + ["record:a"]) == {"record:a": "{}"}  # more keys than one query takes
    clock.now += 30 * 24 * 3600
    one.prune()  # what nobody wrote again for MEMO_KEEP_SECONDS goes
    assert one.recall(keys) == {"pull:o/r#1": '{"comment": 8}', "run:o/r@abc:challenge-bot": '{"id": 0}'}


# --- moving between stores ---------------------------------------------------------------


def test_waiting_deliveries_are_exported_and_imported(store, clock, tmp_path):
    record(store, "done-one", "o/r#1")
    store.finish(store.claim(), "done", "reviewed")
    record(store, "working", "o/r#2")
    store.claim()
    clock.now += 1
    record(store, "pending", "o/r#3", {"exact": "text"})
    rows = store.export()
    assert [(r["id"], r["status"]) for r in rows] == [("working", "working"), ("pending", "pending")]
    assert {r["id"] for r in store.export(FINISHED)} == {"done-one"}
    target = SQLiteStore(str(tmp_path / "copy.sqlite3"), clock=clock)
    assert target.import_rows(rows) == 2
    assert target.import_rows(rows) == 0  # ids already there are kept: safe to run twice
    assert target.counts() == {"pending": 2}
    copy = target.claim()
    assert (copy.id, copy.attempts) == ("working", 2)  # the interrupted attempt still counts
    assert target.get("pending")["payload"] == json.dumps({"exact": "text"})
    target.close()


# --- schema versions -----------------------------------------------------------------------


def test_a_store_written_by_a_newer_version_is_refused(make_store, target):
    make_store()
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("UPDATE challenge_bot_schema SET version = 99")
    else:
        import sqlite3

        with sqlite3.connect(target) as conn:
            conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="schema version 99, newer than this challenge-bot knows"):
        make_store()


def test_an_older_schema_is_upgraded_in_place_keeping_its_deliveries(make_store, target, clock):
    old = make_store()
    record(old, "kept")
    if target.startswith("postgresql://"):
        from bot.service.store.postgres import MIGRATIONS, PostgresStore as Backend
    else:
        from bot.service.store.sqlite import MIGRATIONS, SQLiteStore as Backend  # type: ignore[assignment]
    newer = MIGRATIONS + (("CREATE TABLE upgrade_marker (n integer)",),)
    upgraded = Backend(target, clock=clock, migrations=newer)
    assert upgraded.get("kept")["status"] == "pending"
    assert upgraded.claim().id == "kept"
    again = Backend(target, clock=clock, migrations=newer)  # the step is applied once: a second CREATE TABLE would fail
    assert again.counts() == {"working": 1}
    with pytest.raises(StoreError, match="newer than this challenge-bot knows"):
        Backend(target, clock=clock)  # the code before the upgrade refuses the upgraded store
    for store in (upgraded, again):
        store.close()


def test_processes_starting_together_set_up_the_schema_once(target, clock):
    stores: list[Store] = []
    failures: list[BaseException] = []
    gate = threading.Barrier(8)

    def start() -> None:
        gate.wait()
        try:
            stores.append(open_store(target, clock=clock))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        assert record(stores[0], "a") is True and record(stores[1], "a") is False
    finally:
        for store in stores:
            store.close()


def test_a_file_from_before_schema_versions_is_adopted(tmp_path, clock):
    import sqlite3

    path = str(tmp_path / "old.sqlite3")
    with sqlite3.connect(path) as conn:
        conn.executescript(sqlite.MIGRATIONS[0][0] + ";")
        conn.execute("INSERT INTO deliveries (id, event, key, payload, received_at, not_before) VALUES ('old', 'push', 'o/r@index', '{}', 1, 1)")
    store = SQLiteStore(path, clock=clock)
    assert store.claim().id == "old"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(sqlite.MIGRATIONS)
    store.close()


def test_unknown_kinds_of_database_are_refused():
    with pytest.raises(StoreError, match="unknown kind of database 'mysql'"):
        open_store("mysql://db/x")
