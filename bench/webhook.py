"""Benchmark: webhook acknowledgement latency under gunicorn, and exactly-once processing.

The App runs under gunicorn (2 processes, gthread) on loopback, talking to the
test suite's fake GitHub. A separate client process sends 2,000 signed
deliveries, 50 at a time: pull_request synchronize events over 40 pull
requests, one in ten of them a redelivery of an earlier delivery id. It prints
p50 and p99 acknowledgement latency and the non-2xx count, then waits for the
workers to finish and counts how many deliveries were processed exactly once
(recorded once, done on the first attempt, one check run each on GitHub).

Usage: python bench/webhook.py [--deliveries 2000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from fake_github import FakeGitHub  # noqa: E402
from fakes import base_files  # noqa: E402

SECRET = "bench-secret"
CLIENT_PROCESSES = 1  # more sender processes only compete for the same two cores
CASE = (REPO / "tests" / "helpers.py").read_text().split('GOOD = """', 1)[1].split('"""', 1)[0]

CLIENT = r"""
import http.client, json, sys, threading, time, queue
host, port, path, concurrency, part, parts, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
jobs = queue.Queue()
for index, line in enumerate(open(path)):
    if index % parts == part:
        jobs.put((index, json.loads(line)))
begin = time.perf_counter() + 0.2
results, lock = [], threading.Lock()
def worker():
    conn = http.client.HTTPConnection(host, port, timeout=30)
    while True:
        try:
            index, job = jobs.get_nowait()
        except queue.Empty:
            return
        start = time.perf_counter()
        if rate:  # open loop: each delivery has its send time; lateness counts (no coordinated omission)
            start = begin + index / rate
            time.sleep(max(0.0, start - time.perf_counter()))
        try:
            conn.request("POST", "/webhook", body=job["body"].encode(), headers=job["headers"])
            response = conn.getresponse()
            status, answer = response.status, json.loads(response.read() or b"{}").get("status")
        except Exception as exc:
            status, answer = 0, repr(exc)
            conn = http.client.HTTPConnection(host, port, timeout=30)
        with lock:
            results.append((time.perf_counter() - start, status, answer, job["headers"]["X-GitHub-Delivery"]))
threads = [threading.Thread(target=worker) for _ in range(concurrency)]
for t in threads: t.start()
for t in threads: t.join()
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


def wait_for_gunicorn(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Until every worker answers /healthz: gunicorn's master listens before its workers have booted."""
    import http.client

    deadline, healthy = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and healthy < 20:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            healthy = healthy + 1 if conn.getresponse().status == 200 else 0
            conn.close()
        except OSError:
            time.sleep(0.1)
    if healthy < 20:
        raise SystemExit("gunicorn did not become healthy")


def drained(db: str, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(db) as conn:
            counts = dict(conn.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall())
        if not counts.get("pending") and not counts.get("working"):
            return counts
        if time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--pulls", type=int, default=40)
    parser.add_argument("--layout", choices=("split", "threads"), default="split",
                        help="split: gunicorn only acknowledges and `challenge-bot worker` does the GitHub work (the documented "
                             "production layout); threads: worker threads inside the gunicorn processes")
    parser.add_argument("--no-pin", action="store_true", help="let every process use every CPU")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="deliveries per second, sent on a fixed schedule (default: as fast as the 50 connections allow)")
    args = parser.parse_args()
    repo = "bench/kb"
    with FakeGitHub() as fake, tempfile.TemporaryDirectory() as tmp:
        numbers = seed(fake, repo, args.pulls)
        jobs, unique = deliveries(fake, repo, numbers, args.deliveries)
        jobs_file = Path(tmp, "jobs.jsonl")
        jobs_file.write_text("".join(json.dumps(j) + "\n" for j in jobs))
        db, port = str(Path(tmp, "deliveries.sqlite3")), free_port()
        env = os.environ | {
            "GITHUB_WEBHOOK_SECRET": SECRET,
            "GITHUB_APP_ID": str(fake.app_id),
            "GITHUB_PRIVATE_KEY": fake.private_key_pem,
            "GITHUB_API_URL": fake.base_url,
            "CHALLENGE_BOT_DB": db,
            "CHALLENGE_BOT_WRITE_INTERVAL": "0",
            "CHALLENGE_BOT_WORKERS": "0" if args.layout == "split" else "4",
            "CHALLENGE_BOT_LOG_LEVEL": "INFO",  # one JSON line per delivery, as in production
        }
        gunicorn = [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "8", "--worker-class", "gthread",
                    "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "bot.service.app:create_app()"]
        # GitHub and the senders run elsewhere in real life: on this 2-core machine the bot gets
        # one core and the fake GitHub plus the client the other, so neither steals the bot's CPU.
        bot_cpus, other_cpus = (set(), set()) if args.no_pin else _split_cpus()
        pin = (lambda: os.sched_setaffinity(0, bot_cpus)) if bot_cpus else None
        log = open(Path(tmp, "bot.log"), "wb")  # noqa: SIM115 - a file, not a pipe: a full pipe would stall the bot
        proc = subprocess.Popen(gunicorn, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log, preexec_fn=pin)
        worker = None
        if args.layout == "split":
            worker = subprocess.Popen([sys.executable, "-m", "bot", "worker", "--threads", "4"], cwd=REPO, env=env,
                                      stdout=subprocess.DEVNULL, stderr=log, preexec_fn=pin)
        if other_cpus:
            os.sched_setaffinity(0, other_cpus)
        try:
            wait_for_gunicorn(port, proc)
            # One sender process with a thread per connection (CLIENT_PROCESSES splits the load if more CPUs are free).
            parts = min(CLIENT_PROCESSES, args.concurrency)
            started = time.perf_counter()
            clients = [
                subprocess.Popen([sys.executable, "-c", CLIENT, "127.0.0.1", str(port), str(jobs_file), str(args.concurrency // parts + (i < args.concurrency % parts)), str(i), str(parts), str(args.rate)],
                                 stdout=subprocess.PIPE, text=True)
                for i in range(parts)
            ]
            results = [r for c in clients for r in json.loads(c.communicate()[0])]
            sent_in = time.perf_counter() - started
            latencies = sorted(r[0] * 1000 for r in results)
            non_2xx = sum(1 for r in results if not 200 <= r[1] < 300)
            answers = {a: sum(1 for r in results if r[2] == a) for a in sorted({r[2] for r in results})}
            pace = f"{args.rate:g}/s on a fixed schedule, at most {args.concurrency}" if args.rate else f"{args.concurrency}"
            print(f"{len(results)} deliveries ({unique} unique, {len(results) - unique} redeliveries), {pace} at a time; "
                  f"layout {args.layout}: gunicorn 2 x gthread(8){' + challenge-bot worker (4 threads)' if worker else ' with 4 worker threads each'} "
                  f"on CPU {sorted(bot_cpus) or 'any'}, fake GitHub and client on CPU {sorted(other_cpus) or 'any'}")
            print(f"  acknowledgement latency: p50 {statistics.median(latencies):.1f} ms, p99 {latencies[int(len(latencies) * 0.99) - 1]:.1f} ms, "
                  f"max {latencies[-1]:.1f} ms   (goal: p99 < 50 ms)")
            print(f"  non-2xx answers: {non_2xx}   answers: {answers}   all sent in {sent_in:.1f} s", flush=True)
            counts = drained(db, timeout=600)
            processed_in = time.perf_counter() - started
        finally:
            for child in (proc, worker):
                if child is not None:
                    child.terminate()
                    child.wait(30)
            log.close()
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT id, status, attempts, outcome FROM deliveries").fetchall()
        once = sum(1 for _, status, attempts, outcome in rows if status == "done" and attempts == 1 and outcome == "reviewed")
        runs = len(fake.check_runs(repo))
        print(f"  all processed in {processed_in:.1f} s; store: {counts}")
        print(f"  processed exactly once: {once} of {unique} unique deliveries; check runs on GitHub: {runs}")
        if fake.unexpected_violations():
            print(f"  spec violations: {len(fake.unexpected_violations())}")


if __name__ == "__main__":
    main()
