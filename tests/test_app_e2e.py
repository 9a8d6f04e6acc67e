"""End to end through real HTTP: signed delivery -> app -> workers -> PyGithub -> fake GitHub.

Every assertion is on the fake's state; every exchange is checked against
GitHub's OpenAPI description by the fake itself.
"""

from __future__ import annotations

import pytest
import requests

from bot.core import messages as m
from conftest import without_sha
from fakes import base_files
from helpers import GOOD
from test_handlers import BROKEN

REPO_NAME = "octo/kb"


@pytest.fixture
def kb(fake_github):
    fake_github.create_repo(REPO_NAME, files=base_files())
    return fake_github


def open_pr(fake, files: dict[str, bytes | str | None], branch: str = "contrib", author: str = "contributor") -> int:
    fake.create_branch(REPO_NAME, branch)
    fake.commit(REPO_NAME, branch, files, author=author)
    return fake.open_pull_request(REPO_NAME, branch, author=author)


def pushed(fake, branch: str, files: dict) -> None:
    fake.commit(REPO_NAME, branch, files, author="contributor")


def summaries(fake, number: int) -> list:
    return [c for c in fake.issue_comments(REPO_NAME, number) if c.body.startswith(m.SUMMARY_MARKER)]


def test_a_pull_request_gets_a_check_run_summary_suggestions_and_labels(kb, bot, snapshot):
    kb.create_label(REPO_NAME, "needs review", color="fbca04")
    number = open_pr(kb, {"case_studies/meta/broken.md": BROKEN, "case_studies/huggingface/good.md": GOOD})
    head = kb.branch_sha(REPO_NAME, "contrib")
    assert bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened")).json() == {"status": "queued"}
    bot.settle()

    (run,) = kb.check_runs(REPO_NAME)
    assert (run.name, run.head_sha, run.status, run.conclusion, run.output.title) == ("challenge-bot", head, "completed", "failure", "2 errors in 2 files")
    assert [(a["path"], a["start_line"], a["annotation_level"], a["title"]) for a in run.annotations] == [
        ("case_studies/meta/broken.md", 22, "failure", "CS208 section-name-variant"),
        ("case_studies/meta/broken.md", 25, "failure", "CS203 missing-section"),
    ]
    assert without_sha(run.output.summary, head) == snapshot(name="check-run-summary")
    (summary,) = summaries(kb, number)
    assert summary.user == "challenge-bot[bot]"
    assert without_sha(summary.body, head) == snapshot(name="summary-comment")
    (review,) = kb.reviews(REPO_NAME, number)
    assert (review.state, review.commit_id) == ("COMMENTED", head)
    assert review.body == snapshot(name="review")
    # review.reporter suggestions: every finding is annotated above; a review comment only carries a one-click fix.
    (comment,) = kb.review_comments(REPO_NAME, number)
    assert (comment.path, comment.line, comment.side) == ("case_studies/meta/broken.md", 22, "RIGHT")
    assert comment.body == snapshot(name="inline-CS208-suggestion")
    assert sorted(kb.pr_labels(REPO_NAME, number)) == ["model: IDEFICS", "model: OPT-175B"]
    assert kb.labels(REPO_NAME) == {
        "needs review": {"color": "fbca04", "description": None},
        "model: IDEFICS": {"color": "ffd21e", "description": "Case studies from Hugging Face M4's IDEFICS pretraining runs"},
        "model: OPT-175B": {"color": "0866ff", "description": "Case studies from Meta AI's OPT-175B pretraining run"},
    }


def test_three_pushes_one_summary_comment_edited_in_place(kb, bot, snapshot):
    number = open_pr(kb, {"case_studies/meta/broken.md": BROKEN})
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    pushed(kb, "contrib", {"case_studies/meta/broken.md": BROKEN + "\nMore.\n"})
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "synchronize"))
    bot.settle()
    pushed(kb, "contrib", {"case_studies/meta/broken.md": GOOD})
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "synchronize"))
    bot.settle()
    (summary,) = summaries(kb, number)
    head = kb.branch_sha(REPO_NAME, "contrib")
    assert without_sha(summary.body, head) == snapshot(name="summary-comment-all-clear")
    assert [r.conclusion for r in kb.check_runs(REPO_NAME)] == ["failure", "failure", "success"]
    assert len(kb.review_comments(REPO_NAME, number)) == 1  # the suggestion made once


def test_labels_are_synced_and_human_labels_left_alone(kb, bot):
    kb.create_label(REPO_NAME, "model: BloombergGPT", color="6e40c9", description="x")
    number = open_pr(kb, {"case_studies/meta/a.md": GOOD, "case_studies/huggingface/b.md": GOOD})
    fake_label = requests.post(  # a maintainer labels the pull request
        f"{kb.base_url}/repos/{REPO_NAME}/issues/{number}/labels",
        json={"labels": ["model: BloombergGPT", "needs review"]},
        headers={"Authorization": f"token {kb.installation_token()}"},
        timeout=10,
    )
    assert fake_label.status_code == 200
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    assert sorted(kb.pr_labels(REPO_NAME, number)) == ["model: IDEFICS", "model: OPT-175B", "needs review"]
    pushed(kb, "contrib", {"case_studies/huggingface/b.md": None})
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "synchronize"))
    bot.settle()
    assert sorted(kb.pr_labels(REPO_NAME, number)) == ["model: OPT-175B", "needs review"]


def test_merge_commits_the_index_and_a_protected_branch_gets_a_rolling_pr(kb, bot):
    number = open_pr(kb, {"case_studies/meta/good.md": GOOD})
    kb.merge_pull_request(REPO_NAME, number)
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "closed"))
    bot.settle()
    head = kb.commits(REPO_NAME, "main")[0]
    assert (head["message"], head["author"]) == ("Regenerate the case-study index [challenge-bot]", "challenge-bot[bot]")
    readme = kb.file_at(REPO_NAME, "main", "README.md").decode()
    assert "| [A good case study](case_studies/meta/good.md) | The loss spiked at step 14,500. | [`loss-spikes`](#loss-spikes) |" in readme
    assert kb.file_at(REPO_NAME, "main", "case_studies/index.json").startswith(b'{\n  "$schema": "https://raw.githubusercontent.com/pretraining-challenges/pretraining-challenges/main/docs/index.schema.json",\n  "version": 2,')

    kb.protect_branch(REPO_NAME, "main")
    second = open_pr(kb, {"case_studies/bloomberg/other.md": GOOD.replace("A good case study", "Another")}, branch="second")
    kb.merge_pull_request(REPO_NAME, second)
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, second, "closed"))
    bot.settle()
    rolling = [p for p in kb.pulls(REPO_NAME) if p.head == m.INDEX_BRANCH]
    assert [(p.state, p.base, p.title) for p in rolling] == [("open", "main", "Regenerate the case-study index")]
    assert b"Another" in kb.file_at(REPO_NAME, m.INDEX_BRANCH, "README.md")
    assert b"Another" not in kb.file_at(REPO_NAME, "main", "README.md")


def test_pushes_by_the_bot_itself_are_ignored(kb, bot):
    number = open_pr(kb, {"case_studies/meta/good.md": GOOD})
    before = kb.branch_sha(REPO_NAME, "main")
    kb.merge_pull_request(REPO_NAME, number)
    bot.deliver(kb.payloads.push_event(REPO_NAME, "main", before, kb.branch_sha(REPO_NAME, "main")))
    bot.settle()
    ours = kb.branch_sha(REPO_NAME, "main")
    event = kb.payloads.push_event(REPO_NAME, "main", kb.commits(REPO_NAME, "main")[1]["sha"], ours)
    assert bot.deliver(event).json() == {"status": "ignored"}


@pytest.mark.parametrize(("login", "role", "changes"), [("reader", "read", False), ("keeper", "maintain", True)])
def test_regenerate_index_command_is_gated_by_permission(kb, bot, snapshot, login, role, changes):
    kb.add_collaborator(REPO_NAME, login, role)
    kb.commit(REPO_NAME, "main", {"case_studies/meta/good.md": GOOD}, author="maintainer")
    number = open_pr(kb, {"docs/x.md": "x\n"})
    before = kb.branch_sha(REPO_NAME, "main")
    bot.deliver(kb.payloads.issue_comment_event(REPO_NAME, number, "/challenge-bot regenerate-index", login))
    bot.settle()
    (reply,) = [c.body for c in kb.issue_comments(REPO_NAME, number) if c.user == "challenge-bot[bot]"]
    assert without_sha(reply, kb.branch_sha(REPO_NAME, "main")) == snapshot(name="reply")
    assert (kb.branch_sha(REPO_NAME, "main") != before) is changes


def test_the_same_delivery_ten_times_is_processed_once(kb, bot):
    number = open_pr(kb, {"case_studies/meta/good.md": GOOD})
    event = kb.payloads.pull_request_event(REPO_NAME, number, "opened")
    answers = [bot.deliver(event, delivery_id="one-and-the-same").json()["status"] for _ in range(10)]
    bot.settle()
    assert answers == ["queued"] + ["duplicate"] * 9
    assert len(kb.check_runs(REPO_NAME)) == 1 and len(summaries(kb, number)) == 1


def test_a_delivery_for_an_old_head_reviews_the_current_head(kb, bot):
    number = open_pr(kb, {"case_studies/meta/broken.md": BROKEN})
    stale = kb.payloads.pull_request_event(REPO_NAME, number, "opened")
    pushed(kb, "contrib", {"case_studies/meta/broken.md": GOOD})  # the head moves on before the worker runs
    bot.deliver(stale)
    bot.settle()
    (run,) = kb.check_runs(REPO_NAME)  # the old head's result is never published; the current head's is
    assert (run.head_sha, run.conclusion) == (kb.branch_sha(REPO_NAME, "contrib"), "success")
    assert len(summaries(kb, number)) == 1
    assert bot.store.counts() == {"done": 1}


def test_faults_are_retried_without_double_posting(kb, bot):
    number = open_pr(kb, {"case_studies/meta/broken.md": BROKEN})
    kb.inject("pulls/list-files", status=502)  # retried by the client
    kb.inject("git/get-blob", status=403, retry_after=1, body={"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."})
    kb.inject("issues/create-comment", status=502, after_apply=True)  # the comment lands, the answer is lost
    kb.inject("checks/create", delay=1.5, status=None)  # a slow answer
    bot.service.backoff = 0.1
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    assert len(summaries(kb, number)) == 1
    assert [r.conclusion for r in kb.check_runs(REPO_NAME)] == ["failure"]  # the retried delivery finds its check run
    assert len(kb.review_comments(REPO_NAME, number)) == 1  # the one suggestion, once
    row = bot.store.get(_only_delivery(bot))
    assert (row["status"], row["attempts"], row["outcome"]) == ("done", 2, "reviewed")


def _only_delivery(bot) -> str:
    import sqlite3

    with sqlite3.connect(bot.store.path) as db:
        (delivery,) = [r[0] for r in db.execute("SELECT id FROM deliveries")]
    return delivery


def test_binary_non_utf8_and_odd_paths_in_a_pull_request(kb, bot):
    number = open_pr(
        kb,
        {
            "case_studies/meta/latin.md": GOOD.encode().replace(b"spiked", b"spik\xe9d"),
            "case_studies/meta/assets/loss.png": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\0" * 64,
            "case_studies/meta/assets/dump.zip": b"PK\x03\x04" + b"\0" * 32,
            "case_studies/meta/" + "very-long-name-" * 12 + "x.md": GOOD,
        },
    )
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    (run,) = kb.check_runs(REPO_NAME)
    assert sorted((a["path"], a["title"]) for a in run.annotations) == [
        ("case_studies/meta/assets/dump.zip", "CS104 unexpected-file"),
        ("case_studies/meta/latin.md", "CS304 not-utf8"),
    ]
    assert bot.store.counts() == {"done": 1}


def test_more_than_fifty_findings_are_sent_in_batches_of_fifty(kb, bot):
    config = kb.file_at(REPO_NAME, "main", ".github/challenge-bot.yml").replace(b"reporter: suggestions", b"reporter: both")
    kb.commit(REPO_NAME, "main", {".github/challenge-bot.yml": config}, author="maintainer")  # comments on every finding
    many = GOOD + "".join(f"\n## Extra section {i}\n\nText.\n" for i in range(61))
    number = open_pr(kb, {"case_studies/meta/many.md": many})
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    (run,) = kb.check_runs(REPO_NAME)
    assert [a["title"] for a in run.annotations] == ["CS207 unknown-section"] * 61
    assert (kb.count("checks/create"), kb.count("checks/update")) == (1, 1)
    assert len(kb.review_comments(REPO_NAME, number)) == 25  # review.max_inline_comments; the summary lists all


def test_a_race_on_the_default_branch_is_re_read_and_retried(kb, bot):
    number = open_pr(kb, {"case_studies/meta/good.md": GOOD})
    kb.merge_pull_request(REPO_NAME, number)
    kb.inject_conflict_on_next_update_ref(REPO_NAME, "main", {"case_studies/meta/late.md": GOOD.replace("A good case study", "Landed meanwhile")})
    bot.deliver(kb.payloads.pull_request_event(REPO_NAME, number, "closed"))
    bot.settle()
    newest, raced = kb.commits(REPO_NAME, "main")[:2]
    assert (newest["message"], raced["author"]) == ("Regenerate the case-study index [challenge-bot]", "someone-else")
    readme = kb.file_at(REPO_NAME, "main", "README.md").decode()
    assert "[Landed meanwhile](case_studies/meta/late.md)" in readme and "[A good case study](case_studies/meta/good.md)" in readme
    assert kb.count("git/update-ref") == 2
