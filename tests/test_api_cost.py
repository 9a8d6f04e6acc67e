"""What a review and an index regeneration ask of GitHub, counted by the fake GitHub (never timed).

The App reads blobs in batches (GraphQL, 100 to a query), so a review costs the same few
requests whatever the pull request adds, modifies or renames; it remembers what it wrote
(in the store), so a push to a pull request it reviewed before costs at most four; and it
remembers each case study's index record by blob, so a restarted service regenerating the
index reads only what changed. ``bench/api_calls.py`` prints the figures at scale.
"""

from __future__ import annotations

from collections import Counter

import pytest

from fakes import base_files
from helpers import GOOD

REPO = "octo/kb"
MODELS = ("meta", "huggingface", "bloomberg")


def case(i: int, words: str = "") -> str:
    return GOOD.replace("PC-0001", f"PC-{i + 1:04d}").replace("A good case study", f"Case study {i}{words}")


def path(i: int) -> str:
    return f"case_studies/{MODELS[i % 3]}/case-{i:04d}.md"


@pytest.fixture
def kb(fake_github):
    fake_github.create_repo(REPO, files=base_files() | {path(i): case(i) for i in range(120)})
    return fake_github


def open_pull(kb, branch: str, changes: dict) -> int:
    kb.create_branch(REPO, branch)
    kb.commit(REPO, branch, changes, author="contributor")
    return kb.open_pull_request(REPO, branch)


def calls(kb, bot, event) -> Counter:
    kb.reset_counts()
    assert bot.deliver(event).status_code == 202
    bot.settle()
    return Counter(r.operation_id for r in kb.requests if r.status != 304)


def conclusions(kb, branch: str) -> list[str | None]:
    return [r.conclusion for r in kb.check_runs(REPO) if r.head_sha == kb.branch_sha(REPO, branch)]


def test_a_review_reads_modified_and_renamed_files_in_batches(kb, bot):
    warm_up = open_pull(kb, "warm-up", {f"case_studies/{m}/warm.md": case(900 + i, " warm") for i, m in enumerate(MODELS)})
    calls(kb, bot, kb.payloads.pull_request_event(REPO, warm_up, "opened"))
    changes = {path(i): case(i, " edited") for i in range(101)} | {path(110): None, path(110).replace("case-", "moved-"): case(110)}
    number = open_pull(kb, "many", changes)
    found = calls(kb, bot, kb.payloads.pull_request_event(REPO, number, "opened"))
    assert conclusions(kb, "many") == ["success"]
    assert found["graphql"] == 2  # 102 blobs: 100 to a query
    assert "git/get-blob" not in found and "repos/get-content" not in found
    assert found == Counter({  # GitHub lists 100 files to a page
        "pulls/list-files": 2, "graphql": 2, "checks/list-for-ref": 1, "checks/create": 1,  # the pull request rides in a query
        "issues/list-comments": 1, "issues/create-comment": 1, "issues/add-labels": 1,
    })


def test_a_push_to_a_pull_request_reviewed_before_costs_four_requests(kb, bot):
    number = open_pull(kb, "pr", {"case_studies/meta/new.md": case(500)})
    calls(kb, bot, kb.payloads.pull_request_event(REPO, number, "opened"))
    kb.commit(REPO, "pr", {"case_studies/meta/new.md": case(500, " again")}, author="contributor")
    found = calls(kb, bot, kb.payloads.pull_request_event(REPO, number, "synchronize"))
    assert found == Counter({"pulls/list-files": 1, "pulls/get": 1, "checks/create": 1, "issues/update-comment": 1})
    assert conclusions(kb, "pr") == ["success"] and len(kb.issue_comments(REPO, number)) == 1


def test_a_push_editing_a_case_study_of_the_base_costs_four_requests(kb, bot):
    number = open_pull(kb, "pr", {"case_studies/meta/new.md": case(500)})
    calls(kb, bot, kb.payloads.pull_request_event(REPO, number, "opened"))
    kb.commit(REPO, "pr", {path(0): case(0, " edited")}, author="contributor")
    found = calls(kb, bot, kb.payloads.pull_request_event(REPO, number, "synchronize"))
    assert found == Counter({"pulls/list-files": 1, "graphql": 1, "checks/create": 1, "issues/update-comment": 1})
    assert conclusions(kb, "pr") == ["success"] and len(kb.issue_comments(REPO, number)) == 1


def test_after_a_restart_the_index_is_regenerated_reading_only_what_changed(kb, make_bot):
    first = make_bot()
    number = open_pull(kb, "one", {"case_studies/meta/one.md": case(600)})
    kb.merge_pull_request(REPO, number)
    cold = calls(kb, first, kb.payloads.pull_request_event(REPO, number, "closed"))
    assert cold["graphql"] == 2  # 121 case studies and the generated files, in batches
    first.service.stop()
    restarted = make_bot()  # a new process: nothing in its own cache, the records in the store
    number = open_pull(kb, "two", {"case_studies/meta/two.md": case(601)})
    kb.merge_pull_request(REPO, number)
    found = calls(kb, restarted, kb.payloads.pull_request_event(REPO, number, "closed"))
    assert found["graphql"] == 1 and "git/get-blob" not in found  # the new case study and the generated files
    assert b"two.md" in (kb.file_at(REPO, "main", "case_studies/index.json") or b"")
