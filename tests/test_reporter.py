"""One clear voice on the Files-changed tab: `review.reporter`, the same for the App and for Actions.

For each reporter, a pull request with four findings (two with a one-click fix: a misspelt tag
and a misnamed heading; one whose fix inserts a section; one warning without a fix) goes through
the App (signed webhook -> PyGithub -> fake GitHub) and through the Actions jobs (check, then
report, against the fake GitHub). Each finding is counted where GitHub shows it: annotations of
the check run and review comments on its line. The check job itself makes no annotations.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.core.config import load
from bot.core.linter import lint_text
from fakes import base_files
from helpers import GOOD, checkout
from test_actions_e2e import actions_env  # noqa: F401 - a fixture
from test_app_e2e import REPO_NAME, open_pr
from test_handlers import BROKEN

PATH = "case_studies/meta/findings.md"
TEXT = BROKEN.replace("tags: [loss-spikes]", "tags: [loss-spike]").replace("sources:\n  - https://example.org/paper\n", "sources: []\n")

# (annotations, review comments) of one finding with a one-click fix, and of any other finding.
EXPECTED = {
    "suggestions": ((1, 1), (1, 0)),
    "annotations": ((1, 0), (1, 0)),
    "inline": ((0, 1), (0, 1)),
    "both": ((1, 1), (1, 1)),
}


def _files(reporter: str) -> dict[str, bytes]:
    files = base_files()
    config = files[".github/challenge-bot.yml"]
    assert b"reporter: suggestions" in config
    files[".github/challenge-bot.yml"] = config.replace(b"reporter: suggestions", f"reporter: {reporter}".encode())
    return files


def _expected(reporter: str, root: Path) -> Counter:
    one_click, other = EXPECTED[reporter]
    findings = lint_text(PATH, TEXT, load(root))
    assert sorted(f.code for f in findings) == ["CS203", "CS208", "CS302", "CS303"]
    return Counter({(f.line, f.code): one_click if f.fix is not None and not f.fix.inserts else other for f in findings})


def _seen(fake, number: int) -> Counter:
    """Per finding (line, code): how many annotations and review comments GitHub shows."""
    (run,) = fake.check_runs(REPO_NAME)
    annotations = Counter((a["start_line"], a["title"].split()[0]) for a in run.annotations)
    comments = Counter((c.line, c.body.split("**")[1].split()[0]) for c in fake.review_comments(REPO_NAME, number))
    return Counter({key: (annotations[key], comments[key]) for key in annotations | comments})




@pytest.mark.parametrize("reporter", sorted(EXPECTED))
def test_the_app_shows_each_finding_where_the_reporter_says(fake_github, bot, tmp_path, reporter):
    fake_github.create_repo(REPO_NAME, files=_files(reporter))
    number = open_pr(fake_github, {PATH: TEXT})
    bot.deliver(fake_github.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    assert _seen(fake_github, number) == _expected(reporter, checkout(tmp_path / "kb", _files(reporter)))


@pytest.mark.parametrize("reporter", sorted(EXPECTED))
def test_actions_show_each_finding_where_the_reporter_says_and_only_once(fake_github, tmp_path, monkeypatch, capsys, actions_env, reporter):
    files = _files(reporter)
    fake_github.create_repo(REPO_NAME, files=files)
    number = open_pr(fake_github, {PATH: TEXT})
    actions_env(fake_github, fake_github.payloads.workflow_run_completed_event(REPO_NAME, number, conclusion="failure"))

    # The check job, as action.yml runs it: text on the log, the result for the report, no workflow commands.
    monkeypatch.chdir(checkout(tmp_path / "pull", files, {PATH: TEXT}))
    monkeypatch.setenv("GITHUB_SHA", fake_github.branch_sha(REPO_NAME, "contrib"))
    assert main(["check", "--changed-since", "HEAD^1", "--result", str(tmp_path / "result.json")]) == 1
    out = capsys.readouterr().out
    assert out.count(f"{PATH}:") == 4 and "::error" not in out and "::warning" not in out

    # The report job, on the default branch's checkout: the only place the findings are published.
    monkeypatch.chdir(checkout(tmp_path / "default", files))
    assert main(["report", "--result", str(tmp_path / "result.json")]) == 0
    assert _seen(fake_github, number) == _expected(reporter, tmp_path / "default")


def test_the_footer_names_only_the_commands_something_answers(fake_github, tmp_path, monkeypatch, capsys, actions_env):
    """Actions without the comment-commands workflow answer no command: the summary names none."""
    files = _files("suggestions")
    fake_github.create_repo(REPO_NAME, files=files)
    number = open_pr(fake_github, {PATH: GOOD})
    actions_env(fake_github, fake_github.payloads.workflow_run_completed_event(REPO_NAME, number))
    monkeypatch.chdir(checkout(tmp_path / "pull", files, {PATH: GOOD}))
    monkeypatch.setenv("GITHUB_SHA", fake_github.branch_sha(REPO_NAME, "contrib"))
    assert main(["check", "--changed-since", "HEAD^1", "--result", str(tmp_path / "result.json")]) == 0
    monkeypatch.chdir(checkout(tmp_path / "default", files))

    def footer() -> str:
        (summary,) = [c.body for c in fake_github.issue_comments(REPO_NAME, number)]
        return summary.rsplit("\n", 1)[1]

    assert main(["report", "--result", str(tmp_path / "result.json")]) == 0
    assert "/challenge-bot" not in footer() and "Push a commit to run the review again." in footer()
    assert main(["report", "--result", str(tmp_path / "result.json"), "--commands", "recheck,help"]) == 0
    assert "`/challenge-bot recheck`" in footer() and "`/challenge-bot help`" in footer() and "regenerate-index" not in footer()
    code = main(["report", "--result", str(tmp_path / "result.json"), "--commands", "recheck,deploy"])
    assert code == 2 and "unknown command 'deploy'" in capsys.readouterr().err


def test_the_app_footer_names_every_command(fake_github, bot):
    fake_github.create_repo(REPO_NAME, files=base_files())
    number = open_pr(fake_github, {PATH: GOOD})
    bot.deliver(fake_github.payloads.pull_request_event(REPO_NAME, number, "opened"))
    bot.settle()
    (summary,) = [c.body for c in fake_github.issue_comments(REPO_NAME, number)]
    assert all(f"`/challenge-bot {name}`" in summary for name in ("recheck", "regenerate-index", "help"))
