"""Benchmark: GitHub API calls for one review of a pull request adding 1, 10 and 100 case studies.

Counted by the fake GitHub of the test suite (tests/fake_github), which the
App reaches over real HTTP through PyGithub. For each size:

  * cold:  a freshly started service (no installation token, config or labels cached yet)
  * warm:  a second pull request of the same size, reviewed by the same service
  * naive: the same warm review with added files fetched one by one instead of read
           from their patches (what a bot that ignores patches would do)

Usage: python bench/api_calls.py
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from bot.github import remote  # noqa: E402
from bot.service.app import create_app  # noqa: E402
from fake_github import FakeGitHub  # noqa: E402
from fakes import base_files  # noqa: E402

SECRET = "bench"
CASE = (REPO / "tests" / "helpers.py").read_text().split('GOOD = """', 1)[1].split('"""', 1)[0]


@contextmanager
def service(fake: FakeGitHub):
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "webhook_secret": SECRET,
                "app_id": str(fake.app_id),
                "private_key": fake.private_key_pem,
                "api_url": fake.base_url,
                "write_interval": 0,
                "db_path": f"{tmp}/d.sqlite3",
                "workers": 0,
            }
        )
        yield app


def review(fake: FakeGitHub, app, repo: str, branch: str, files: int) -> Counter:
    fake.create_branch(repo, branch)
    changes = {f"case_studies/meta/{branch}-{i:03d}.md": CASE.replace("A good case study", f"Case {branch} {i}") for i in range(files)}
    fake.commit(repo, branch, changes, author="contributor")
    number = fake.open_pull_request(repo, branch)
    body, headers = fake.payloads.delivery(fake.payloads.pull_request_event(repo, number, "opened"), secret=SECRET)
    fake.reset_counts()
    answer = app.test_client().post("/webhook", data=body, headers=headers)
    assert answer.status_code == 202, answer.data
    app.extensions["challenge_bot"].service.drain()
    calls = Counter(r.operation_id for r in fake.requests)
    assert fake.check_runs(repo)[-1].conclusion == "success", "the benchmark reviews valid case studies"
    return calls


def main() -> None:
    print("GitHub API calls for one review (counted by the fake GitHub)")
    print(f"{'files':>6} {'cold':>6} {'warm':>6} {'naive':>6}   warm calls by operation")
    for size in (1, 10, 100):
        with FakeGitHub() as fake:
            repo = f"bench/kb-{size}"
            fake.create_repo(repo, files=base_files())
            with service(fake) as app:
                cold = review(fake, app, repo, "first", size)
                warm = review(fake, app, repo, "second", size)
                real = remote.added_file_text
                remote.added_file_text = lambda patch: None  # fetch every file instead
                try:
                    naive = review(fake, app, repo, "third", size)
                finally:
                    remote.added_file_text = real
            detail = ", ".join(f"{op} {n}" for op, n in sorted(warm.items()))
            print(f"{size:>6} {sum(cold.values()):>6} {sum(warm.values()):>6} {sum(naive.values()):>6}   {detail}")
            if fake.unexpected_violations():
                raise SystemExit(f"spec violations: {fake.unexpected_violations()}")
    print("goal: at most 8 calls per review, flat in the number of files")


if __name__ == "__main__":
    main()
