"""The Actions front end gives the same review as the App, from an artifact it does not trust."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.github import result as result_mod
from bot.github.actions import report
from bot.cli.main import main
from bot.core.commands import KNOWN
from bot.core.config import load
from bot.core.payload import PayloadError
from bot.github.remote import Cache
from bot.github.result import ResultError
from fakes import FakeGateway, base_files
from helpers import GOOD
from test_handlers import BROKEN, pr_event, run

FILES = {"case_studies/meta/broken.md": BROKEN.encode(), "case_studies/huggingface/good.md": GOOD.encode()}


def checkout(tmp_path: Path, files: dict[str, bytes]) -> Path:
    for rel, data in (base_files() | files).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    return tmp_path


def run_check(root: Path, monkeypatch, head_sha: str, paths: list[str]) -> bytes:
    monkeypatch.chdir(root)
    monkeypatch.setenv("GITHUB_SHA", head_sha)
    main(["check", "--format", "github", "--result", "result.json", "--summary", "summary.md", *paths])
    return (root / "result.json").read_bytes()


def workflow_run_event(gw: FakeGateway, number: int) -> dict:
    head = gw.pull_request(number).head_sha
    return {"workflow_run": {"head_sha": head, "head_branch": f"pr-{number}", "pull_requests": [{"number": number, "head": {"sha": head}}], "head_repository": {"owner": {"login": "octo"}}}}


def state(gw: FakeGateway, number: int) -> tuple:
    return (
        gw.runs,
        [c.body for c in gw.comments.get(number, [])],
        [(r["commit_id"], r["body"], r["comments"]) for r in gw.reviews.get(number, [])],
        gw.pr_labels[number],
        gw.repo_labels,
    )


def test_report_leaves_the_same_state_as_the_app(tmp_path, monkeypatch, snapshot):
    app_gw, actions_gw = FakeGateway(), FakeGateway()
    number = app_gw.open_pull(FILES)
    assert actions_gw.open_pull(FILES) == number
    run(app_gw, "pull_request", pr_event(app_gw, number))

    head = actions_gw.pull_request(number).head_sha
    raw = run_check(checkout(tmp_path, FILES), monkeypatch, head, sorted(FILES))
    cfg = load(tmp_path)
    # With the comment-commands workflow, Actions answers every command the App does: the same footer.
    assert report(actions_gw, workflow_run_event(actions_gw, number), result_mod.load(raw), cfg, Cache(), KNOWN) == "reviewed"
    assert state(actions_gw, number) == state(app_gw, number)
    assert (tmp_path / "summary.md").read_text() == snapshot(name="job-summary")


def test_a_result_naming_files_outside_the_pull_request_is_refused(tmp_path, monkeypatch):
    gw = FakeGateway()
    number = gw.open_pull(FILES)
    data = json.loads(run_check(checkout(tmp_path, FILES), monkeypatch, gw.pull_request(number).head_sha, sorted(FILES)))
    data["findings"][0]["path"] = "case_studies/meta/elsewhere.md"
    with pytest.raises(ResultError, match="^the result names files the pull request does not change: case_studies/meta/elsewhere.md$"):
        report(gw, workflow_run_event(gw, number), result_mod.load(json.dumps(data).encode()), load(tmp_path), Cache())
    assert (gw.runs, gw.comments, gw.reviews) == ([], {}, {})


def test_the_pull_request_comes_from_the_event_even_if_the_artifact_says_otherwise(tmp_path, monkeypatch):
    gw = FakeGateway()
    first = gw.open_pull(FILES)
    second = gw.open_pull({"case_studies/meta/other.md": GOOD.encode()})
    raw = run_check(checkout(tmp_path, FILES), monkeypatch, gw.pull_request(first).head_sha, sorted(FILES))
    data = json.loads(raw) | {"pull_request": second, "number": second}  # ignored keys: the event decides
    report(gw, workflow_run_event(gw, first), result_mod.load(json.dumps(data).encode()), load(tmp_path), Cache())
    assert len(gw.comments[first]) == 1 and second not in gw.comments


def test_a_stale_workflow_run_posts_nothing(tmp_path, monkeypatch):
    gw = FakeGateway()
    number = gw.open_pull(FILES)
    event = workflow_run_event(gw, number)
    raw = run_check(checkout(tmp_path, FILES), monkeypatch, event["workflow_run"]["head_sha"], sorted(FILES))
    gw.push(f"pr-{number}", {"case_studies/meta/broken.md": GOOD.encode()})  # pushed while the workflow ran
    assert report(gw, event, result_mod.load(raw), load(tmp_path), Cache()) == "stale"
    assert gw.runs == [] and gw.comments == {}


def test_a_fork_pull_request_is_found_by_its_head(tmp_path, monkeypatch):
    gw = FakeGateway()
    number = gw.open_pull(FILES)
    event = workflow_run_event(gw, number)
    event["workflow_run"]["pull_requests"] = []  # GitHub leaves this empty for forks
    raw = run_check(checkout(tmp_path, FILES), monkeypatch, event["workflow_run"]["head_sha"], sorted(FILES))
    assert report(gw, event, result_mod.load(raw), load(tmp_path), Cache()) == "reviewed"
    event["workflow_run"]["head_sha"] = "c" * 40  # a run for a commit the pull request no longer has
    moved = json.loads(raw) | {"head_sha": "c" * 40}
    assert report(gw, event, result_mod.load(json.dumps(moved).encode()), load(tmp_path), Cache()) == "stale"
    event["workflow_run"]["head_branch"] = "no-such-branch"
    with pytest.raises(PayloadError, match="^no open pull request has head ccccccc$"):
        report(gw, event, result_mod.load(json.dumps(moved).encode()), load(tmp_path), Cache())
