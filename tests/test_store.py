"""The delivery store: once per delivery id, one worker per key, leases that run out, nothing lost."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3

import pytest

from bot.service.store import LEASE_SECONDS, DeliveryStore
from helpers import Clock


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "d.sqlite3")


def test_a_delivery_id_is_recorded_once(db, clock):
    store = DeliveryStore(db, clock)
    assert store.record("d1", "pull_request", "opened", "o/r#1", "{}") is True
    assert store.record("d1", "pull_request", "opened", "o/r#1", "{}") is False
    assert store.counts() == {"pending": 1}


def test_one_worker_per_key_and_oldest_first(db, clock):
    store = DeliveryStore(db, clock)
    store.record("a", "pull_request", "opened", "o/r#1", '{"n": 1}')
    clock.now += 1
    store.record("b", "pull_request", "synchronize", "o/r#1", '{"n": 2}')
    clock.now += 1
    store.record("c", "push", None, "o/r@index", '{"n": 3}')
    first = store.claim()
    assert (first.id, first.payload, first.attempts) == ("a", {"n": 1}, 1)
    second = store.claim()
    assert second.id == "c"  # "b" waits: its pull request is being worked on
    assert store.claim() is None
    assert store.finish(first, "done", "reviewed") is True
    assert store.claim().id == "b"


def test_a_lease_that_runs_out_is_claimed_again_and_the_late_worker_cannot_finish(db, clock):
    dead = DeliveryStore(db, clock)
    dead.record("a", "pull_request", "opened", "o/r#1", "{}")
    stuck = dead.claim()
    other = DeliveryStore(db, clock)  # another process
    assert other.claim() is None
    clock.now += LEASE_SECONDS + 1
    again = other.claim()
    assert (again.id, again.attempts) == ("a", 2)
    assert dead.finish(stuck, "done", "late") is False  # the lease moved on: the late result is not recorded
    assert other.finish(again, "done", "reviewed") is True
    row = other.get("a")
    assert (row["status"], row["outcome"], row["attempts"]) == ("done", "reviewed", 2)


def test_a_restarted_process_resumes_what_a_dead_one_left(db, clock):
    first = DeliveryStore(db, clock)
    first.record("a", "pull_request", "opened", "o/r#1", "{}")
    assert first.claim() is not None
    restarted = DeliveryStore(db, clock)  # same host, same pid, a new run
    assert restarted.claim() is None  # the lease still runs...
    assert restarted.release_dead_owners() == 1  # ...but its owner is gone
    assert restarted.claim().id == "a"


def test_retry_later_waits_for_its_time(db, clock):
    store = DeliveryStore(db, clock)
    store.record("a", "pull_request", "opened", "o/r#1", "{}")
    assert store.retry_later(store.claim(), 30, "502") is True
    assert store.claim() is None
    clock.now += 31
    assert (store.claim().attempts, store.get("a")["last_error"]) == (2, "502")


def test_an_unreadable_payload_is_dropped_not_claimed_forever(db, clock):
    store = DeliveryStore(db, clock)
    store.record("bad", "pull_request", "opened", "o/r#1", "{not json")
    store.record("good", "pull_request", "opened", "o/r#2", json.dumps({"ok": True}))
    assert store.claim().id == "good"
    row = store.get("bad")
    assert (row["status"], row["last_error"].startswith("unreadable payload:")) == ("dropped", True)


def test_finished_deliveries_are_pruned_after_a_while(db, clock):
    store = DeliveryStore(db, clock)
    for name in ("old", "new"):
        store.record(name, "push", None, "o/r@index", "{}")
        store.finish(store.claim(), "done", "index-unchanged")
        clock.now += 10 * 24 * 3600
    store.record("waiting", "push", None, "o/r@index", "{}")
    assert store.prune() == 1
    with sqlite3.connect(db) as conn:
        assert sorted(r[0] for r in conn.execute("SELECT id FROM deliveries")) == ["new", "waiting"]


def test_the_claim_takes_the_oldest_ready_delivery_whether_pending_or_left_by_a_lapsed_lease(db, clock):
    store = DeliveryStore(db, clock)
    store.record("left", "pull_request", "opened", "o/r#1", "{}")
    clock.now += 1
    store.record("newer", "pull_request", "opened", "o/r#2", "{}")
    store.record("later", "pull_request", "opened", "o/r#3", "{}", delay=LEASE_SECONDS + 60)  # not ready yet
    assert store.claim().id == "left"  # its worker dies holding it
    clock.now += LEASE_SECONDS + 1
    assert [store.claim().id, store.claim().id, store.claim()] == ["left", "newer", None]


def test_the_claim_searches_outside_the_write_lock_and_writes_one_row(db, clock):
    """An acknowledgement waits for the write lock: the claim holds it for one indexed UPDATE, never
    for the search over the backlog (which, with every key busy, reads thousands of rows)."""
    store = DeliveryStore(db, clock)
    for i in range(300):
        store.record(f"d{i:03d}", "pull_request", "synchronize", f"o/r#{i % 3}", "{}")
    held, statements = [False], []
    writing = store._writing

    def traced_writing():
        held[0] = True
        try:
            with writing() as conn:
                yield conn
        finally:
            held[0] = False

    store._writing = contextlib.contextmanager(traced_writing)
    with store._connect() as conn:
        conn.set_trace_callback(lambda sql: statements.append((held[0], sql.split()[0])))
    claimed = [store.claim() for _ in range(4)]
    assert [c.id if c else None for c in claimed] == ["d000", "d001", "d002", None]  # then every key is busy
    assert [sql for locked, sql in statements if locked] == ["UPDATE"] * 3


def test_only_a_process_that_claims_checkpoints_the_log_and_at_the_lowest_priority(db, clock):
    web, worker = DeliveryStore(db, clock), DeliveryStore(db, clock)
    try:
        web.record("a", "pull_request", "opened", "o/r#1", "{}")
        assert web._checkpointer is None  # an acknowledgement never shares its core with a page copy
        assert worker.claim().id == "a"
        assert worker._checkpointer is not None and worker._checkpointer.is_alive()
        if hasattr(os, "getpriority") and hasattr(worker._checkpointer, "native_id"):
            assert os.getpriority(os.PRIO_PROCESS, worker._checkpointer.native_id) == 19
        assert web._checkpointer is None
    finally:
        web.close()
        worker.close()
