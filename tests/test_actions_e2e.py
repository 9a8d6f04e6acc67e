"""The Actions commands run as the workflows run them, against the fake GitHub over HTTP.

GITHUB_EVENT_PATH holds a schema-valid event, GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY are files, GITHUB_API_URL points at the fake. The report
must leave GitHub exactly as the App leaves it for the same pull request, and
refuse a hostile artifact without posting anything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from fake_github import FakeGitHub
from fakes import base_files
from helpers import GOOD, checkout
from test_app_e2e import REPO_NAME, open_pr
from test_handlers import BROKEN

TOKEN = "ghs_actions_token_for_tests"
PR_FILES = {"case_studies/meta/broken.md": BROKEN, "case_studies/huggingface/good.md": GOOD}
WRITES = {"checks/create", "checks/update", "issues/create-comment", "issues/update-comment", "pulls/create-review", "issues/add-labels", "issues/remove-label", "issues/create-label"}






@pytest.fixture
def actions_env(monkeypatch, tmp_path):
    def configure(fake: FakeGitHub, event: tuple[str, dict] | None = None) -> dict[str, Path]:
        fake.add_token(TOKEN)
        paths = {"output": tmp_path / "output.txt", "summary": tmp_path / "summary.md", "event": tmp_path / "event.json"}
        for path in paths.values():
            path.write_text("")
        if event is not None:
            paths["event"].write_text(json.dumps(event[1]))
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPO_NAME)
        monkeypatch.setenv("GITHUB_API_URL", fake.base_url)
        monkeypatch.setenv("GITHUB_OUTPUT", str(paths["output"]))
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(paths["summary"]))
        monkeypatch.setenv("GITHUB_EVENT_PATH", str(paths["event"]))
        return paths

    return configure


def run_check_job(tmp_path: Path, monkeypatch, head_sha: str, files: dict[str, str] = PR_FILES) -> Path:
    root = checkout(tmp_path / "checkout", base_files(), files)
    monkeypatch.chdir(root)
    monkeypatch.setenv("GITHUB_SHA", head_sha)
    summary = Path.cwd().parent / "summary.md"
    code = main(["check", "--format", "github", "--changed-since", "HEAD^1", "--summary", str(summary), "--result", "challenge-bot-result.json"])
    assert code == 1  # errors found: the job fails, and the result is still uploaded
    return root / "challenge-bot-result.json"


def run_report_job(result: Path, monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)  # the report job checks out the default branch
    capsys.readouterr()  # only what the report says counts
    code = main(["report", "--result", str(result), "--commands", "recheck,regenerate-index,help"])  # as case-studies-report.yml
    return code, capsys.readouterr().err


def github_state(fake: FakeGitHub, number: int) -> dict:
    """The pull request as GitHub shows it, with the head commit's id written as <head>
    (two fakes give the same content different commit ids)."""
    head = fake.branch_sha(REPO_NAME, "contrib")
    runs = fake.check_runs(REPO_NAME)
    state = {
        "check_runs": [(r.name, r.head_sha, r.status, r.conclusion, r.output.title, r.output.summary, r.annotations) for r in runs],
        "comments": [c.body for c in fake.issue_comments(REPO_NAME, number)],
        "reviews": [(r.state, r.body, r.commit_id) for r in fake.reviews(REPO_NAME, number)],
        "review_comments": [(c.path, c.line, c.side, c.start_line, c.body) for c in fake.review_comments(REPO_NAME, number)],
        "labels": sorted(fake.pr_labels(REPO_NAME, number)),
        "repo_labels": fake.labels(REPO_NAME),
    }
    return json.loads(json.dumps(state).replace(head, "<head>").replace(head[:7], "<head>"))


def test_report_leaves_github_as_the_app_does(fake_github, bot, actions_env, tmp_path, monkeypatch, capsys, snapshot):
    fake_github.create_repo(REPO_NAME, files=base_files())
    number = open_pr(fake_github, PR_FILES)
    bot.deliver(fake_github.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()

    with FakeGitHub() as actions_github:
        actions_github.create_repo(REPO_NAME, files=base_files())
        assert open_pr(actions_github, PR_FILES) == number
        head = actions_github.branch_sha(REPO_NAME, "contrib")
        paths = actions_env(actions_github, actions_github.payloads.workflow_run_completed_event(REPO_NAME, number, conclusion="failure"))
        result = run_check_job(tmp_path, monkeypatch, head)
        assert run_report_job(result, monkeypatch, capsys) == (0, "")
        assert paths["output"].read_text() == "outcome=reviewed\n"
        state = github_state(fake_github, number)
        assert len(state["check_runs"]) == 1 and len(state["comments"]) == 1 and len(state["review_comments"]) == 1
        assert state["labels"] == ["model: IDEFICS", "model: OPT-175B"]
        assert github_state(actions_github, number) == state
        assert {r.actor for r in actions_github.requests if r.operation_id in WRITES} == {"github-actions[bot]"}
        assert not actions_github.unexpected_violations()
    assert (tmp_path / "summary.md").read_text() == snapshot(name="job-summary")


def _tampered(result: Path, change) -> Path:
    data = json.loads(result.read_text())
    change(data)
    result.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return result


HOSTILE = {
    "path outside the case studies": (lambda d: d["findings"][0].update(path="README.md"), "the result names files outside case_studies/: README.md"),
    "path not in the pull request": (lambda d: d["findings"][0].update(path="case_studies/meta/invented.md"), "the result names files the pull request does not change: case_studies/meta/invented.md"),
    "result for another commit": (lambda d: d.update(head_sha="0" * 40), "the result is for commit 0000000, the workflow run for "),
    "record filed under another model": (lambda d: d["records"][0].update(model="bloomberg"), "the record for case_studies/huggingface/good.md does not match its model folder"),
    "dot-dot path": (lambda d: d["findings"][0].update(path="case_studies/../../etc/passwd"), "findings[0].path 'case_studies/../../etc/passwd' is not a plain relative path"),
    "html and mentions in a fix": (lambda d: d["findings"][0]["fix"].update(replacement="</details>```@everyone"), "findings[0].fix.replacement must be one line without backticks"),
    "unknown rule": (lambda d: d["findings"][0].update(code="CS999"), "findings[0].code 'CS999' is not a rule this bot knows"),
    "pull request number in the artifact": (lambda d: d.update(pull_request=2, number=2), None),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_artifact_is_refused_and_nothing_posted(fake_github, actions_env, tmp_path, monkeypatch, capsys, case):
    change, problem = HOSTILE[case]
    fake_github.create_repo(REPO_NAME, files=base_files())
    number = open_pr(fake_github, PR_FILES)
    other = open_pr(fake_github, {"case_studies/meta/other.md": GOOD}, branch="other")
    actions_env(fake_github, fake_github.payloads.workflow_run_completed_event(REPO_NAME, number))
    result = _tampered(run_check_job(tmp_path, monkeypatch, fake_github.branch_sha(REPO_NAME, "contrib")), change)
    fake_github.reset_counts()
    code, err = run_report_job(result, monkeypatch, capsys)
    if problem is None:  # identity never comes from the artifact: the event's pull request gets the review
        assert code == 0 and fake_github.issue_comments(REPO_NAME, other) == []
        assert len(fake_github.issue_comments(REPO_NAME, number)) == 1
        return
    assert code == 2 and err.startswith(f"challenge-bot: error: refusing the result: {problem}") and err.count("\n") == 1
    assert [r.operation_id for r in fake_github.requests if r.operation_id in WRITES] == []


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"{not json", "the result file is not JSON: "),
        (b" " * (5 * 1024 * 1024 + 1), "the result file is 5242881 bytes; at most 5242880 are accepted"),
    ],
)
def test_malformed_or_huge_artifacts_are_refused(fake_github, actions_env, tmp_path, monkeypatch, capsys, raw, problem):
    fake_github.create_repo(REPO_NAME, files=base_files())
    number = open_pr(fake_github, PR_FILES)
    actions_env(fake_github, fake_github.payloads.workflow_run_completed_event(REPO_NAME, number))
    result = tmp_path / "result.json"
    result.write_bytes(raw)
    code, err = run_report_job(result, monkeypatch, capsys)
    assert code == 2 and err.startswith(f"challenge-bot: error: refusing the result: {problem}")
    assert fake_github.count() == 0


def test_publish_index_commits_then_proposes_when_protected(fake_github, actions_env, monkeypatch, capsys):
    fake_github.create_repo(REPO_NAME, files=base_files())
    fake_github.commit(REPO_NAME, "main", {"case_studies/meta/good.md": GOOD}, author="maintainer")
    paths = actions_env(fake_github, fake_github.payloads.workflow_dispatch_event(REPO_NAME))
    assert main(["publish-index"]) == 0
    head = fake_github.commits(REPO_NAME, "main")[0]
    assert (head["message"], head["author"]) == ("Regenerate the case-study index [challenge-bot]", "github-actions[bot]")
    assert paths["output"].read_text() == f"outcome=committed\nsha={head['sha']}\npull_request=\n"
    assert main(["publish-index"]) == 0 and capsys.readouterr().out.endswith("The index is up to date.\n")

    fake_github.protect_branch(REPO_NAME, "main")
    fake_github.commit(REPO_NAME, "main", {"case_studies/meta/more.md": GOOD.replace("A good case study", "More")}, author="maintainer")
    assert main(["publish-index"]) == 0
    (rolling,) = [p for p in fake_github.pulls(REPO_NAME) if p.head == "challenge-bot/index"]
    assert b"More" in fake_github.file_at(REPO_NAME, "challenge-bot/index", "README.md")
    assert paths["output"].read_text().endswith(f"outcome=pull-request\nsha={fake_github.branch_sha(REPO_NAME, 'challenge-bot/index')}\npull_request={rolling.number}\n")


def test_a_result_for_a_file_the_pull_request_does_not_change_is_refused(fake_github, actions_env, tmp_path, monkeypatch, capsys):
    """A forged finding on a case study that exists but that the pull request leaves alone is
    refused; only a pull request that changes the rules (as GitHub lists its files) is checked whole."""
    fake_github.create_repo(REPO_NAME, files=base_files())
    fake_github.commit(REPO_NAME, "main", {"case_studies/meta/old.md": GOOD}, author="maintainer")
    number = open_pr(fake_github, PR_FILES)
    actions_env(fake_github, fake_github.payloads.workflow_run_completed_event(REPO_NAME, number))
    forged = _tampered(run_check_job(tmp_path, monkeypatch, fake_github.branch_sha(REPO_NAME, "contrib")), lambda d: d["findings"][0].update(path="case_studies/meta/old.md"))
    fake_github.reset_counts()
    code, err = run_report_job(forged, monkeypatch, capsys)
    assert (code, err) == (2, "challenge-bot: error: refusing the result: the result names files the pull request does not change: case_studies/meta/old.md\n")
    assert [r.operation_id for r in fake_github.requests if r.operation_id in WRITES] == []


def test_a_600_mb_result_is_refused_before_it_is_read(fake_github, actions_env, tmp_path):
    """Stat, then a bounded read: the report job never holds more than the limit in memory."""
    fake_github.create_repo(REPO_NAME, files=base_files())
    number = open_pr(fake_github, PR_FILES)
    actions_env(fake_github, fake_github.payloads.workflow_run_completed_event(REPO_NAME, number))
    huge = tmp_path / "challenge-bot-result.json"
    with open(huge, "wb") as handle:
        handle.truncate(600 * 1024 * 1024)  # sparse
    command = 'ulimit -v 400000; exec "$0" -m bot report --result "$1"'
    repo = Path(__file__).resolve().parent.parent
    result = subprocess.run(["bash", "-c", command, sys.executable, str(huge)], cwd=repo, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (2, f"challenge-bot: error: refusing the result: the result file is {600 * 1024 * 1024} bytes; at most {5 * 1024 * 1024} are accepted\n")
    assert fake_github.count() == 0


def test_links_images_html_and_mentions_in_the_artifact_stay_inert(fake_github, actions_env, tmp_path, monkeypatch, capsys):
    fake_github.create_repo(REPO_NAME, files=base_files())
    number = open_pr(fake_github, PR_FILES)
    actions_env(fake_github, fake_github.payloads.workflow_run_completed_event(REPO_NAME, number))
    hostile = "see [the fix](https://evil.example/x) ![pixel](https://evil.example/p.png) <img src=x> www.evil.example @octo/team \u202eright-to-left"

    def change(data: dict) -> None:
        for finding in data["findings"]:
            finding["message"] = hostile
        data["records"][0]["title"] = "[Click me](https://evil.example)"

    result = _tampered(run_check_job(tmp_path, monkeypatch, fake_github.branch_sha(REPO_NAME, "contrib")), change)
    assert run_report_job(result, monkeypatch, capsys) == (0, "")
    (run,) = fake_github.check_runs(REPO_NAME)
    (summary,) = [c.body for c in fake_github.issue_comments(REPO_NAME, number)]
    (suggestion,) = [c.body for c in fake_github.review_comments(REPO_NAME, number)]
    for body in (summary, suggestion, run.output.summary):
        for live in ("](https://evil", "<img", "www.evil", "@octo", "[Click me]", "\u202e"):
            assert live not in body, live
    assert "see \\[the fix\\](https\u200b://evil.example/x) !\\[pixel\\](https\u200b://evil.example/p.png) &lt;img src=x&gt;" in summary
    assert "\\\\u202eright-to-left" in summary
    assert [a["message"].split("\n")[0].endswith(" \\u202eright-to-left") for a in run.annotations] == [True, True]  # plain text, escaped
