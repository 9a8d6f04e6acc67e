"""Benchmark: two "hosts" sharing one PostgreSQL store, against the fake GitHub, one worker killed mid-run.

A real PostgreSQL server runs on loopback (a throwaway cluster, durable settings: fsync on). Each
"host" is one gunicorn (its own port, 2 gthread processes, acknowledging only) and two
`challenge-bot worker` processes, all with the same CHALLENGE_BOT_DB URL. Deliveries for 1,000 pull
requests (one `pull_request` event each) are spread over both webhooks, and 20% of them are sent to
both (same delivery id, as when GitHub retries against another host behind a load balancer), on a
fixed schedule (default 100 requests a second; latency counts from each request's scheduled time).
One worker process is killed with SIGKILL a third of the way through. It prints the deliveries per
second sustained (unique deliveries processed from the first send to the last one done),
acknowledgement p50/p99 per host, and exactly-once counts from the fake GitHub: check runs (reviews)
per delivery and summary comments per pull request. The same deliveries then go to one host on the
SQLite store (one gunicorn and two workers, the kill included), for the single-host figure beside it.

Goals: at least 50 deliveries/s sustained, acknowledgement p99 under 200 ms, every delivery processed
exactly once. Timing never goes into a test assertion.

Usage: python bench/hosts.py [--pulls 1000] [--both 0.2] [--rate 100] [--skip-sqlite]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "bench")]

from fake_github import FakeGitHub  # noqa: E402
from fake_github import server as fake_server  # noqa: E402
from pgcluster import Cluster, free_port, unavailable_reason  # noqa: E402
from webhook import seed  # noqa: E402

from bot.core import messages  # noqa: E402
from bot.service.store import open_store  # noqa: E402

SECRET = "bench-secret"
LEASE = 15.0  # seconds: a killed worker's deliveries come back after this at the latest

# One sender process, a thread per connection, requests on a fixed schedule (open loop, no coordinated omission).
CLIENT = r"""
import http.client, json, sys, threading, time, queue
path, concurrency, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
jobs = queue.Queue()
for index, line in enumerate(open(path)):
    jobs.put((index, json.loads(line)))
begin = time.perf_counter() + 0.3
print(json.dumps({"begin": time.time() + 0.3}), flush=True)
results, lock = [], threading.Lock()
def worker():
    conns = {}
    while True:
        try:
            index, job = jobs.get_nowait()
        except queue.Empty:
            return
        start = begin + index / rate
        time.sleep(max(0.0, start - time.perf_counter()))
        port = job["port"]
        for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile: reconnect once, as HTTP clients do
            reused = port in conns
            conn = conns.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conns[port] = conn
            try:
                conn.request("POST", "/webhook", body=job["body"].encode(), headers=job["headers"])
                response = conn.getresponse()
                status, answer = response.status, json.loads(response.read() or b"{}").get("status")
                break
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected) as exc:
                conns.pop(port, None)
                status, answer = 0, repr(exc)
                if not reused:
                    break
            except Exception as exc:
                conns.pop(port, None)
                status, answer = 0, repr(exc)
                break
        with lock:
            results.append((time.perf_counter() - start, status, answer, port, job["headers"]["X-GitHub-Delivery"]))
threads = [threading.Thread(target=worker) for _ in range(concurrency)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(results))
"""


class Host(NamedTuple):
    name: str
    port: int
    web: subprocess.Popen
    workers: list[subprocess.Popen]


def schedule(fake: FakeGitHub, repo: str, numbers: list[int], ports: list[int], both: float, seed_value: int = 11) -> tuple[list[dict], dict[str, tuple[int, str]]]:
    """One delivery per pull request, to one host (alternating) or, for a share of them, to every host.
    Also each delivery's pull request and head commit."""
    rng = random.Random(seed_value)
    jobs, heads = [], {}
    for i, number in enumerate(numbers):
        event = fake.payloads.pull_request_event(repo, number, "synchronize")
        delivery_id = f"hosts-{i:05d}"
        body, headers = fake.payloads.delivery(event, secret=SECRET, delivery_id=delivery_id)
        heads[delivery_id] = (number, json.loads(body)["pull_request"]["head"]["sha"])
        # Sent to every host, or twice to the only one: the same requests, whatever the number of hosts.
        targets = (ports * 2)[:max(2, len(ports))] if rng.random() < both else [ports[i % len(ports)]]
        for port in targets:
            jobs.append({"body": body.decode(), "headers": dict(headers), "port": port})
    rng.shuffle(jobs)  # the copies sent to both hosts arrive at different moments, as retries would
    return jobs, heads


def start_host(name: str, env: dict[str, str], log: Any, web_processes: int) -> Host:
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(web_processes), "--threads", "8", "--worker-class", "gthread",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
         "--no-control-socket",  # gunicorn >= 24 keeps one at a fixed path: two "hosts" on one machine would share it
         "bot.service.app:create_app()"],
        cwd=REPO, env=env | {"CHALLENGE_BOT_WORKERS": "0"}, stdout=subprocess.DEVNULL, stderr=log,
    )
    workers = [subprocess.Popen([sys.executable, "-m", "bot", "worker", "--threads", "4"], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=log) for _ in range(2)]
    return Host(name, port, web, workers)


def wait_healthy(host: Host, timeout: float = 60) -> None:
    deadline, healthy = time.monotonic() + timeout, 0
    while healthy < 10:
        if time.monotonic() > deadline or host.web.poll() is not None:
            raise SystemExit(f"host {host.name}: gunicorn did not become healthy")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", host.port, timeout=5)
            conn.request("GET", "/healthz")
            healthy = healthy + 1 if conn.getresponse().status == 200 else 0
            conn.close()
        except OSError:
            time.sleep(0.1)


def wait_drained(target: str, expected: int, timeout: float) -> tuple[dict[str, int], float]:
    """Until every delivery is finished; the counts and the moment it happened (time.time())."""
    store = open_store(target)
    deadline = time.monotonic() + timeout
    try:
        while True:
            counts = store.counts()
            finished = sum(v for k, v in counts.items() if k not in ("pending", "working"))
            if finished >= expected or time.monotonic() > deadline:
                return counts, time.time()
            time.sleep(0.1)
    finally:
        store.close()


def run(label: str, target: str, fake: FakeGitHub, repo: str, numbers: list[int], hosts_count: int, args: argparse.Namespace, tmp: Path) -> None:
    env = os.environ | {
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "GITHUB_APP_ID": str(fake.app_id),
        "GITHUB_PRIVATE_KEY": fake.private_key_pem,
        "GITHUB_API_URL": fake.base_url,
        "CHALLENGE_BOT_DB": target,
        "CHALLENGE_BOT_WRITE_INTERVAL": "0",
        "CHALLENGE_BOT_LEASE_SECONDS": str(LEASE),
        # The reconciliation sweep would queue its own reviews of the 1,000 open pull requests at start:
        # this measures the webhook path, so it is off here (the test suite covers the sweep).
        "CHALLENGE_BOT_SWEEP_INTERVAL": "0",
        "CHALLENGE_BOT_LOG_LEVEL": "INFO",
    }
    load_before = os.getloadavg()[0]
    LOGS[label] = str(tmp / f"{label}.log")
    log = open(LOGS[label], "wb")  # noqa: SIM115 - a file, not a pipe: a full pipe would stall the bot
    hosts = [start_host(chr(ord("A") + i), env, log, args.web_processes) for i in range(hosts_count)]
    try:
        for host in hosts:
            wait_healthy(host)
        jobs, heads = schedule(fake, repo, numbers, [h.port for h in hosts], args.both)
        CALLS_BEFORE[label] = len(fake.requests)
        jobs_file = tmp / f"{label}-jobs.jsonl"
        jobs_file.write_text("".join(json.dumps(j) + "\n" for j in jobs))
        client = subprocess.Popen([sys.executable, "-c", CLIENT, str(jobs_file), str(args.concurrency), str(args.rate)],
                                  stdout=subprocess.PIPE, text=True)
        assert client.stdout is not None
        begin = json.loads(client.stdout.readline())["begin"]
        time.sleep(max(0.0, begin - time.time()) + len(jobs) / args.rate / 3)
        victim = hosts[0].workers[0]
        victim.send_signal(signal.SIGKILL)  # mid-run, holding whatever it had claimed
        killed_at = time.time() - begin
        results = json.loads(client.stdout.read())
        client.wait()
        sent_in = time.time() - begin
        counts, drained_at = wait_drained(target, len(heads), timeout=600)
    finally:
        for host in hosts:
            for proc in (host.web, *host.workers):
                if proc.poll() is None:
                    proc.terminate()
            for proc in (host.web, *host.workers):
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        log.close()
    report(label, hosts, results, heads, counts, target, fake, repo, begin, sent_in, drained_at - begin, killed_at)
    print(f"  load average (1 min) before/after: {load_before:.1f}/{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          f"(anything above what this run adds is other work on the machine)", flush=True)


def report(label: str, hosts: list[Host], results: list, heads: dict[str, tuple[int, str]], counts: dict[str, int], target: str,
           fake: FakeGitHub, repo: str, begin: float, sent_in: float, processed_in: float, killed_at: float) -> None:
    store = open_store(target)
    try:
        rows = store.export(("done", "dropped", "failed", "pending", "working"))
    finally:
        store.close()
    by_port = {h.port: h.name for h in hosts}
    calls_before = CALLS_BEFORE.get(label, 0)
    answers = Counter(r[2] for r in results)
    non_2xx = sum(1 for r in results if not 200 <= r[1] < 300)
    runs = Counter(run.head_sha for run in fake.check_runs(repo))
    reviews = Counter(runs.get(sha, 0) for _, sha in heads.values())
    summaries = {n: sum(1 for c in fake.issue_comments(repo, n) if c.body.startswith(messages.SUMMARY_MARKER)) for n, _ in heads.values()}
    comments = Counter(summaries.values())
    attempts = Counter(row["attempts"] for row in rows)
    outcomes = Counter(row["outcome"] for row in rows)
    print(f"{label}: {len(hosts)} host(s) x (gunicorn {args_web} gthread(8) + 2 x challenge-bot worker (4 threads)); "
          f"{len(results)} requests for {len(heads)} deliveries ({len(results) - len(heads)} sent {'to both hosts' if len(hosts) > 1 else 'twice'}), "
          f"{args_rate:g}/s on a fixed schedule; one worker killed (SIGKILL) at {killed_at:.1f} s")
    print(f"  deliveries per second sustained: {len(heads) / processed_in:.1f}   ({len(heads)} processed in {processed_in:.1f} s "
          f"from the first send; all sent in {sent_in:.1f} s)   (goal: >= 50)")
    for host in hosts:
        latencies = sorted(r[0] * 1000 for r in results if by_port.get(r[3]) == host.name)
        print(f"  host {host.name} acknowledgement: p50 {statistics.median(latencies):.1f} ms, p99 {latencies[max(0, int(len(latencies) * 0.99) - 1)]:.1f} ms, "
              f"max {latencies[-1]:.1f} ms over {len(latencies)} requests   (goal: p99 < 200 ms)")
    print(f"  answers: {dict(sorted(answers.items(), key=str))}   non-2xx: {non_2xx}")
    print(f"  store: {counts}; attempts per delivery: {dict(sorted(attempts.items()))}; outcomes: {dict(outcomes)}")
    calls = len(fake.requests) - calls_before
    print(f"  GitHub API calls: {calls} ({calls / len(heads):.1f} per delivery)")
    print(f"  exactly once: check runs (reviews) per delivery {dict(sorted(reviews.items()))}; "
          f"summary comments per pull request {dict(sorted(comments.items()))}   (goal: {{1: {len(heads)}}} for both)")
    violations = fake.unexpected_violations()
    if violations:
        print(f"  spec violations: {len(violations)}")
    wrong = sorted(n for n, sha in heads.values() if summaries[n] != 1 or runs.get(sha, 0) != 1)
    if wrong:  # keep what happened, to find out why
        keep = REPO / "bench" / ".cache" / "hosts-logs"
        keep.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        log_path = Path(LOGS[label])
        (keep / f"{stamp}.log").write_bytes(log_path.read_bytes())
        (keep / f"{stamp}.rows.json").write_text(json.dumps([r | {"payload": None} for r in rows], default=str, indent=1))
        print(f"  NOT exactly once for pull requests {wrong}; log kept in {keep / (stamp + '.log')}")
    sys.stdout.flush()


args_web = 2
args_rate = 100.0
CALLS_BEFORE: dict[str, int] = {}
LOGS: dict[str, str] = {}  # each run's log file, kept when a pull request was not handled exactly once


def main() -> None:
    global args_web, args_rate
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pulls", type=int, default=1000)
    parser.add_argument("--both", type=float, default=0.2, help="share of deliveries sent to both hosts (same delivery id)")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second, on a fixed schedule")
    parser.add_argument("--concurrency", type=int, default=50, help="connections at most in flight")
    parser.add_argument("--web-processes", type=int, default=2, help="gunicorn processes per host")
    parser.add_argument("--skip-sqlite", action="store_true", help="leave out the single-host SQLite run")
    parser.add_argument("--github-budget", type=int, default=1_000_000,
                        help="the fake GitHub's hourly request budget per installation (GitHub's is 5,000: about 800 reviews an "
                             "hour for one installation, fewer than this run makes; GitHub Enterprise Server can turn limits off)")
    parser.add_argument("--validate", action="store_true",
                        help="let the fake GitHub check every request and response against the OpenAPI spec, as in the tests "
                             "(in this process, on the same CPUs: it then caps the run at its own speed)")
    args = parser.parse_args()
    args_web, args_rate = args.web_processes, args.rate
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up below (servers, the cluster) when stopped
    reason = unavailable_reason()
    if reason:
        raise SystemExit(f"bench/hosts.py needs PostgreSQL: {reason}")
    with Cluster(durable=True) as cluster, FakeGitHub() as fake, tempfile.TemporaryDirectory() as tmp:
        fake_server.RATE_LIMIT = args.github_budget
        if not args.validate:  # the test suite checks the requests; here GitHub's share of the CPUs goes to serving them
            fake.validator.check_request = lambda *a: []  # type: ignore[method-assign]
            fake.validator.check_response = lambda *a: []  # type: ignore[method-assign]
        print(f"PostgreSQL {cluster.bin.parent.name} on 127.0.0.1:{cluster.port} (fsync on); {os.cpu_count()} CPUs for everything "
              f"(bot, database, fake GitHub, sender); lease {LEASE:g} s; reconciliation sweep off; "
              f"fake GitHub: spec validation {'on' if args.validate else 'off'}, {args.github_budget:,} requests an hour per installation", flush=True)
        numbers = seed(fake, "bench/pg", args.pulls)
        run("PostgreSQL, two hosts", cluster.create_database("bench"), fake, "bench/pg", numbers, 2, args, Path(tmp))
        if not args.skip_sqlite:
            numbers = seed(fake, "bench/sqlite", args.pulls)
            run("SQLite, one host", str(Path(tmp, "deliveries.sqlite3")), fake, "bench/sqlite", numbers, 1, args, Path(tmp))


if __name__ == "__main__":
    main()
