"""The App against hostile configs, huge pull requests, lost answers, rate limits and outages.

End to end through real HTTP (signed delivery -> app -> workers -> PyGithub -> fake GitHub);
every assertion is on the fake's state or its request log.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

from bot.core import messages as m
from bot.core.config_model import DOCS_URL
from bot.core.review import MAX_ANNOTATIONS, MAX_LISTED
from bot.github.publish import MAX_REVIEW_WRITES
from bot.github.pygithub import AppGateways, retry_policy
from bot.service.app import create_app
from conftest import WEBHOOK_SECRET, LiveBot
from fake_github import FakeGitHub
from fake_github.loopback import LoopbackServer
from fakes import base_files
from helpers import GOOD
from test_handlers import BROKEN

REPO_NAME = "octo/kb"
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})
HOSTILE = "@octo/team <img src=x onerror=alert(1)> [verify your account](https://phish.example/login)"


@pytest.fixture
def kb(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.create_repo(REPO_NAME, files=base_files())
    return fake_github


@pytest.fixture
def make_bot(fake_github: FakeGitHub, tmp_path: Path) -> Iterator[Callable[..., LiveBot]]:
    """The App with GitHub's client retrying once, at once: outages end in a few hundred milliseconds."""
    made: list[tuple[LiveBot, LoopbackServer]] = []

    def make(**settings: Any) -> LiveBot:
        gateways = AppGateways(fake_github.app_id, fake_github.private_key_pem, fake_github.base_url, write_interval=None, retry=retry_policy(total=1, backoff=0))
        app = create_app({"webhook_secret": WEBHOOK_SECRET, "db_path": str(tmp_path / "deliveries.sqlite3"), "workers": 2} | settings, gateway_factory=gateways)
        server = LoopbackServer(app, name="challenge-bot").start()
        bot = LiveBot(app, server.url)
        bot.service.backoff = 0.05
        made.append((bot, server))
        return bot

    yield make
    for bot, server in made:
        server.stop()
        bot.service.stop()


def open_pr(fake: FakeGitHub, files: dict[str, Any], branch: str = "contrib") -> int:
    fake.create_branch(REPO_NAME, branch)
    fake.commit(REPO_NAME, branch, files, author="contributor")
    return fake.open_pull_request(REPO_NAME, branch, author="contributor")


def writes(fake: FakeGitHub) -> Counter[str]:
    """The review's writes to the repository, by operation (installation tokens are not writes to it, and a
    GraphQL query is a POST that only reads)."""
    return Counter(r.operation_id or "?" for r in fake.requests if r.method in WRITES and r.operation_id not in ("apps/create-installation-access-token", "graphql"))


def bot_texts(fake: FakeGitHub, number: int) -> list[str]:
    """Everything the bot wrote on the pull request that GitHub renders as Markdown."""
    texts = [c.body for c in fake.issue_comments(REPO_NAME, number)]
    texts += [c.body for c in fake.review_comments(REPO_NAME, number)] + [r.body for r in fake.reviews(REPO_NAME, number)]
    return texts + [r.output.summary or "" for r in fake.check_runs(REPO_NAME)]


def assert_inert(texts: list[str]) -> None:
    for text in texts:
        assert "<img" not in text and "@octo/team" not in text and "](https://phish" not in text, text
        for target in re.findall(r"\]\((https?://[^)\s]*)", text):
            assert target.startswith(DOCS_URL), target  # every link is the base branch's


# --- 2. trusted config ---------------------------------------------------------------------------------


def _hostile_config() -> bytes:
    raw = yaml.safe_load(base_files()[".github/challenge-bot.yml"])
    raw["models"]["pwned"] = {"name": HOSTILE, "label": "model: Pwned", "color": "ff0000", "description": HOSTILE, "paper": "https://phish.example/paper"}
    raw.setdefault("limits", {})["max_file_size"] = 10 * 1024 * 1024
    raw["review"] = {"reporter": "both", "max_inline_comments": 1000}
    return yaml.safe_dump(raw, sort_keys=False).encode()


def test_a_hostile_config_pull_request_renders_nothing_live_and_creates_no_label(kb: FakeGitHub, bot: LiveBot) -> None:
    big = GOOD + "\nFiller.\n" * (300 * 1024 // 9)
    number = open_pr(kb, {".github/challenge-bot.yml": _hostile_config(), "case_studies/pwned/x.md": GOOD, "case_studies/meta/big.md": big})
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    (run,) = kb.check_runs(REPO_NAME)
    assert [(a["path"], a["title"]) for a in run.annotations if a["title"].startswith("CS305")] == [("case_studies/meta/big.md", "CS305 file-too-large")]
    assert "the limit is 256 KiB" in next(a["message"] for a in run.annotations if a["title"].startswith("CS305"))  # not raised
    assert kb.labels(REPO_NAME) == {"model: OPT-175B": {"color": "0866ff", "description": "Case studies from Meta AI's OPT-175B pretraining run"}}
    assert kb.pr_labels(REPO_NAME, number) == ["model: OPT-175B"]
    texts = bot_texts(kb, number)
    assert_inert(texts)
    (summary,) = [t for t in texts if t.startswith(m.SUMMARY_MARKER)]
    assert "@\u200bocto/team &lt;img src=x onerror=alert(1)&gt; \\[verify your account\\](https\u200b://phish.example/login)" in summary  # shown, inert
    assert kb.review_comments(REPO_NAME, number) == []  # the base branch's reporter: suggestions only, and there are none


def test_a_config_with_a_hostile_docs_url_is_refused_on_its_own_branch(kb: FakeGitHub, bot: LiveBot) -> None:
    raw = yaml.safe_load(base_files()[".github/challenge-bot.yml"])
    raw["docs_url"] = f"https://example.org/rules.md){HOSTILE}"
    number = open_pr(kb, {".github/challenge-bot.yml": yaml.safe_dump(raw).encode(), "case_studies/meta/x.md": BROKEN})
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    (run,) = kb.check_runs(REPO_NAME)
    assert (run.conclusion, run.output.title) == ("failure", m.TITLE_CONFIG)
    texts = bot_texts(kb, number)
    assert_inert(texts)
    assert all("docs_url: must be an https URL" in t for t in texts)
    assert kb.labels(REPO_NAME) == {}


# --- 3. bounded work ----------------------------------------------------------------------------------


def test_52000_findings_make_one_check_run_within_the_write_bound(kb: FakeGitHub, bot: LiveBot) -> None:
    huge = GOOD + "".join("## h\n" for _ in range(52_000))  # 260 KB, one finding per heading
    number = open_pr(kb, {"case_studies/meta/huge.md": huge})
    kb.reset_counts()
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    (run,) = kb.check_runs(REPO_NAME)
    assert (run.conclusion, run.output.title, len(run.annotations)) == ("failure", "52000 errors in 1 file", MAX_ANNOTATIONS)
    assert writes(kb) == {"checks/create": 1, "checks/update": 9, "issues/create-comment": 1, "issues/create-label": 1, "issues/add-labels": 1}
    note = m.NOT_LISTED.format(hidden=f"{52_000 - MAX_LISTED} findings", listed=MAX_LISTED, annotated=MAX_ANNOTATIONS, inline=25)
    (summary,) = [c.body for c in kb.issue_comments(REPO_NAME, number)]
    assert note in summary and note in (run.output.summary or "")
    assert "challenge-bot check case_studies/meta/huge.md" in summary  # how to see them all


def test_a_pull_request_of_300_files_stays_within_the_write_bound(kb: FakeGitHub, bot: LiveBot) -> None:
    files = {f"case_studies/{model}/broken-{i:03d}.md": BROKEN for model in ("meta", "huggingface", "bloomberg") for i in range(100)}
    number = open_pr(kb, files)
    kb.reset_counts()
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    (run,) = kb.check_runs(REPO_NAME)
    assert (run.output.title, len(run.annotations)) == ("600 errors in 300 files", MAX_ANNOTATIONS)
    assert len(kb.review_comments(REPO_NAME, number)) == 25
    done = writes(kb)
    assert done == {"checks/create": 1, "checks/update": 9, "issues/create-comment": 1, "pulls/create-review": 1, "issues/create-label": 3, "issues/add-labels": 1}
    assert sum(done.values()) <= MAX_REVIEW_WRITES == 20


# --- 5. exactly once across crashes -------------------------------------------------------------------


def test_lost_answers_to_every_write_leave_one_check_run_one_comment_one_review(kb: FakeGitHub, bot: LiveBot) -> None:
    number = open_pr(kb, {"case_studies/meta/broken.md": BROKEN})
    for operation in ("checks/create", "issues/create-comment", "pulls/create-review"):
        kb.lose_response(operation)  # GitHub applies it, the connection drops before the answer
    bot.service.backoff = 0.05
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"), delivery_id="d-lost")
    bot.settle()
    (run,) = kb.check_runs(REPO_NAME)
    assert (run.conclusion, len(run.annotations)) == ("failure", 2)
    assert len([c for c in kb.issue_comments(REPO_NAME, number) if c.body.startswith(m.SUMMARY_MARKER)]) == 1
    assert len(kb.reviews(REPO_NAME, number)) == 1 and len(kb.review_comments(REPO_NAME, number)) == 1
    assert [r.status for r in kb.requests_of("checks/create")] == [0]  # created once, its answer lost
    row = bot.store.get("d-lost")
    assert (row["status"], row["attempts"]) == ("done", 4)


def test_a_check_run_cut_short_between_batches_is_completed_not_repeated(kb: FakeGitHub, bot: LiveBot) -> None:
    many = GOOD + "".join(f"\n## Extra section {i}\n\nText.\n" for i in range(120))
    number = open_pr(kb, {"case_studies/meta/many.md": many})
    kb.inject("checks/update", 502, after_apply=True)  # the second batch lands, its answer does not
    bot.service.backoff = 0.05
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    (run,) = kb.check_runs(REPO_NAME)
    assert [a["title"] for a in run.annotations] == ["CS207 unknown-section"] * 120
    assert sorted(int(a["start_line"]) for a in run.annotations) == sorted({int(a["start_line"]) for a in run.annotations})
    assert (run.status, kb.count("checks/create"), kb.count("checks/update")) == ("completed", 1, 2)


def test_github_failing_everything_then_recovering_leaves_one_check_run(kb: FakeGitHub, make_bot: Callable[..., LiveBot]) -> None:
    bot = make_bot(max_attempts=2)
    number = open_pr(kb, {"case_studies/meta/broken.md": BROKEN})
    kb.outage(502)  # every request, the failure report too
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    assert kb.check_runs(REPO_NAME) == [] and bot.store.counts() == {"failed": 1}
    kb.outage(None)
    kb.inject("pulls/list-files", 502, times=4)  # the reads keep failing; the report now lands
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "reopened"))
    bot.settle()
    (failed,) = kb.check_runs(REPO_NAME)
    assert (failed.conclusion, failed.output.title) == ("failure", m.REVIEW_FAILED_TITLE)
    bot.deliver(kb.payloads.check_run_rerequested_event(REPO_NAME, failed.id))  # GitHub is back: "Re-run"
    bot.settle()
    (run,) = kb.check_runs(REPO_NAME)
    assert (run.id, run.conclusion, run.output.title, len(run.annotations)) == (failed.id, "failure", "2 errors in 1 file", 2)


# --- 6. rate limits -----------------------------------------------------------------------------------


def test_a_short_retry_after_is_waited_for_to_the_second(kb: FakeGitHub, bot: LiveBot) -> None:
    number = open_pr(kb, {"case_studies/meta/good.md": GOOD})
    kb.inject("pulls/list-files", 429, retry_after=1)
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    limited, again = kb.requests_of("pulls/list-files")
    assert (limited.status, again.status) == (429, 200)
    assert limited.at + 1 <= again.at < limited.at + 1.9
    assert [r for r in kb.requests if r.bucket == limited.bucket and limited.at < r.at < limited.at + 1] == []
    assert [r.conclusion for r in kb.check_runs(REPO_NAME)] == ["success"]


def test_a_long_retry_after_postpones_the_delivery_and_nothing_is_sent_meanwhile(kb: FakeGitHub, bot: LiveBot) -> None:
    number = open_pr(kb, {"case_studies/meta/good.md": GOOD})
    kb.inject("pulls/list-files", 403, retry_after=3)  # longer than a worker may sleep: rescheduled
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    limited = kb.requests_of("pulls/list-files")[0]
    later = [r for r in kb.requests if r.bucket == limited.bucket and r.at > limited.at]
    assert later and min(r.at for r in later) >= limited.at + 3
    assert [r.conclusion for r in kb.check_runs(REPO_NAME)] == ["success"]


# --- the webhook delivery log: what the sweep repairs ---------------------------------------------------


def test_a_delivery_the_app_missed_is_found_in_the_log_and_redelivered(kb: FakeGitHub, bot: LiveBot) -> None:
    kb.hooks.configure(bot.url + "/webhook", WEBHOOK_SECRET)
    number = open_pr(kb, {"case_studies/meta/broken.md": BROKEN})
    kb.hooks.send(kb.payloads.pull_request_event(REPO_NAME, number, "opened"), fail=502)  # the App was down
    kb.hooks.send(kb.payloads.ping_event(bot.url + "/webhook"))
    api = AppGateways(kb.app_id, kb.private_key_pem, kb.base_url, write_interval=None)
    missed, ping = api.hook_deliveries(None)
    assert [(d.event, d.status_code) for d in (missed, ping)] == [("pull_request", 502), ("ping", 200)]
    assert kb.check_runs(REPO_NAME) == []
    api.redeliver(missed.id)
    kb.hooks.wait()
    bot.settle()
    (again,) = api.hook_deliveries(ping.id)
    assert (again.guid, again.redelivery, again.status_code) == (missed.guid, True, 202)
    assert [r.conclusion for r in kb.check_runs(REPO_NAME)] == ["failure"]
    assert bot.store.get(missed.guid)["status"] == "done"
