"""Benchmark: webhook acknowledgement latency under gunicorn, and exactly-once processing.

The App runs under gunicorn (one gthread process with 2 threads: one process per
CPU, ``--web-workers`` and ``--web-threads`` to try others) on loopback, on one CPU of its
own; a ``challenge-bot worker`` process, talking to the test suite's fake GitHub,
runs on the other with the fake and the sender (off the webhook's core: on this
2-core machine nothing else is left for it). The sender (one process, asyncio)
sends 2,000 signed deliveries: pull_request synchronize events over 40 pull
requests, one in ten of them a redelivery of an earlier delivery id. The
reconciliation sweep runs as in production (once as the worker starts). One run
measures every peer the goal names, side by side:

  * closed loop: 50 deliveries in flight all the time (latency bound by throughput);
  * open loop:   500 deliveries a second on a fixed schedule (at most 50 in flight);

each on SQLite and, when a PostgreSQL server can be started (``.ci/postgres.sh``),
on PostgreSQL; and, as the floor, each load answered by a bare WSGI app under the same
gunicorn on the same CPU (``bench/bare_wsgi.py``: what the server and the sender cost
without the bot). For each it prints p50/p99/max acknowledgement latency, p99 as a
share of the 50 ms goal, non-2xx answers, and whether every delivery was processed
exactly once: recorded once, finished ``done`` (reviewed, or superseded by a later
delivery of the same pull request), each pull request's last delivery reviewed by
itself (not superseded by a job the sweep queued meanwhile), and every pull request
left with exactly one check run of the bot on its head and one summary comment.

``--errors`` and ``--lost`` make the fake GitHub misbehave (a share of API requests
answered 502 before doing anything; a share applied, then the connection dropped
without an answer). The bot's log of a run that was not exactly once is kept
under ``bench/.cache/webhook-logs/``.

Usage: python bench/webhook.py [--deliveries 2000] [--concurrency 50] [--rate R] [--store sqlite|postgres|both]
       python bench/webhook.py --errors 0.05 --lost 0.02 --runs 5 --store sqlite --rate 500
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from bot.core import messages as m  # noqa: E402
from bot.service.store import open_store  # noqa: E402
from fake_github import FakeGitHub  # noqa: E402
from fake_github.faults import Fault, Faults  # noqa: E402
from fakes import base_files  # noqa: E402
from pgcluster import Cluster, unavailable_reason  # noqa: E402

SECRET = "bench-secret"
CASE = (REPO / "tests" / "helpers.py").read_text().split('GOOD = """', 1)[1].split('"""', 1)[0]

# The sender: one process, one asyncio loop, a connection per delivery in flight (HTTP/1.1 keep-alive). Not
# threads: 50 Python threads waiting for the GIL would add their own waits to every acknowledgement measured.
CLIENT = r"""
import asyncio, json, sys, time
host, port, path, concurrency, part, parts, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
jobs = []
for index, line in enumerate(open(path)):
    if index % parts == part:
        job = json.loads(line)
        body = job["body"].encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in job["headers"].items())
        raw = (f"POST /webhook HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n{head}\r\n").encode() + body
        jobs.append((index, raw, job["headers"]["X-GitHub-Delivery"]))
results = []
async def worker(queue, begin):
    reader, writer = await asyncio.open_connection(host, port)
    while queue:
        index, raw, delivery = queue.pop()
        start = time.perf_counter()
        if rate:
            start = begin + index / rate
            delay = start - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        try:
            writer.write(raw)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            data = await reader.readexactly(length)
            status, answer = int(status_line.split()[1]), json.loads(data or b"{}").get("status")
        except Exception as exc:
            status, answer = 0, repr(exc)
            reader, writer = await asyncio.open_connection(host, port)
        results.append((time.perf_counter() - start, status, answer, delivery))
async def main():
    queue = list(reversed(jobs))
    begin = time.perf_counter() + 0.2
    await asyncio.gather(*(worker(queue, begin) for _ in range(concurrency)))
asyncio.run(main())
json.dump(results, sys.stdout)
"""


def _split_cpus() -> tuple[set[int], set[int]]:
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return set(), set()
    half = len(cpus) // 2
    return set(cpus[:half]), set(cpus[half:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(fake: FakeGitHub, repo: str, pulls: int) -> list[int]:
    fake.create_repo(repo, files=base_files())
    numbers = []
    for i in range(pulls):
        branch = f"pr-{i}"
        fake.create_branch(repo, branch)
        fake.commit(repo, branch, {f"case_studies/meta/case-{i}.md": CASE.replace("A good case study", f"Case {i}")}, author="contributor")
        numbers.append(fake.open_pull_request(repo, branch))
    return numbers


def deliveries(fake: FakeGitHub, repo: str, numbers: list[int], count: int, seed_value: int = 7) -> tuple[list[dict], int]:
    rng = random.Random(seed_value)
    events = {n: fake.payloads.pull_request_event(repo, n, "synchronize") for n in numbers}
    out: list[dict] = []
    unique = 0
    for i in range(count):
        if out and rng.random() < 0.1:
            out.append(dict(rng.choice(out)))  # a redelivery: same body, same delivery id
            continue
        body, headers = fake.payloads.delivery(events[numbers[i % len(numbers)]], secret=SECRET, delivery_id=f"bench-{i:05d}")
        out.append({"body": body.decode(), "headers": dict(headers)})
        unique += 1
    return out, unique


def wait_for_gunicorn(port: int, proc: subprocess.Popen, timeout: float = 60, path: str = "/healthz") -> None:
    """Until every worker answers /healthz: gunicorn's master listens before its workers have booted."""
    import http.client

    deadline, healthy = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and healthy < 20:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            healthy = healthy + 1 if conn.getresponse().status in (200, 202) else 0
            conn.close()
        except OSError:
            time.sleep(0.1)
    if healthy < 20:
        raise SystemExit("gunicorn did not become healthy")


def drained(store, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        counts = store.counts()
        if (not counts.get("pending") and not counts.get("working")) or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


class RandomFaults(Faults):
    """The fake's fault list, plus a seeded share of API requests that fail: 502 before anything is
    done, or applied and then the connection dropped with no answer (a lost response)."""

    def __init__(self, errors: float, lost: float, seed: int) -> None:
        super().__init__()
        self.errors, self.lost, self.rng, self.counts = errors, lost, random.Random(seed), {"502": 0, "lost": 0}

    def take(self, operation_id: str) -> Fault | None:
        found = super().take(operation_id)
        if found is not None or operation_id in SPARED:
            return found
        with self._lock:
            draw = self.rng.random()
            if draw < self.errors:
                self.counts["502"] += 1
                return Fault(operation_id, 502, 1, None, 0.0, None, False)
            if draw < self.errors + self.lost:
                self.counts["lost"] += 1
                return Fault(operation_id, None, 1, None, 0.0, None, True, drop=True)
        return None


# The App's token request is left alone: PyGithub does not retry it, and losing it tests nothing of the bot's.
SPARED = frozenset({"apps/create-installation-access-token"})


class Scenario(NamedTuple):
    store: str  # sqlite or postgres
    rate: float  # 0: closed loop


def run(scenario: Scenario, args: argparse.Namespace, cluster, tmp: Path, index: int) -> dict:
    repo = f"bench/kb-{index}"
    with FakeGitHub() as fake:
        if args.errors or args.lost:
            fake.faults = RandomFaults(args.errors, args.lost, seed=args.seed + index)
        numbers = seed(fake, repo, args.pulls)
        jobs, unique = deliveries(fake, repo, numbers, args.deliveries)
        jobs_file = tmp / f"jobs-{index}.jsonl"
        jobs_file.write_text("".join(json.dumps(j) + "\n" for j in jobs))
        db = cluster.create_database(f"bench{index}") if scenario.store == "postgres" else str(tmp / f"deliveries-{index}.sqlite3")
        port = free_port()
        env = os.environ | {
            "GITHUB_WEBHOOK_SECRET": SECRET,
            "GITHUB_APP_ID": str(fake.app_id),
            "GITHUB_PRIVATE_KEY": fake.private_key_pem,
            "GITHUB_API_URL": fake.base_url,
            "CHALLENGE_BOT_DB": db,
            "CHALLENGE_BOT_WRITE_INTERVAL": "0",
            "CHALLENGE_BOT_WORKERS": "0" if args.layout == "split" else "4",
            "CHALLENGE_BOT_LOG_LEVEL": "INFO",  # one JSON line per delivery, as in production
            "CHALLENGE_BOT_SWEEP_INTERVAL": str(args.sweep),
            "CHALLENGE_BOT_COALESCE_SECONDS": str(args.coalesce),
        }
        gunicorn = [sys.executable, "-m", "gunicorn", "--workers", str(args.web_workers), "--threads", str(args.web_threads), "--worker-class", "gthread",
                    "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "bot.service.app:create_app()"]
        # GitHub and the senders run elsewhere in real life: on this 2-core machine the bot gets
        # one core and the fake GitHub plus the client the other, so neither steals the bot's CPU.
        bot_cpus, other_cpus = (set(), set()) if args.no_pin else _split_cpus()
        pin = (lambda: os.sched_setaffinity(0, bot_cpus)) if bot_cpus else None
        log_path = tmp / f"bot-{index}.log"
        log = open(log_path, "wb")  # noqa: SIM115 - a file, not a pipe: a full pipe would stall the bot
        proc = subprocess.Popen(gunicorn, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log, preexec_fn=pin)
        worker = None
        if args.layout == "split":  # off the webhook's core: the worker's CPU (and its hold on the store's lock) is its own
            worker_pin = (lambda: os.sched_setaffinity(0, other_cpus)) if other_cpus else None
            worker = subprocess.Popen([sys.executable, "-m", "bot", "worker", "--threads", "4"], cwd=REPO, env=env,
                                      stdout=subprocess.DEVNULL, stderr=log, preexec_fn=worker_pin)
        if other_cpus:
            os.sched_setaffinity(0, other_cpus)
        store = open_store(db)
        try:
            wait_for_gunicorn(port, proc)
            started = time.perf_counter()
            client = subprocess.Popen([sys.executable, "-c", CLIENT, "127.0.0.1", str(port), str(jobs_file), str(args.concurrency), "0", "1",
                                       str(scenario.rate)], stdout=subprocess.PIPE, text=True)
            results = json.loads(client.communicate()[0])
            sent_in = time.perf_counter() - started
            counts = drained(store, timeout=600)
            processed_in = time.perf_counter() - started
            every = store.export(("pending", "working", "done", "dropped", "failed"))
            rows = [r for r in every if r["id"].startswith("bench-")]
        finally:
            for child in (proc, worker):
                if child is not None:
                    child.terminate()
                    child.wait(30)
            log.close()
            store.close()
        latencies = sorted(r[0] * 1000 for r in results)
        verdict = exactly_once(fake, repo, numbers, rows, unique)
        faults = getattr(fake.faults, "counts", None)
        kept = None
        if not verdict["ok"]:
            keep = REPO / "bench" / ".cache" / "webhook-logs"
            keep.mkdir(parents=True, exist_ok=True)
            kept = keep / f"{time.strftime('%Y%m%d-%H%M%S')}-{scenario.store}-{index}.log"
            shutil.copy(log_path, kept)
            (kept.with_suffix(".rows.json")).write_text(json.dumps([r | {"payload": None} for r in every], default=str, indent=1))
        return {
            "scenario": scenario, "results": results, "latencies": latencies, "unique": unique, "sent_in": sent_in,
            "processed_in": processed_in, "counts": counts, "verdict": verdict, "faults": faults, "kept": kept,
            "calls": len(fake.requests), "cpus": (sorted(bot_cpus) or "any", sorted(other_cpus) or "any"),
        }


def run_floor(rate: float, args: argparse.Namespace, tmp: Path, index: int) -> dict:
    """The same deliveries, sender, gunicorn and CPU, answered by ``bench/bare_wsgi.py``: the floor."""
    with FakeGitHub() as fake:
        jobs, unique = deliveries(fake, "bench/floor", seed(fake, "bench/floor", args.pulls), args.deliveries)
    jobs_file = tmp / f"jobs-{index}.jsonl"
    jobs_file.write_text("".join(json.dumps(j) + "\n" for j in jobs))
    port = free_port()
    bot_cpus, other_cpus = (set(), set()) if args.no_pin else _split_cpus()
    gunicorn = [sys.executable, "-m", "gunicorn", "--workers", str(args.web_workers), "--threads", str(args.web_threads), "--worker-class", "gthread",
                "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--chdir", str(REPO / "bench"), "bare_wsgi:app"]
    proc = subprocess.Popen(gunicorn, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=(lambda: os.sched_setaffinity(0, bot_cpus)) if bot_cpus else None)
    if other_cpus:
        os.sched_setaffinity(0, other_cpus)
    try:
        wait_for_gunicorn(port, proc, path="/")
        client = subprocess.Popen([sys.executable, "-c", CLIENT, "127.0.0.1", str(port), str(jobs_file), str(args.concurrency), "0", "1", str(rate)],
                                  stdout=subprocess.PIPE, text=True)
        results = json.loads(client.communicate()[0])
    finally:
        proc.terminate()
        proc.wait(30)
    return {"scenario": Scenario("floor", rate), "results": results, "latencies": sorted(r[0] * 1000 for r in results), "unique": unique,
            "verdict": None, "cpus": (sorted(bot_cpus) or "any", sorted(other_cpus) or "any")}


def exactly_once(fake: FakeGitHub, repo: str, numbers: list[int], rows: list[dict], unique: int) -> dict:
    """Recorded once, finished done, and each pull request with one check run of the bot on its head and one summary."""
    runs: dict[str, int] = {}
    for r in fake.check_runs(repo):
        if r.name == m.CHECK_NAME and r.status == "completed" and r.conclusion == "success":
            runs[r.head_sha] = runs.get(r.head_sha, 0) + 1
    heads = {p.number: fake.branch_sha(repo, p.head) for p in fake.pulls(repo)}
    without = [n for n in numbers if not runs.get(heads[n])]
    duplicate_runs = sum(max(runs.get(heads[n], 0) - 1, 0) for n in numbers)
    summaries = {n: sum(1 for c in fake.issue_comments(repo, n) if c.body.startswith(m.SUMMARY_MARKER)) for n in numbers}
    outcomes: dict[str, int] = {}
    for row in rows:
        outcomes[f"{row['status']}:{row['outcome']}"] = outcomes.get(f"{row['status']}:{row['outcome']}", 0) + 1
    finished = sum(1 for row in rows if row["status"] == "done" and row["outcome"] in ("reviewed", "superseded"))
    # A pull request's last delivery has no later one of its own to leave its work to: when it ended
    # superseded, something the bench did not send (a sweep job) did that work instead of it.
    last: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: (r["received_at"], r["id"])):
        last[row["key"]] = row
    taken = sorted(row["id"] for row in last.values() if row["outcome"] != "reviewed")
    first_try = sum(1 for row in rows if row["status"] == "done" and row["attempts"] == 1)
    ok = len(rows) == unique and finished == unique and not without and not duplicate_runs and all(v == 1 for v in summaries.values()) and not taken
    return {"ok": ok, "recorded": len(rows), "finished": finished, "first_try": first_try, "outcomes": outcomes,
            "pulls_without_run": without, "duplicate_runs": duplicate_runs,
            "duplicate_summaries": sum(max(v - 1, 0) for v in summaries.values()), "pulls_without_summary": [n for n, v in summaries.items() if not v],
            "last_not_reviewed": taken}


def report(out: dict, args: argparse.Namespace) -> None:
    s, lat, v = out["scenario"], out["latencies"], out["verdict"]
    p50, p99 = statistics.median(lat), lat[int(len(lat) * 0.99) - 1]
    non_2xx = sum(1 for r in out["results"] if not 200 <= r[1] < 300)
    load = f"{s.rate:g}/s fixed" if s.rate else f"{args.concurrency} in flight"
    if v is None:  # the floor: nothing is recorded or processed
        print(f"{STORES[s.store]:<10} {load:<14} {p50:>7.1f} {p99:>7.1f} {lat[-1]:>7.1f} {p99 / GOAL_MS:>6.2f}x {non_2xx:>7} {'-':>5}  "
              "gunicorn and the sender alone: a WSGI app that reads the body and answers 202", flush=True)
        return
    print(f"{STORES[s.store]:<10} {load:<14} {p50:>7.1f} {p99:>7.1f} {lat[-1]:>7.1f} {p99 / GOAL_MS:>6.2f}x {non_2xx:>7} "
          f"{('yes' if v['ok'] else 'NO'):>5}  {v['finished']}/{out['unique']} done ({v['first_try']} at the first attempt), "
          f"{len(v['pulls_without_run'])} PRs without a check run, {v['duplicate_runs']} duplicate runs, "
          f"{v['duplicate_summaries']} duplicate summaries; sent in {out['sent_in']:.1f} s, processed in {out['processed_in']:.1f} s", flush=True)
    if out["faults"]:
        print(f"{'':<25} fake GitHub faults: {out['faults']} of {out['calls']} API requests; outcomes {v['outcomes']}")
    if not v["ok"]:
        print(f"{'':<25} NOT exactly once: outcomes {v['outcomes']}, PRs without a check run {v['pulls_without_run']}, "
              f"without a summary {v['pulls_without_summary']}, last deliveries of a PR not reviewed by themselves "
              f"{v['last_not_reviewed']}; log kept in {out['kept']}")


STORES = {"floor": "floor", "sqlite": "SQLite", "postgres": "PostgreSQL"}
GOAL_MS = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--pulls", type=int, default=40)
    parser.add_argument("--layout", choices=("split", "threads"), default="split",
                        help="split: gunicorn only acknowledges and `challenge-bot worker` does the GitHub work (the documented "
                             "production layout); threads: worker threads inside the gunicorn processes")
    parser.add_argument("--web-workers", type=int, default=1,
                        help="gunicorn --workers: one per CPU of the web tier (here one; two on one CPU doubled p99)")
    parser.add_argument("--web-threads", type=int, default=2, help="gunicorn --threads (gthread)")
    parser.add_argument("--no-pin", action="store_true", help="let every process use every CPU")
    parser.add_argument("--rate", type=float, default=None,
                        help="only this load: deliveries per second on a fixed schedule (0: the closed loop); default: both 0 and 500")
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both",
                        help="default: both when a PostgreSQL server can be started, else SQLite")
    parser.add_argument("--errors", type=float, default=0.0, help="share of API requests the fake GitHub answers 502")
    parser.add_argument("--lost", type=float, default=0.0, help="share of API requests applied, then left unanswered")
    parser.add_argument("--runs", type=int, default=1, help="repeat every scenario this often")
    parser.add_argument("--coalesce", type=float, default=2.0,
                        help="CHALLENGE_BOT_COALESCE_SECONDS (0: every delivery is reviewed, none superseded by a later one)")
    parser.add_argument("--sweep", type=float, default=900.0,
                        help="CHALLENGE_BOT_SWEEP_INTERVAL (the default, as in production: one sweep as the worker starts; 0: none)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-floor", action="store_true", help="leave out the floor (gunicorn with a bare WSGI app, no bot)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rates = [args.rate] if args.rate is not None else [0.0, 500.0]
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    reason = unavailable_reason() if "postgres" in stores else None
    if reason:
        if args.store == "postgres":
            raise SystemExit(f"no PostgreSQL: {reason}")
        print(f"PostgreSQL left out: {reason}")
        stores = ["sqlite"]
    floors = [] if args.no_floor else [Scenario("floor", rate) for rate in rates]
    scenarios = floors + [Scenario(store, rate) for store in stores for rate in rates] * args.runs
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(Cluster(durable=True)) if "postgres" in stores else None
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        header = False
        for index, scenario in enumerate(scenarios):
            out = run_floor(scenario.rate, args, tmp, index) if scenario.store == "floor" else run(scenario, args, cluster, tmp, index)
            if not header:
                bot, other = out["cpus"]
                print(f"{args.deliveries} deliveries ({out['unique']} unique, {args.deliveries - out['unique']} redeliveries) over "
                      f"{args.pulls} pull requests; layout {args.layout}: gunicorn {args.web_workers} x gthread({args.web_threads})"
                      f"{' on CPU ' + str(bot) + ', challenge-bot worker (4 threads)' if args.layout == 'split' else ' with 4 worker threads each on CPU ' + str(bot)}"
                      f"{', fake GitHub and client' if args.layout == 'split' else '; fake GitHub and client'} on CPU {other}")
                print(f"{'store':<10} {'load':<14} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'p99/goal':>7} {'non-2xx':>7} {'once':>5}")
                header = True
            report(out, args)
    print(f"goal: p99 < {GOAL_MS:g} ms at {args.concurrency} in flight and at 500/s, no non-2xx, every delivery exactly once")


if __name__ == "__main__":
    main()
