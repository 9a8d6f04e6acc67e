"""The service's own rules against the in-memory fakes: bursts coalesce, leases stop writes, rate limits
postpone, the sweep queues what is missing, /healthz tells a stalled queue, /metrics counts exactly."""

from __future__ import annotations

import json
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.core import messages as m
from bot.core.github_data import RateLimited, TransientError
from bot.github.remote import Cache
from bot.service.handlers import router
from bot.service.lease import Lease, LeaseLost, guarded
from bot.service.sweep import Sweeper
from conftest import deliver
from fakes import FakeAppApi, FakeGateway
from helpers import GOOD
from test_handlers import BROKEN, comment_event, pr_event


def service(app):
    return app.extensions["challenge_bot"].service


def store(app):
    return app.extensions["challenge_bot"].store


def metrics(app, client) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    response = client.get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def outcomes(app) -> list[tuple[str, str]]:
    import sqlite3

    with sqlite3.connect(store(app).path) as db:
        return db.execute("SELECT id, outcome FROM deliveries ORDER BY received_at, id").fetchall()


# --- bursts ------------------------------------------------------------------------------------


def test_ten_pushes_in_a_burst_get_one_review_of_the_newest_head_and_commands_are_all_answered(make_app, fake_gateway):
    app = make_app(coalesce_seconds=1.0)
    client = app.test_client()
    number = fake_gateway.open_pull({"case_studies/meta/broken.md": BROKEN.encode()})
    for i in range(10):
        fake_gateway.push(f"pr-{number}", {"case_studies/meta/broken.md": (GOOD + f"\nPush {i}.\n").encode()})
        assert deliver(client, "pull_request", pr_event(fake_gateway, number, "synchronize"), delivery=f"push-{i}").json == {"status": "queued"}
        if i == 4:
            deliver(client, "issue_comment", comment_event(fake_gateway, number, "/challenge-bot help"), delivery="command")
    assert service(app).drain() == 1  # within the window only the command is ready: answered at once
    time.sleep(1.05)
    assert service(app).drain() == 10
    newest = fake_gateway.pull_request(number).head_sha
    assert [(r.head_sha, r.conclusion) for r in fake_gateway.runs] == [(newest, "success")]
    assert dict(outcomes(app)) == {"command": "commands: help", "push-9": "reviewed"} | {f"push-{i}": "superseded" for i in range(9)}
    assert metrics(app, client)[("challenge_bot_deliveries_total", (("event", "pull_request"), ("outcome", "superseded")))] == 9


def test_only_later_deliveries_of_the_same_work_supersede(app, client, fake_gateway):
    number = fake_gateway.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    deliver(client, "pull_request", pr_event(fake_gateway, number), delivery="review")
    deliver(client, "issue_comment", comment_event(fake_gateway, number, "/challenge-bot help"), delivery="command")
    assert service(app).drain() == 2
    assert dict(outcomes(app)) == {"review": "reviewed", "command": "commands: help"}
    assert router.work("sweep", "review") == router.work("check_run", "rerequested") == "review"
    assert router.work("issue_comment", "created") is None and router.work("nothing", None) is None


# --- leases ------------------------------------------------------------------------------------


def test_a_worker_that_lost_its_lease_stops_before_its_next_write(app, client, fake_gateway):
    number = fake_gateway.open_pull({"case_studies/meta/broken.md": BROKEN.encode()})
    deliver(client, "pull_request", pr_event(fake_gateway, number), delivery="long")
    svc = service(app)
    delivery = svc.store.claim()
    lease = Lease(delivery, svc.store.lease_seconds)
    listed = fake_gateway.changed_files

    def lost_meanwhile(n):
        assert lease.renew(lambda d: False) is False  # the heartbeat hears the lease moved on
        return listed(n)

    fake_gateway.changed_files = lost_meanwhile
    svc.process(delivery, lease)
    assert (fake_gateway.runs, fake_gateway.comments, fake_gateway.reviews) == ([], {}, {})
    assert svc.store.get("long")["status"] == "working"  # nothing recorded: it is another worker's now
    assert metrics(app, client)[("challenge_bot_deliveries_total", (("event", "pull_request"), ("outcome", "lease-lost")))] == 1


def test_a_lease_not_renewed_for_most_of_its_time_stops_writes():
    now = [0.0]
    lease = Lease(None, 60.0, clock=lambda: now[0])  # type: ignore[arg-type]
    writes: list[str] = []

    class Writer:
        repo = "o/r"

        def pull_request(self, number):
            return number

        def create_comment(self, number, body):
            writes.append(body)
            return 1

    gw = guarded(Writer(), lease.check)  # type: ignore[arg-type]
    now[0] = 44.0
    assert gw.create_comment(1, "in time") == 1
    now[0] = 46.0  # 3/4 of the lease without a renewal: another worker may claim it any moment
    with pytest.raises(LeaseLost, match="not renewed for 46 s of its 60 s"):
        gw.create_comment(1, "too late")
    assert gw.pull_request(7) == 7 and gw.repo == "o/r"  # reads go on
    assert lease.renew(lambda d: True) is True
    assert gw.create_comment(1, "renewed") == 1
    assert writes == ["in time", "renewed"]


# --- rate limits -------------------------------------------------------------------------------


def test_a_rate_limit_postpones_the_delivery_to_the_time_github_gave_without_counting_an_attempt(app, client, fake_gateway, caplog):
    number = fake_gateway.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    deliver(client, "pull_request", pr_event(fake_gateway, number), delivery="limited")
    retry_at = time.time() + 600

    def limited(n):
        raise RateLimited("GitHub asked installation:1 to wait", retry_at, 403)

    fake_gateway.changed_files = limited
    started = time.monotonic()
    assert service(app).drain() == 1
    assert time.monotonic() - started < 5  # no sleeping in the worker
    row = store(app).get("limited")
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 0, "RateLimited: GitHub asked installation:1 to wait")
    assert retry_at <= row["not_before"] <= retry_at + 1
    assert fake_gateway.runs == []
    (logged,) = [r.message for r in caplog.records if getattr(r, "outcome", None) == "rate-limited"]
    assert logged.startswith("rate limited: postponed by 60") and logged.endswith(" s: GitHub asked installation:1 to wait")


# --- failures ----------------------------------------------------------------------------------


def test_after_the_last_attempt_the_head_gets_a_failed_check_saying_how_to_ask_again(make_app, fake_gateway):
    app = make_app(max_attempts=2)
    service(app).backoff = 0.01
    number = fake_gateway.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    deliver(app.test_client(), "pull_request", pr_event(fake_gateway, number))

    def down(n):
        raise TransientError("GitHub answered 502", 502)

    fake_gateway.changed_files = down
    service(app).drain()
    time.sleep(0.05)
    service(app).drain()
    (run,) = fake_gateway.runs
    assert (run.conclusion, run.title) == ("failure", m.REVIEW_FAILED_TITLE)
    assert "/challenge-bot recheck" in run.summary and "after 2 attempts" in run.summary


# --- the sweep ---------------------------------------------------------------------------------


@pytest.fixture
def world(make_app, fake_gateway):
    """A store, the repository's fake and the App-level fake, with the sweep between them."""
    app = make_app()
    api = FakeAppApi()
    api.installation_repos = {1: [fake_gateway.repo]}
    sweeper = Sweeper(store(app), lambda installation, repo: fake_gateway, api, Cache())
    return app, fake_gateway, api, sweeper


def jobs(app) -> list[tuple[str, str, str, dict]]:
    rows = store(app).export()
    return [(r["event"], r["action"], r["key"], json.loads(r["payload"])) for r in rows]


def test_the_sweep_queues_a_review_for_each_open_pull_request_without_the_bots_result(world):
    app, gw, api, sweeper = world
    missing = gw.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    reviewed = gw.open_pull({"case_studies/meta/other.md": GOOD.encode()})
    closed = gw.open_pull({"case_studies/meta/third.md": GOOD.encode()})
    gw.pulls[closed]["state"] = "closed"
    deliver(app.test_client(), "pull_request", pr_event(gw, reviewed))
    service(app).drain()
    report = sweeper.run()
    assert (report.reviews, report.indexes, report.redelivered, report.repositories) == (1, 1, 0, 1)
    head = gw.pull_request(missing).head_sha
    assert sorted((e, a, k) for e, a, k, _ in jobs(app)) == [("sweep", "index", "octo/kb@index"), ("sweep", "review", f"octo/kb#{missing}")]
    review_job = next(p for e, a, k, p in jobs(app) if a == "review")
    assert review_job == {"repository": {"full_name": "octo/kb", "default_branch": "main"}, "installation": {"id": 1},
                          "pull_request": {"number": missing, "head": {"sha": head}}}
    assert sweeper.run().queued == 0  # both are waiting already
    service(app).drain()
    assert {r.head_sha for r in gw.runs} == {head, gw.pull_request(reviewed).head_sha}
    assert sweeper.run().queued == 1  # the index job committed the index: main moved (the next finds it unchanged)
    service(app).drain()
    gw.calls.clear()
    again = sweeper.run()
    assert again.queued == 0
    assert gw.calls.count("open_pulls") == 1 and gw.calls.count("check_runs") <= 2


def test_a_delivery_that_arrives_while_the_sweep_looks_is_reviewed_by_itself(world):
    """The bench's one delivery in 1,785 that ended done without a check run of its own: the sweep read every
    pull request's state once, then looked at their check runs one by one. A delivery recorded in between was
    not seen waiting, so the sweep queued a review job too; recorded later, the job superseded the delivery,
    which ended done ("superseded") without doing its review, and the job did it (one run: no duplicate)."""
    app, gw, api, sweeper = world
    number = gw.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    listing = gw.check_runs

    def a_delivery_arrives_meanwhile(head_sha, name=None):
        if not store(app).pending(f"octo/kb#{number}"):
            deliver(app.test_client(), "pull_request", pr_event(gw, number), delivery="arrived-during-the-sweep")
        return listing(head_sha, name)

    gw.check_runs = a_delivery_arrives_meanwhile  # type: ignore[method-assign]
    report = sweeper.run()
    assert report.reviews == 0 and [a for _, a, _, _ in jobs(app)] == ["index", "opened"]  # the delivery is on its way
    service(app).drain()
    assert store(app).get("arrived-during-the-sweep")["outcome"] == "reviewed"
    assert [r.head_sha for r in gw.runs] == [gw.pull_request(number).head_sha]


def test_the_sweep_repairs_a_failed_review_and_a_moved_default_branch(world):
    app, gw, api, sweeper = world
    number = gw.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    gw.protected.add("main")  # the index goes to a pull request: main stays where it is
    sweeper.run()
    service(app).drain()
    assert sweeper.run().reviews == 1  # the rolling index pull request, as its webhook would
    service(app).drain()
    listed = gw.changed_files
    gw.changed_files = lambda n: (_ for _ in ()).throw(TransientError("GitHub answered 502", 502))
    service(app).max_attempts = 1
    gw.push(f"pr-{number}", {"case_studies/meta/good.md": GOOD.encode() + b"\nMore.\n"})
    deliver(app.test_client(), "pull_request", pr_event(gw, number, "synchronize"))
    service(app).drain()
    failed = gw.runs[-1]
    assert (failed.head_sha, failed.title) == (gw.pull_request(number).head_sha, m.REVIEW_FAILED_TITLE)
    report = sweeper.run()
    assert (report.reviews, report.indexes) == (1, 0)  # the failed one again; main did not move
    gw.changed_files = listed
    service(app).drain()
    assert (gw.runs[-1].head_sha, gw.runs[-1].title != m.REVIEW_FAILED_TITLE, gw.runs[-1].conclusion) == (failed.head_sha, True, "success")
    assert sweeper.run().queued == 0
    gw.protected.clear()
    gw.push("main", {"case_studies/meta/direct.md": GOOD.encode()})
    assert sweeper.run().indexes == 1


def test_the_sweep_asks_github_again_for_deliveries_that_failed_and_never_arrived(world):
    app, gw, api, sweeper = world
    lost = api.record("pull_request", "opened", status_code=502)
    api.record("pull_request", "synchronize", status_code=0, guid="arrived-later")
    api.record("pull_request", "synchronize", status_code=202, guid="arrived-later", redelivery=True)
    recorded = api.record("issue_comment", "created", status_code=0, guid="recorded")
    store(app).record("recorded", "issue_comment", "created", "octo/kb#1", "{}")
    api.record("meta", "deleted", status_code=502)  # the bot handles no such event
    assert sweeper.run().redelivered == 1
    assert api.redelivered == [lost.id]
    assert sweeper.run().redelivered == 0  # the redelivery arrived (the fake answers 202); nothing new
    assert recorded.id not in api.redelivered


def test_one_installation_rate_limited_leaves_the_others_to_the_sweep(world):
    app, gw, api, sweeper = world
    gw.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    api.installation_repos = {1: ["octo/kb"], 2: ["other/kb"], 3: ["third/kb"]}
    other = FakeGateway("other/kb")
    other.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    limited = FakeGateway("third/kb")
    limited.default_branch = lambda: (_ for _ in ()).throw(RateLimited("wait", time.time() + 60, 403))  # type: ignore[method-assign]
    sweeper.gateways = lambda installation, repo: {"octo/kb": gw, "other/kb": other, "third/kb": limited}[repo]
    report = sweeper.run()
    assert (report.reviews, report.repositories) == (2, 2)
    assert report.skipped == ["installation 3: wait"]


def test_a_repository_without_the_config_is_left_alone(make_app):
    app = make_app()
    bare = FakeGateway(files={"README.md": b"# nothing here\n"})
    bare.open_pull({"notes.md": b"x\n"})
    api = FakeAppApi()
    api.installation_repos = {1: ["octo/kb"]}
    report = Sweeper(store(app), lambda i, r: bare, api).run()
    assert (report.queued, report.repositories) == (0, 1)


# --- health, metrics, hostile JSON --------------------------------------------------------------


def test_healthz_says_503_when_the_queue_is_stalled(make_app, fake_gateway):
    app = make_app(stall_seconds=1.0)
    client = app.test_client()
    number = fake_gateway.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    deliver(client, "pull_request", pr_event(fake_gateway, number))
    assert client.get("/healthz").status_code == 200  # waiting, not stalled yet
    time.sleep(1.05)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "stalled" and response.json["reason"].startswith("stalled: a delivery has been ready for 1 s and no delivery was ever finished")
    service(app).drain()
    assert client.get("/healthz").json == {"status": "ok", "deliveries": {"done": 1}}


def test_json_nested_too_deep_is_a_400_not_a_500(client):
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"):
        response = deliver(client, "pull_request", body=body)
        assert (response.status_code, response.json) == (400, {"error": "body is not JSON"})


def test_metrics_count_what_the_webhook_and_the_workers_did(app, client, fake_gateway):
    number = fake_gateway.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    deliver(client, "pull_request", pr_event(fake_gateway, number), delivery="a")
    deliver(client, "pull_request", pr_event(fake_gateway, number), delivery="a")
    deliver(client, "pull_request", pr_event(fake_gateway, number, "labeled"), delivery="b")
    deliver(client, "pull_request", body=b"{")
    client.post("/webhook", data=b"{}", headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": "x"})
    before = metrics(app, client)
    assert before[("challenge_bot_queue_deliveries", (("status", "pending"),))] == 1
    assert before[("challenge_bot_store_up", ())] == 1
    service(app).drain()
    found = metrics(app, client)
    counted = {k: v for k, v in found.items() if k[0].endswith("_total")}
    assert counted == {
        ("challenge_bot_webhook_deliveries_total", (("event", "pull_request"), ("outcome", "queued"))): 1,
        ("challenge_bot_webhook_deliveries_total", (("event", "pull_request"), ("outcome", "duplicate"))): 1,
        ("challenge_bot_webhook_deliveries_total", (("event", "pull_request"), ("outcome", "ignored"))): 1,
        ("challenge_bot_webhook_deliveries_total", (("event", "pull_request"), ("outcome", "refused"))): 1,
        ("challenge_bot_webhook_deliveries_total", (("event", ""), ("outcome", "refused"))): 1,
        ("challenge_bot_deliveries_total", (("event", "pull_request"), ("outcome", "done"))): 1,
    }
    assert found[("challenge_bot_queue_deliveries", (("status", "pending"),))] == 0
    assert found[("challenge_bot_queue_oldest_ready_seconds", ())] == 0
    assert 0 <= found[("challenge_bot_queue_seconds_since_progress", ())] < 5


def test_one_process_of_those_sharing_the_store_sweeps_once_an_interval(make_app, fake_gateway):
    api = FakeAppApi()
    api.installation_repos = {1: [fake_gateway.repo]}
    first, second = service(make_app()), service(make_app())
    repaired: list[tuple[str, int]] = []
    for svc in (first, second):
        svc.sweeper = Sweeper(svc.store, lambda installation, repo: fake_gateway, api, count=lambda kind, n: repaired.append((kind, n)))
        svc.sweep_interval = 3600
    assert first.sweep_if_due() is True
    assert second.sweep_if_due() is False  # the lease is the first one's for the interval
    assert first.sweep_if_due() is False  # and the first is not due again yet
    assert first.metrics.sweeps.labels("done")._value.get() == 1
    assert repaired == [("review", 0), ("index", 1), ("redelivery", 0)]


def test_the_webhook_never_takes_the_sweeps_own_jobs(client, fake_gateway):
    from bot.service.handlers import sweep_job

    event, action, key, payload = sweep_job("review", 1, "octo/kb", "main", 1, "abc")
    assert (event, action, key) == ("sweep", "review", "octo/kb#1")
    assert deliver(client, event, payload | {"action": action}).json == {"status": "ignored"}


def test_a_sweep_that_cannot_reach_github_is_counted_and_what_it_can_do_it_does(world, caplog):
    from bot.core.github_data import NotFound

    app, gw, api, sweeper = world
    svc = service(app)
    svc.sweeper = sweeper
    api.hook_deliveries = lambda since: (_ for _ in ()).throw(TransientError("GitHub answered 502", 502))  # type: ignore[method-assign]
    gw.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    report = sweeper.run()
    assert report.skipped == ["webhook deliveries: GitHub answered 502"] and report.reviews == 1
    api.installation_repos = {1: ["octo/kb", "gone/kb"]}
    gone = FakeGateway("gone/kb")
    gone.default_branch = lambda: (_ for _ in ()).throw(NotFound("Not Found", 404))  # type: ignore[method-assign]
    sweeper.gateways = lambda installation, repo: gw if repo == "octo/kb" else gone
    assert sweeper.run().skipped == ["webhook deliveries: GitHub answered 502", "gone/kb: Not Found"]
    api.installations = lambda: (_ for _ in ()).throw(TransientError("down", 502))  # type: ignore[method-assign]
    with pytest.raises(TransientError):
        svc.sweep()
    assert svc.metrics.sweeps.labels("failed")._value.get() == 1
    gw.branches.pop("main")  # the default branch was renamed: looked up again next time
    api.installations = lambda: [1]  # type: ignore[method-assign]
    assert sweeper.run().repositories == 0 and "octo/kb" not in sweeper.repos


def test_a_broken_config_still_counts_as_adopted(make_app):
    app = make_app()
    broken = FakeGateway(files={".github/challenge-bot.yml": b"sections: [unclosed\n"})
    broken.open_pull({"notes.md": b"x\n"})
    api = FakeAppApi()
    api.installation_repos = {1: ["octo/kb"]}
    report = Sweeper(store(app), lambda i, r: broken, api).run()
    assert (report.reviews, report.indexes) == (1, 1)  # the review says what is wrong with the config


def test_maintenance_resumes_what_a_dead_process_left_and_survives_failures(make_app, fake_gateway, caplog):
    from bot.service import workers as workers_mod

    app = make_app()
    number = fake_gateway.open_pull({"case_studies/meta/good.md": GOOD.encode()})
    deliver(app.test_client(), "pull_request", pr_event(fake_gateway, number))
    dead = service(make_app()).store  # another run of this process (same host and pid): one that stopped
    assert dead.claim() is not None
    svc = service(app)
    svc.maintain()
    assert svc.store.counts() == {"pending": 1}
    assert [r.message for r in caplog.records if getattr(r, "outcome", None) == "resumed"] == [
        "resuming 1 deliveries left unfinished by a stopped process"]
    calls = []
    every, workers_mod.MAINTAIN_EVERY = workers_mod.MAINTAIN_EVERY, 0.01

    def flaky():
        calls.append(1)
        if len(calls) == 2:
            svc._stop.set()
        raise TransientError("GitHub answered 502", 502)

    try:
        svc._every(flaky, "test")
    finally:
        workers_mod.MAINTAIN_EVERY = every
        svc._stop.clear()
    assert len(calls) == 2
    assert [r.message for r in caplog.records if getattr(r, "outcome", None) == "test-failed"][0] == "test failed: GitHub answered 502"
