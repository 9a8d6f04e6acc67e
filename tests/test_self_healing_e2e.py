"""The self-healing App end to end, through real HTTP: the sweep, crashes at each write, GitHub failing,
rate limits, bursts, worker processes sharing a store, health and metrics.

The App runs as the tests deploy it (``make_bot``: PyGithub against ``fake_github`` over loopback), and
``challenge-bot worker`` processes where a process has to die. Assertions are on the fake's state.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bot.core import messages as m
from bot.github import pygithub
from conftest import REPO, WEBHOOK_SECRET
from fake_github import FakeGitHub
from fakes import base_files
from helpers import GOOD
from test_handlers import BROKEN

REPO_NAME = "octo/kb"


@pytest.fixture
def kb(fake_github):
    fake_github.create_repo(REPO_NAME, files=base_files())
    return fake_github


@pytest.fixture
def quick_retries(monkeypatch):
    """GitHub's client retries a 5xx once, at once (the default backs off for seconds)."""
    real = pygithub.retry_policy
    monkeypatch.setattr(pygithub, "retry_policy", lambda *a, **k: real(total=1, backoff=0.0))


def open_pr(fake, files, branch: str = "contrib", repo: str = REPO_NAME) -> int:
    fake.create_branch(repo, branch)
    fake.commit(repo, branch, files, author="contributor")
    return fake.open_pull_request(repo, branch, author="contributor")


def ours(fake, head: str, repo: str = REPO_NAME) -> list:
    return [r for r in fake.check_runs(repo) if r.head_sha == head and r.name == m.CHECK_NAME]


def summaries(fake, number: int, repo: str = REPO_NAME) -> list:
    return [c for c in fake.issue_comments(repo, number) if c.body.startswith(m.SUMMARY_MARKER)]


def until(condition, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    text = requests.get(url + "/metrics", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}


# --- the sweep -----------------------------------------------------------------------------------


def test_a_pull_request_opened_while_no_webhook_reached_the_app_is_reviewed_after_one_sweep(kb, bot):
    kb.hooks.configure(bot.url + "/webhook", WEBHOOK_SECRET)
    number = open_pr(kb, {"case_studies/meta/good.md": GOOD})
    lost = kb.hooks.send(kb.payloads.pull_request_event(REPO_NAME, number, "opened"), fail=502)  # the App was down
    bot.service.sweep()
    kb.hooks.wait()
    bot.settle()
    head = kb.branch_sha(REPO_NAME, "contrib")
    assert [(r.conclusion, r.status) for r in ours(kb, head)] == [("success", "completed")]
    assert len(summaries(kb, number)) == 1
    assert [d.redelivery for d in kb.hooks.newest_first() if d.guid == lost.guid] == [True, False]
    assert bot.store.get(lost.guid)["status"] == "done"  # the redelivery reached the App

    bot.service.sweep()  # the index job committed the index: main moved, so one more index job (finding it unchanged)
    bot.settle()
    before = bot.store.counts()
    kb.reset_counts()
    bot.service.sweep()  # nothing changed: the repository costs two requests (plus one per pull request not yet seen done)
    per_repo = [r for r in kb.requests if r.path.startswith(f"/repos/{REPO_NAME}")]
    assert len(per_repo) <= 2 + 1, [(r.operation_id, r.status) for r in per_repo]
    assert [r.status for r in per_repo if r.operation_id == "pulls/list"] == [304]
    assert bot.store.counts() == before  # nothing queued


def test_github_failing_to_the_end_leaves_a_failed_check_and_the_sweep_repairs_it(kb, make_bot, quick_retries):
    bot = make_bot(max_attempts=2)
    bot.service.backoff = 0.05
    number = open_pr(kb, {"case_studies/meta/good.md": GOOD})
    head = kb.branch_sha(REPO_NAME, "contrib")
    kb.inject("pulls/list-files", status=502, times=10**6)  # GitHub keeps failing to list the files
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    (failed,) = ours(kb, head)
    assert (failed.conclusion, failed.output.title) == ("failure", m.REVIEW_FAILED_TITLE)
    assert "/challenge-bot recheck" in failed.output.summary

    kb.outage(502)  # now nothing gets through: not even the failure can be written
    second = open_pr(kb, {"case_studies/meta/other.md": GOOD}, branch="second")
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, second, "opened"))
    bot.settle()
    second_head = kb.branch_sha(REPO_NAME, "second")
    assert ours(kb, second_head) == []

    kb.outage(None)  # GitHub is back
    bot.service.sweep()
    bot.settle()
    assert [(r.conclusion, r.output.title == m.REVIEW_FAILED_TITLE) for r in ours(kb, head)][-1] == ("success", False)
    assert [r.conclusion for r in ours(kb, second_head)] == ["success"]
    assert len(summaries(kb, number)) == len(summaries(kb, second)) == 1


def test_a_rate_limited_installation_waits_and_the_others_keep_going(kb, bot):
    kb.create_repo("other/kb", files=base_files())
    kb.add_installation(2, ["other/kb"])
    limited = open_pr(kb, {"case_studies/meta/good.md": GOOD})
    free = open_pr(kb, {"case_studies/meta/good.md": GOOD}, repo="other/kb")
    reset = kb.exhaust_rate_limit(kb.installation_id, reset_in=3600)
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, limited, "opened"), "limited")
    name, payload = kb.payloads.pull_request_event("other/kb", free, "opened")
    payload["installation"]["id"] = 2
    bot.deliver((name, payload), "free")
    until(lambda: (bot.store.get("free") or {}).get("status") == "done" and bot.store.get("limited")["attempts"] == 0
          and bot.store.get("limited")["last_error"], what="the free delivery done and the limited one postponed")
    row = bot.store.get("limited")
    assert (row["status"], row["attempts"]) == ("pending", 0)
    assert reset <= row["not_before"] <= reset + 2
    assert [r.conclusion for r in ours(kb, kb.branch_sha("other/kb", "contrib"), "other/kb")] == ["success"]
    assert scrape(bot.url)[("challenge_bot_github_rate_limit_remaining", (("credential", f"installation:{kb.installation_id}"),))] == 0


# --- bursts --------------------------------------------------------------------------------------


def test_ten_synchronize_deliveries_give_one_review_of_the_newest_head(kb, make_bot):
    bot = make_bot(coalesce_seconds=1.0)
    number = open_pr(kb, {"case_studies/meta/broken.md": BROKEN})
    for i in range(10):
        kb.commit(REPO_NAME, "contrib", {"case_studies/meta/broken.md": BROKEN + f"\nPush {i}.\n"}, author="contributor")
        assert bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "synchronize")).json() == {"status": "queued"}
    bot.settle()
    newest = kb.branch_sha(REPO_NAME, "contrib")
    assert [r.head_sha for r in kb.check_runs(REPO_NAME)] == [newest]
    assert [r.commit_id for r in kb.reviews(REPO_NAME, number)] == [newest]
    assert len(summaries(kb, number)) == 1
    counted = scrape(bot.url)
    assert counted[("challenge_bot_deliveries_total", (("event", "pull_request"), ("outcome", "superseded")))] == 9
    assert counted[("challenge_bot_deliveries_total", (("event", "pull_request"), ("outcome", "done")))] == 1


# --- health and metrics --------------------------------------------------------------------------


def test_healthz_is_503_when_the_queue_stalls_or_the_store_is_unreachable(kb, make_bot, tmp_path):
    bot = make_bot(workers=0, stall_seconds=1.0)  # nobody works on the deliveries
    number = open_pr(kb, {"case_studies/meta/good.md": GOOD})
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    assert requests.get(bot.url + "/healthz", timeout=10).status_code == 200
    time.sleep(1.05)
    stalled = requests.get(bot.url + "/healthz", timeout=10)
    assert stalled.status_code == 503 and stalled.json()["status"] == "stalled"
    assert requests.get(bot.url + "/healthz?only=store", timeout=10).status_code == 200  # the load balancer's view
    bot.service.drain()
    assert requests.get(bot.url + "/healthz", timeout=10).json() == {"status": "ok", "deliveries": {"done": 1}}

    db = tmp_path / "deliveries.sqlite3"
    db.rename(tmp_path / "moved.sqlite3")
    db.mkdir()  # what was the database is no longer one: each request opens it anew and fails
    try:
        down = requests.get(bot.url + "/healthz", timeout=10)
        assert (down.status_code, down.json()["status"]) == (503, "unavailable")
        assert down.headers["Retry-After"] == "30"
        assert scrape(bot.url)[("challenge_bot_store_up", ())] == 0
    finally:
        db.rmdir()
        (tmp_path / "moved.sqlite3").rename(db)


def test_metrics_count_exactly_what_happened(kb, bot):
    number = open_pr(kb, {"case_studies/meta/broken.md": BROKEN})
    event = kb.payloads.pull_request_event(REPO_NAME, number, "opened")
    kb.inject("issues/create-comment", status=502)  # a write is not retried by the client: the delivery is
    bot.service.backoff = 0.05
    bot.deliver(event, "first")
    bot.deliver(event, "first")  # a redelivery
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "edited", {"title": {"from": "x"}}), "ignored")
    bot.settle()
    counted = scrape(bot.url)
    assert {k: v for k, v in counted.items() if k[0] in ("challenge_bot_webhook_deliveries_total", "challenge_bot_deliveries_total")} == {
        ("challenge_bot_webhook_deliveries_total", (("event", "pull_request"), ("outcome", "queued"))): 1,
        ("challenge_bot_webhook_deliveries_total", (("event", "pull_request"), ("outcome", "duplicate"))): 1,
        ("challenge_bot_webhook_deliveries_total", (("event", "pull_request"), ("outcome", "ignored"))): 1,
        ("challenge_bot_deliveries_total", (("event", "pull_request"), ("outcome", "retry"))): 1,
        ("challenge_bot_deliveries_total", (("event", "pull_request"), ("outcome", "done"))): 1,
    }
    answered = {k[1][0][1]: v for k, v in counted.items() if k[0] == "challenge_bot_github_requests_total"}
    # Every answer the App's clients got (after the client's own retries of reads), by status; PyGithub
    # fetches installation tokens through a client of its own, which GitHub's rate-limit gates do not see.
    sent = [r for r in kb.requests if r.operation_id != "apps/create-installation-access-token"]
    assert answered == dict(Counter(str(r.status) for r in sent))
    assert answered["502"] == 1
    assert counted[("challenge_bot_queue_deliveries", (("status", "pending"),))] == 0
    remaining = counted[("challenge_bot_github_rate_limit_remaining", (("credential", f"installation:{kb.installation_id}"),))]
    assert remaining == 5000 - len(kb.requests) or remaining > 0


# --- processes that die, processes that share a store ----------------------------------------------


def worker_env(fake: FakeGitHub, db: Path, **extra: str) -> dict[str, str]:
    return os.environ | {
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "GITHUB_APP_ID": str(fake.app_id),
        "GITHUB_PRIVATE_KEY": fake.private_key_pem,
        "GITHUB_API_URL": fake.base_url,
        "CHALLENGE_BOT_DB": str(db),
        "CHALLENGE_BOT_WRITE_INTERVAL": "0",
        "CHALLENGE_BOT_COALESCE_SECONDS": "0",
        "CHALLENGE_BOT_SWEEP_INTERVAL": "0",
    } | extra


def start_worker(fake: FakeGitHub, db: Path, log: Path, threads: int = 1, **extra: str) -> subprocess.Popen:
    with open(log, "ab") as err:
        return subprocess.Popen([sys.executable, "-m", "bot", "worker", "--threads", str(threads), "--nice", "0"], cwd=REPO,
                                env=worker_env(fake, db, **extra), stdout=subprocess.DEVNULL, stderr=err)


class HeldWrite:
    """Hold GitHub's answer to the first request matching ``method`` and ``path`` (the write is applied)
    until released: the worker that sent it can be killed while it waits for the answer."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, method: str, path: str) -> None:
        self.method, self.path = method, re.compile(path)
        self.arrived, self.release = threading.Event(), threading.Event()
        real = FakeGitHub.__call__

        def call(fake, environ, start_response):
            answer = real(fake, environ, start_response)
            if not self.arrived.is_set() and environ["REQUEST_METHOD"] == self.method and self.path.search(environ["PATH_INFO"]):
                self.arrived.set()
                self.release.wait(60)
            return answer

        monkeypatch.setattr(FakeGitHub, "__call__", call)


def kill_at_held_write_then_restart(fake: FakeGitHub, bot, held: HeldWrite, tmp_path: Path) -> None:
    """A worker process takes "the-delivery" and is killed with -9 while GitHub's answer to the held write
    is pending (the write itself is applied); a second worker then finishes the delivery."""
    db, log = tmp_path / "deliveries.sqlite3", tmp_path / "workers.log"
    first = start_worker(fake, db, log)
    try:
        assert held.arrived.wait(60), log.read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        held.release.set()
    second = start_worker(fake, db, log)
    try:
        until(lambda: (bot.store.get("the-delivery") or {}).get("status") == "done", 60, "the restarted worker")
    finally:
        second.terminate()
        second.wait(20)


WRITES = [
    ("POST", r"/check-runs$"),
    ("POST", r"/issues/\d+/comments$"),
    ("POST", r"/pulls/\d+/reviews$"),
    ("POST", r"/labels$"),
    ("POST", r"/issues/\d+/labels$"),
]


@pytest.mark.parametrize(("method", "path"), WRITES, ids=[p.strip("/$").replace("\\d+", "N") for _, p in WRITES])
def test_a_worker_killed_at_a_write_leaves_one_check_run_one_comment_one_review(kb, make_bot, tmp_path, monkeypatch, method, path):
    held = HeldWrite(monkeypatch, method, path)
    bot = make_bot(workers=0)  # only records; the worker processes do the work
    number = open_pr(kb, {"case_studies/meta/broken.md": BROKEN})
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"), "the-delivery")
    kill_at_held_write_then_restart(kb, bot, held, tmp_path)
    head = kb.branch_sha(REPO_NAME, "contrib")
    assert [(r.conclusion, r.status) for r in ours(kb, head)] == [("failure", "completed")]
    assert len(summaries(kb, number)) == 1
    assert len(kb.reviews(REPO_NAME, number)) == 1
    assert kb.pr_labels(REPO_NAME, number) == ["model: OPT-175B"]
    assert bot.store.get("the-delivery")["attempts"] == 2


def test_a_worker_killed_between_annotation_batches_leaves_one_complete_check_run(kb, make_bot, tmp_path, monkeypatch):
    held = HeldWrite(monkeypatch, "PATCH", r"/check-runs/\d+$")
    bot = make_bot(workers=0)
    many = GOOD + "".join(f"\n## Extra section {i}\n\nText.\n" for i in range(61))
    number = open_pr(kb, {"case_studies/meta/many.md": many})
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"), "the-delivery")
    kill_at_held_write_then_restart(kb, bot, held, tmp_path)
    (run,) = ours(kb, kb.branch_sha(REPO_NAME, "contrib"))
    assert (run.status, run.conclusion, len(run.annotations)) == ("completed", "failure", 61)
    assert len(summaries(kb, number)) == 1
    assert kb.reviews(REPO_NAME, number) == []  # no finding here has a one-click fix, so no review


def _intervals(log: Path) -> dict[str, list[tuple[float, float, int]]]:
    """Per key, when each delivery was worked on (from the workers' debug lines: "working" once claimed,
    "finishing" before the write that frees the key), with the process."""
    started: dict[tuple[int, str], float] = {}
    spans: dict[str, list[tuple[float, float, int]]] = {}
    for line in log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if "key" not in entry or "pid" not in entry:
            continue
        moment = time.mktime(time.strptime(entry["ts"][:19], "%Y-%m-%dT%H:%M:%S")) + int(entry["ts"][20:23]) / 1000
        if entry["msg"] == "working":
            started[(entry["pid"], entry["delivery"])] = moment
        elif entry["msg"] == "finishing" and (entry["pid"], entry["delivery"]) in started:  # logged before the key is freed
            spans.setdefault(entry["key"], []).append((started.pop((entry["pid"], entry["delivery"])), moment, entry["pid"]))
    return spans


def test_two_worker_processes_and_the_sweep_never_run_one_key_twice(kb, make_bot, tmp_path):
    bot = make_bot(workers=0)
    kb.hooks.configure(bot.url + "/webhook", WEBHOOK_SECRET)
    numbers = [open_pr(kb, {f"case_studies/meta/case-{i}.md": GOOD.replace("A good case study", f"Case {i}")}, branch=f"pr-{i}") for i in range(6)]
    db, log = tmp_path / "deliveries.sqlite3", tmp_path / "workers.log"
    workers = [start_worker(kb, db, log, threads=3, CHALLENGE_BOT_LOG_LEVEL="DEBUG", CHALLENGE_BOT_SWEEP_INTERVAL="1") for _ in range(2)]
    try:
        for round_ in range(3):
            for i, number in enumerate(numbers):
                kb.commit(REPO_NAME, f"pr-{i}", {f"case_studies/meta/case-{i}.md": GOOD.replace("A good case study", f"Case {i} {round_}")}, author="contributor")
                event = kb.payloads.pull_request_event(REPO_NAME, number, "synchronize")
                kb.hooks.send(event, fail=502 if i % 3 == 0 else None)  # some never reach the App: the sweep finds them
        heads = {n: kb.branch_sha(REPO_NAME, f"pr-{i}") for i, n in enumerate(numbers)}

        def converged() -> bool:
            counts = bot.store.counts()
            return not counts.get("pending") and not counts.get("working") and all(
                [r.conclusion for r in ours(kb, head)] == ["success"] for head in heads.values())

        until(converged, 90, "every pull request reviewed at its head")
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(20)
    for number in numbers:
        assert len(summaries(kb, number)) == 1
        assert len([r for r in kb.check_runs(REPO_NAME) if r.head_sha == heads[number]]) == 1
    spans = _intervals(log)
    assert sum(len(s) for s in spans.values()) >= len(numbers)
    for key, worked in spans.items():
        worked.sort()
        for (_, end, _), (start, _, _) in zip(worked, worked[1:]):
            assert start >= end, f"{key} was worked on twice at once: {worked}"
    swept = [json.loads(line) for line in log.read_text().splitlines() if '"outcome": "swept"' in line]
    assert swept, "the sweep ran"


def test_metrics_under_gunicorn_are_the_sum_of_its_processes(kb, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = worker_env(kb, tmp_path / "deliveries.sqlite3", CHALLENGE_BOT_WORKERS="0", PROMETHEUS_MULTIPROC_DIR=str(folder))
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4", "--worker-class", "gthread",
                               "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "bot.service.app:create_app()"],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                return requests.get(url + "/healthz", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        until(up, 60, "gunicorn")
        from conftest import deliver

        class Client:
            def post(self, path, data, headers):
                return requests.post(url + path, data=data, headers=headers, timeout=10)

        number = open_pr(kb, {"case_studies/meta/good.md": GOOD})
        _, payload = kb.payloads.pull_request_event(REPO_NAME, number, "edited", {"title": {"from": "x"}})
        for i in range(12):
            assert deliver(Client(), "pull_request", payload, delivery=f"d-{i}").json() == {"status": "ignored"}
        for _ in range(8):  # scrapes land on either process: each answers for both
            answer = requests.get(url + "/metrics", timeout=10)
            counted = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(answer.text) for s in f.samples}
            assert counted[("challenge_bot_webhook_deliveries_total", (("event", "pull_request"), ("outcome", "ignored")))] == 12
        assert list(folder.glob("counter_*.db"))  # each process that counted keeps its own file there
    finally:
        server.terminate()
        server.wait(20)
