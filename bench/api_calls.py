"""Benchmark: GitHub API calls per review, and per index regeneration after a restart.

Counted by the fake GitHub of the test suite (tests/fake_github), which the App
reaches over real HTTP through PyGithub. A call counts when it costs rate-limit
budget: a 304 answer to a conditional read does not (it is shown apart).

1. One review of a pull request that adds, modifies or renames 1, 10 and 100
   case studies, by a service that has reviewed another pull request before
   (warm: installation token, config and labels known), against the same review
   with one REST read per file (``per-file``: what the bot did before blobs were
   read in batches; an added file still comes from its patch).
2. A warm ``synchronize``: a push to a pull request the service reviewed before,
   editing the case study it adds; and one editing a case study of the base
   branch. Peer: the same with nothing remembered of the first review (the
   comments and the head's check runs listed again).
3. Index regeneration of a 1,000- and a 10,000-study repository (each indexed
   first, as a real one is) after the service restarted, when one new case study
   was merged. Peers: the same with an empty store (every blob read, in batches),
   and with one REST read per case study and nothing remembered (before).

Usage: python bench/api_calls.py [--index-sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import fake_github.server as fake_server  # noqa: E402
from bot.github import pygithub  # noqa: E402
from bot.service.app import create_app  # noqa: E402
from fake_github import FakeGitHub  # noqa: E402
from fakes import base_files  # noqa: E402

SECRET = "bench"
CASE = (REPO / "tests" / "helpers.py").read_text().split('GOOD = """', 1)[1].split('"""', 1)[0]
MODELS = ("meta", "huggingface", "bloomberg")
GOAL_REVIEW, GOAL_SYNC = 8, 4


def case(i: int, words: str = "") -> str:
    return CASE.replace("PC-0001", f"PC-{i + 1:04d}").replace("A good case study", f"Case study {i}{words}")


def case_path(i: int) -> str:
    return f"case_studies/{MODELS[i % len(MODELS)]}/case-{i:05d}.md"


@contextmanager
def service(fake: FakeGitHub, db: str) -> Iterator:
    app = create_app({
        "webhook_secret": SECRET, "app_id": str(fake.app_id), "private_key": fake.private_key_pem, "api_url": fake.base_url,
        "write_interval": 0, "db_path": db, "workers": 0, "coalesce_seconds": 0, "log_level": "WARNING", "sweep_interval": 0,
        "lease_seconds": 3600,  # drain() works in this thread, with no heartbeat: a cold 10,000-study index takes a while
    })
    try:
        yield app
    finally:
        app.extensions["challenge_bot"].store.close()


@contextmanager
def per_file_reads() -> Iterator[None]:
    """The bot before batches: every blob it needs read with a REST call of its own, the pull request too."""
    gateway = pygithub.PyGithubGateway
    real = gateway.read_blobs, gateway.pull_request_and_blobs
    gateway.read_blobs = lambda self, shas: {}  # type: ignore[method-assign,assignment]
    gateway.pull_request_and_blobs = lambda self, number, shas: (self.pull_request(number), {})  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        gateway.read_blobs, gateway.pull_request_and_blobs = real  # type: ignore[method-assign]


class NoMemory:
    def recall(self, keys: object) -> dict[str, str]:
        return {}

    def remember(self, items: object) -> None:
        pass


def forget(app) -> None:  # type: ignore[no-untyped-def]
    """Nothing remembered across deliveries: neither what was written, nor index records."""
    app.extensions["challenge_bot"].service.cache.memory = NoMemory()


def deliver(fake: FakeGitHub, app, event) -> Counter:  # type: ignore[no-untyped-def]
    body, headers = fake.payloads.delivery(event, secret=SECRET)
    fake.reset_counts()
    answer = app.test_client().post("/webhook", data=body, headers=headers)
    assert answer.status_code == 202, answer.data
    app.extensions["challenge_bot"].service.drain()
    return Counter(r.operation_id if r.status != 304 else "304 (free)" for r in fake.requests)


def cost(calls: Counter) -> int:
    return sum(n for op, n in calls.items() if op != "304 (free)")


def open_pull(fake: FakeGitHub, repo: str, branch: str, changes: dict) -> int:
    fake.create_branch(repo, branch)
    fake.commit(repo, branch, changes, author="contributor")
    return fake.open_pull_request(repo, branch)


def changes_for(kind: str, branch: str, size: int) -> dict:
    if kind == "warm-up":  # one case study in each model's folder: each model's label exists afterwards
        return {f"case_studies/{model}/{branch}.md": case(9000 + i, f" {branch}") for i, model in enumerate(MODELS)}
    if kind == "adds":
        return {f"case_studies/meta/{branch}-{i:03d}.md": case(5000 + i, f" {branch}") for i in range(size)}
    if kind == "modifies":
        return {case_path(i): case(i, f" (edited in {branch})") for i in range(size)}
    return {**{case_path(i): None for i in range(size)}, **{case_path(i).replace("case-", f"{branch}-"): case(i) for i in range(size)}}


def review(fake: FakeGitHub, app, repo: str, branch: str, kind: str, size: int) -> Counter:  # type: ignore[no-untyped-def]
    number = open_pull(fake, repo, branch, changes_for(kind, branch, size))
    files = {f.status for f in fake.repo(repo).pull_files(fake.repo(repo).pull(number))}
    assert files == {"modified" if kind == "modifies" else "renamed" if kind == "renames" else "added"}, files
    calls = deliver(fake, app, fake.payloads.pull_request_event(repo, number, "opened"))
    runs = [r for r in fake.check_runs(repo) if r.head_sha == fake.branch_sha(repo, branch)]
    assert [r.conclusion for r in runs] == ["success"], "the benchmark reviews valid case studies"
    return calls


def detail(calls: Counter) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))


def reviews(tmp: Path) -> None:
    print("1. GitHub API calls for one review, by what the pull request does (a warm service: token, config, labels known)")
    print(f"{'change':<9} {'files':>5} {'calls':>6} {'per-file':>9} {'ratio':>6}   calls by operation")
    for kind in ("adds", "modifies", "renames"):
        for size in (1, 10, 100):
            with FakeGitHub() as fake:
                repo = f"bench/{kind}-{size}"
                fake.create_repo(repo, files=base_files() | {case_path(i): case(i) for i in range(100)})
                with service(fake, str(tmp / f"{kind}-{size}.sqlite3")) as app:
                    review(fake, app, repo, "warm-up", "warm-up", 3)
                    batched = review(fake, app, repo, "first", kind, size)
                    with per_file_reads():
                        peer = review(fake, app, repo, "second", kind, size)
                if fake.unexpected_violations():
                    raise SystemExit(f"spec violations: {fake.unexpected_violations()}")
            print(f"{kind:<9} {size:>5} {cost(batched):>6} {cost(peer):>9} {cost(peer) / cost(batched):>5.1f}x   {detail(batched)}", flush=True)
    print(f"goal: at most {GOAL_REVIEW} calls per review, the same whatever the pull request adds, modifies or renames\n")


def synchronize(tmp: Path) -> None:
    print("2. A warm synchronize: a push to a pull request the service reviewed before")
    print(f"{'push':<34} {'calls':>6} {'forgetting':>11} {'ratio':>6}   calls by operation")
    for what in ("edits the case study it adds", "edits a case study of the base"):
        found = {}
        for remembering in (True, False):
            with FakeGitHub() as fake:
                repo = "bench/sync"
                fake.create_repo(repo, files=base_files() | {case_path(i): case(i) for i in range(3)})
                with service(fake, str(tmp / f"sync-{len(found)}-{'adds' in what}-{remembering}.sqlite3")) as app:
                    if not remembering:
                        forget(app)
                    review(fake, app, repo, "warm-up", "warm-up", 3)
                    number = open_pull(fake, repo, "pr", {"case_studies/meta/new.md": case(100)})
                    deliver(fake, app, fake.payloads.pull_request_event(repo, number, "opened"))
                    path, text = ("case_studies/meta/new.md", case(100, " again")) if "adds" in what else (case_path(0), case(0, " again"))
                    fake.commit(repo, "pr", {path: text}, author="contributor")
                    found[remembering] = deliver(fake, app, fake.payloads.pull_request_event(repo, number, "synchronize"))
                    runs = [r for r in fake.check_runs(repo) if r.head_sha == fake.branch_sha(repo, "pr")]
                    assert [r.conclusion for r in runs] == ["success"] and len(fake.issue_comments(repo, number)) == 1
        print(f"{what:<34} {cost(found[True]):>6} {cost(found[False]):>11} {cost(found[False]) / cost(found[True]):>5.1f}x   {detail(found[True])}")
    print(f"goal: a warm synchronize at most {GOAL_SYNC} calls\n")


def indexed_files(size: int, work: Path) -> dict[str, bytes]:
    """``size`` case studies with the index, the data files and the footers `challenge-bot index` writes."""
    corpus = work / f"corpus-{size}"
    shutil.rmtree(corpus, ignore_errors=True)
    for path, data in base_files().items():
        (corpus / path).parent.mkdir(parents=True, exist_ok=True)
        (corpus / path).write_bytes(data)
    for i in range(size):
        (corpus / case_path(i)).parent.mkdir(parents=True, exist_ok=True)
        (corpus / case_path(i)).write_text(case(i))
    subprocess.run([sys.executable, "-m", "bot", "index"], cwd=corpus, check=True, capture_output=True)
    return {str(p.relative_to(corpus)): p.read_bytes() for p in corpus.rglob("*") if p.is_file()}


def index(tmp: Path, sizes: list[int]) -> None:
    print("3. Index regeneration after a restart, when one new case study was merged")
    budget, fake_server.RATE_LIMIT = fake_server.RATE_LIMIT, 1_000_000  # let "before" finish to be counted: it spends more than an hour's
    print(f"{'studies':>8} {'restarted':>10} {'empty store':>12} {'before':>8} {'ratio':>7}   after a restart, calls by operation")
    for size in sizes:
        files = indexed_files(size, tmp)
        found: dict[str, Counter] = {}
        seconds = {}
        for peer in ("restarted", "empty store", "before"):
            with FakeGitHub() as fake:
                fake.validator.check_response = lambda *a: []  # type: ignore[method-assign]  # answers of 10,000 entries: the tests check them
                repo = f"bench/index-{size}"
                fake.create_repo(repo, files=files)
                db = str(tmp / f"index-{size}-{peer}.sqlite3")
                if peer == "restarted":  # the service that regenerated the index last, then restarted
                    with service(fake, db) as app:
                        number = open_pull(fake, repo, "earlier", {"case_studies/meta/earlier.md": case(size + 1)})
                        fake.merge_pull_request(repo, number)
                        deliver(fake, app, fake.payloads.pull_request_event(repo, number, "closed"))
                number = open_pull(fake, repo, "new", {"case_studies/meta/new.md": case(size + 2)})
                fake.merge_pull_request(repo, number)
                started = time.perf_counter()
                with service(fake, db) as app, (per_file_reads() if peer == "before" else contextlib_null()):
                    if peer == "before":
                        forget(app)
                    found[peer] = deliver(fake, app, fake.payloads.pull_request_event(repo, number, "closed"))
                seconds[peer] = time.perf_counter() - started
                assert b"new.md" in (fake.file_at(repo, "main", "case_studies/index.json") or b""), "the index names the new study"
        restarted, empty, before = (cost(found[p]) for p in ("restarted", "empty store", "before"))
        print(f"{size:>8} {restarted:>10} {empty:>12} {before:>8} {before / restarted:>6.0f}x   {detail(found['restarted'])}", flush=True)
        print(f"{'':>8} ({seconds['restarted']:.1f} s, {seconds['empty store']:.1f} s and {seconds['before']:.1f} s)")
    print(f"goal: a constant number of calls after a restart (GitHub's hourly budget is {budget:,} per installation)")


@contextmanager
def contextlib_null() -> Iterator[None]:
    yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index-sizes", default="1000,10000", help="case studies in the index benchmarks (comma-separated)")
    parser.add_argument("--skip", default="", help="parts to leave out: reviews, synchronize, index (comma-separated)")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    with tempfile.TemporaryDirectory() as tmp:
        if "reviews" not in skip:
            reviews(Path(tmp))
        if "synchronize" not in skip:
            synchronize(Path(tmp))
        if "index" not in skip:
            index(Path(tmp), [int(n) for n in args.index_sizes.split(",") if n])


if __name__ == "__main__":
    main()
