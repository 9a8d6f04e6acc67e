"""Benchmark: the App converges under chaos.

The App runs under gunicorn with two worker processes (each with worker threads), on one SQLite store,
against the test suite's fake GitHub, whose App webhook points at it. Over ``--minutes`` the bench opens
``--pulls`` pull requests and pushes to each (one to three pushes), sending GitHub's webhooks for each,
while

* the fake silently drops ``--drop`` of the webhooks (never sent; GitHub's delivery log shows them failed),
* the fake answers ``--errors`` of the API requests with 502 (before doing anything),
* the bench kills (SIGKILL) a gunicorn worker process every ``--kill-every`` seconds; gunicorn starts a new one.

Then the load stops, and the bench waits for every pull request to converge: its head has the right
``challenge-bot`` check run (success for a valid case study, failure for a broken one), exactly one summary
comment, and the model's label. The sweep runs every ``--sweep`` seconds (``CHALLENGE_BOT_SWEEP_INTERVAL``).

The fake checks no exchange against GitHub's OpenAPI description unless ``--validate``: on a 2-core
machine that checking, not the App, would set the pace (the test suite checks every exchange).

Printed: how many deliveries were waiting when the load stopped, pull requests converged (goal: 100 % within one sweep after the load stops), duplicate summary
comments and duplicate check runs on one head (goal: 0), GitHub API calls per pull request, and the time
from the last push to the last pull request converging.

Usage: python bench/chaos.py [--pulls 500] [--minutes 3] [--sweep 60]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "bench")]

import requests  # noqa: E402
from flask import Response  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from bot.core import config as config_mod  # noqa: E402
from bot.core import messages as m  # noqa: E402
from bot.core.review import plan_labels  # noqa: E402
from fake_github import FakeGitHub  # noqa: E402
from fake_github import server as fake_server  # noqa: E402
from fakes import base_files  # noqa: E402
from webhook import free_port, wait_for_gunicorn  # noqa: E402

SECRET = "chaos-secret"
CASE = (REPO / "tests" / "helpers.py").read_text().split('GOOD = """', 1)[1].split('"""', 1)[0]
BROKEN = CASE.replace("## Learnings\n\nKeep checkpoints close together.\n", "")  # a required section missing
FOLDERS = ("meta", "huggingface", "bloomberg")


class Flaky:
    """Wraps the fake's WSGI entry: a share of API requests is answered 502 before the fake sees them."""

    def __init__(self, share: float, seed: int = 11) -> None:
        self.share, self.rng, self.lock, self.injected = share, random.Random(seed), threading.Lock(), 0
        self.real = FakeGitHub.__call__

    def install(self) -> None:
        flaky = self

        def call(fake: FakeGitHub, environ: dict, start_response):  # type: ignore[no-untyped-def]
            with flaky.lock:
                fail = flaky.rng.random() < flaky.share
                flaky.injected += fail
            if fail:
                body = b'{"message": "Server Error", "documentation_url": "https://docs.github.com/rest"}'
                return Response(body, 502, content_type="application/json")(environ, start_response)
            return flaky.real(fake, environ, start_response)

        FakeGitHub.__call__ = call  # type: ignore[method-assign]


class PullRequest:
    def __init__(self, number: int, branch: str, path: str) -> None:
        self.number, self.branch, self.path = number, branch, path
        self.broken = False
        self.heads: set[str] = set()


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def load(fake: FakeGitHub, repo: str, pulls: int, seconds: float, drop: float, rng: random.Random) -> tuple[list[PullRequest], dict[str, int]]:
    """Open ``pulls`` pull requests and push to them, spread over ``seconds``, sending each event's webhook."""
    events: list[tuple[float, int, str]] = []  # (when, pull request index, what)
    for i in range(pulls):
        opened = rng.uniform(0, seconds * 0.6)
        events.append((opened, i, "open"))
        for push in range(rng.randint(1, 3)):
            events.append((rng.uniform(opened + 0.5, seconds), i, "push"))
    events.sort()
    prs: dict[int, PullRequest] = {}
    sent = Counter()
    started = time.monotonic()
    for when, i, what in events:
        time.sleep(max(0.0, started + when - time.monotonic()))
        if what == "open":
            branch, path = f"pr-{i}", f"case_studies/{FOLDERS[i % 3]}/case-{i}.md"
            fake.create_branch(repo, branch)
            fake.commit(repo, branch, {path: CASE.replace("A good case study", f"Case {i}")}, author="contributor")
            pr = prs[i] = PullRequest(fake.open_pull_request(repo, branch, title=f"Case {i}"), branch, path)
            pr.heads.add(fake.branch_sha(repo, branch))
            event = fake.payloads.pull_request_event(repo, pr.number, "opened")
        else:
            pr = prs[i]
            pr.broken = rng.random() < 0.3
            text = (BROKEN if pr.broken else CASE).replace("A good case study", f"Case {i}") + f"\nPush at {when:.1f} s.\n"
            fake.commit(repo, pr.branch, {pr.path: text}, author="contributor")
            pr.heads.add(fake.branch_sha(repo, pr.branch))
            event = fake.payloads.pull_request_event(repo, pr.number, "synchronize")
        dropped = rng.random() < drop
        fake.hooks.send(event, fail=0 if dropped else None)  # 0: GitHub's log says "timed out"
        sent["dropped" if dropped else "sent"] += 1
    return [prs[i] for i in sorted(prs)], dict(sent)


def verdicts(fake: FakeGitHub, repo: str, prs: list[PullRequest], cfg: config_mod.Config) -> list[tuple[bool, int, int]]:
    runs: dict[str, list] = {}
    for run in fake.check_runs(repo):
        if run.name == m.CHECK_NAME:
            runs.setdefault(run.head_sha, []).append(run)
    return [verdict(fake, repo, pr, cfg, runs) for pr in prs]


def verdict(fake: FakeGitHub, repo: str, pr: PullRequest, cfg: config_mod.Config, runs: dict[str, list]) -> tuple[bool, int, int]:
    """(converged, duplicate summary comments, duplicate check runs on one head) for one pull request."""
    head = fake.branch_sha(repo, pr.branch)
    on_head = runs.get(head, [])
    summaries = [c for c in fake.issue_comments(repo, pr.number) if c.body.startswith(m.SUMMARY_MARKER)]
    newest = max(on_head, key=lambda r: r.id, default=None)
    right_run = newest is not None and newest.status == "completed" and newest.conclusion == ("failure" if pr.broken else "success") \
        and newest.output.title != m.REVIEW_FAILED_TITLE
    labels = {spec.name for spec in plan_labels([pr.path], (), cfg).add}
    converged = right_run and len(summaries) == 1 and labels <= set(fake.pr_labels(repo, pr.number))
    return converged, max(len(summaries) - 1, 0), sum(len(runs[h]) - 1 for h in pr.heads if len(runs.get(h, [])) > 1)


def waiting(db: Path) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute("SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'working')").fetchone()[0]


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pulls", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=3.0, help="how long the pull requests are opened and pushed to")
    parser.add_argument("--drop", type=float, default=0.10, help="share of webhooks the fake never sends")
    parser.add_argument("--errors", type=float, default=0.05, help="share of API requests answered 502")
    parser.add_argument("--kill-every", type=float, default=20.0, help="seconds between SIGKILLs of a gunicorn worker")
    parser.add_argument("--sweep", type=float, default=60.0, help="CHALLENGE_BOT_SWEEP_INTERVAL for the run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--budget", type=int, default=15_000,
                        help="requests an hour the fake grants the installation (GitHub: 5,000 to 15,000); past it, deliveries wait for the reset")
    parser.add_argument("--validate", action="store_true", help="check every exchange against GitHub's OpenAPI description (slow)")
    args = parser.parse_args()
    rng, repo = random.Random(args.seed), "chaos/kb"
    cfg = config_mod.parse((REPO / ".github/challenge-bot.yml").read_bytes(), ".github/challenge-bot.yml")
    flaky = Flaky(args.errors, args.seed)
    fake_server.RATE_LIMIT = args.budget
    with FakeGitHub() as fake, tempfile.TemporaryDirectory() as tmp:
        if not args.validate:
            fake.validator.check_request = lambda *a: []  # type: ignore[method-assign]
            fake.validator.check_response = lambda *a: []  # type: ignore[method-assign]
        fake.create_repo(repo, files=base_files())
        db = Path(tmp, "deliveries.sqlite3")
        port = free_port()
        fake.hooks.configure(f"http://127.0.0.1:{port}/webhook", SECRET)
        metrics_dir = Path(tmp, "metrics")
        metrics_dir.mkdir()
        env = os.environ | {
            "GITHUB_WEBHOOK_SECRET": SECRET, "GITHUB_APP_ID": str(fake.app_id), "GITHUB_PRIVATE_KEY": fake.private_key_pem,
            "GITHUB_API_URL": fake.base_url, "CHALLENGE_BOT_DB": str(db),
            "CHALLENGE_BOT_WRITE_INTERVAL": "0", "CHALLENGE_BOT_WORKERS": "3", "CHALLENGE_BOT_SWEEP_INTERVAL": str(args.sweep),
            "CHALLENGE_BOT_LEASE_SECONDS": "20", "CHALLENGE_BOT_MAX_ATTEMPTS": "5", "CHALLENGE_BOT_LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
        log = open(Path(tmp, "bot.log"), "wb")  # noqa: SIM115 - a file: a full pipe would stall the bot
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "8", "--worker-class", "gthread",
             "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "bot.service.app:create_app()"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log)
        kills, stop = [0], threading.Event()

        def killer() -> None:
            while not stop.wait(args.kill_every):
                workers = children(gunicorn.pid)
                if workers:
                    os.kill(rng.choice(workers), signal.SIGKILL)
                    kills[0] += 1

        try:
            wait_for_gunicorn(port, gunicorn)
            flaky.install()
            fake.reset_counts()
            threading.Thread(target=killer, daemon=True).start()
            started = time.monotonic()
            prs, sent = load(fake, repo, args.pulls, args.minutes * 60, args.drop, rng)
            last_push = time.monotonic()
            stop.set()
            backlog = waiting(db)
            print(f"{len(prs)} pull requests, {sent.get('sent', 0) + sent.get('dropped', 0)} webhooks over {last_push - started:.0f} s "
                  f"({sent.get('dropped', 0)} dropped), {args.errors:.0%} of API requests answered 502, "
                  f"{kills[0]} gunicorn workers killed (one every {args.kill_every:g} s); sweep every {args.sweep:g} s; "
                  f"a budget of {args.budget} requests an hour", flush=True)
            print(f"  when the load stopped: {backlog} deliveries waiting or being worked on", flush=True)
            deadline = last_push + 2 * args.sweep + 120
            converged_at = drained_at = None
            while time.monotonic() < deadline:
                if drained_at is None and not waiting(db):
                    drained_at = time.monotonic()
                done = sum(v[0] for v in verdicts(fake, repo, prs, cfg))
                if done == len(prs):
                    converged_at = time.monotonic()
                    break
                time.sleep(2)
            fake.hooks.wait()
            results = verdicts(fake, repo, prs, cfg)
            counted = scrape(port)
        finally:
            stop.set()
            gunicorn.terminate()
            gunicorn.wait(30)
            log.close()
            FakeGitHub.__call__ = flaky.real  # type: ignore[method-assign]
        converged = sum(r[0] for r in results)
        calls = len(fake.requests)
        print(f"  converged: {converged} of {len(prs)} pull requests ({converged / len(prs):.1%}) "
              f"{'within one sweep after the load stopped' if converged_at and converged_at - last_push <= args.sweep else 'after more than one sweep' if converged_at else 'NOT ALL within ' + str(int(deadline - last_push)) + ' s'}"
              f"   (goal: 100 % within one sweep)")
        print(f"  duplicate summary comments: {sum(r[1] for r in results)}; duplicate check runs on one head: {sum(r[2] for r in results)}   (goal: 0, 0)")
        print(f"  GitHub API calls: {calls} in all, {calls / len(prs):.1f} per pull request ({flaky.injected} answered 502 by the bench)")
        if converged_at:
            print(f"  last push to last pull request converged: {converged_at - last_push:.1f} s"
                  + (f" (the queue had drained {drained_at - last_push:.1f} s after the last push)" if drained_at else ""))
        outcomes: Counter = Counter()
        for (name, labels), value in counted.items():
            if name == "challenge_bot_deliveries_total":
                outcomes[dict(labels)["outcome"]] += int(value)
        per_kind = {k[1][0][1]: int(v) for k, v in counted.items() if k[0] == "challenge_bot_sweep_repairs_total"}
        sweeps = {k[1][0][1]: int(v) for k, v in counted.items() if k[0] == "challenge_bot_sweeps_total"}
        print(f"  /metrics (all gunicorn processes, the killed ones too): deliveries {dict(sorted(outcomes.items()))}; "
              f"sweeps {sweeps}, which queued or asked for {per_kind}")
        violations = fake.unexpected_violations()
        if violations:
            print(f"  spec violations: {len(violations)}: {violations[:3]}")


if __name__ == "__main__":
    main()
