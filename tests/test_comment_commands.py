"""The comment-commands workflow's job, end to end against the fake GitHub: what
`case-studies-commands.yml` runs (`challenge-bot comment-command` on the issue_comment event,
with the workflow's token) answers the commands as the App does.

The job runs in a folder that holds no checkout of the pull request: everything it knows of the
pull request comes through the API, as data. The permission for regenerate-index comes from
GitHub's API, never from the event.
"""

from __future__ import annotations

import json
import sys

import pytest

from bot.cli.main import main
from bot.core import messages as m
from fakes import base_files
from helpers import GOOD
from test_actions_e2e import TOKEN
from test_app_e2e import REPO_NAME, open_pr
from test_handlers import BROKEN

ACTIONS_BOT = "github-actions[bot]"


@pytest.fixture
def job(fake_github, tmp_path, monkeypatch, capsys):
    """Run the job for one event; returns (exit status, stdout, GITHUB_OUTPUT)."""
    fake_github.create_repo(REPO_NAME, files=base_files())
    fake_github.add_token(TOKEN)
    empty = tmp_path / "runner"  # no checkout: the job needs none
    empty.mkdir()
    monkeypatch.chdir(empty)
    for name, value in {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO_NAME, "GITHUB_API_URL": fake_github.base_url}.items():
        monkeypatch.setenv(name, value)

    def run(event: tuple[str, dict]) -> tuple[int, str, str]:
        path, output = tmp_path / "event.json", tmp_path / "output.txt"
        path.write_text(json.dumps(event[1]))
        output.write_text("")
        monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
        monkeypatch.setenv("GITHUB_OUTPUT", str(output))
        capsys.readouterr()
        code = main(["comment-command"])
        out, err = capsys.readouterr()
        assert code == 0 or err, "a failure says why"
        print(err, end="", file=sys.stderr)
        return code, out, output.read_text()

    return run


def _replies(fake, number: int) -> list[str]:
    return [c.body for c in fake.issue_comments(REPO_NAME, number) if c.user == ACTIONS_BOT]


def test_help_and_unknown_commands_are_answered(fake_github, job):
    number = open_pr(fake_github, {"case_studies/meta/good.md": GOOD})
    assert job(fake_github.payloads.issue_comment_event(REPO_NAME, number, "/challenge-bot help\n/challenge-bot deploy", "contributor")) == (
        0, "challenge-bot: commands: help, deploy\n", "outcome=commands: help, deploy\n"
    )
    help_reply, unknown = _replies(fake_github, number)
    assert help_reply.endswith(m.COMMANDS) and "@contributor, I know these commands" in help_reply
    assert "I don't know the command `deploy`" in unknown


def test_recheck_reviews_the_pull_request_through_the_api(fake_github, job):
    number = open_pr(fake_github, {"case_studies/meta/broken.md": BROKEN})
    head = fake_github.branch_sha(REPO_NAME, "contrib")
    assert job(fake_github.payloads.issue_comment_event(REPO_NAME, number, "/challenge-bot recheck", "contributor"))[0] == 0
    (run,) = fake_github.check_runs(REPO_NAME)
    assert (run.name, run.head_sha, run.conclusion) == ("challenge-bot", head, "failure")
    summary, reply = [c.body for c in fake_github.issue_comments(REPO_NAME, number)][1:]
    assert summary.startswith(m.SUMMARY_MARKER) and "`/challenge-bot regenerate-index`" in summary
    assert f"I reviewed commit `{head[:7]}` again" in reply
    assert {r.actor for r in fake_github.requests if r.method != "GET"} == {ACTIONS_BOT}


@pytest.mark.parametrize(("login", "role", "commits"), [("reader", "read", False), ("keeper", "maintain", True)])
def test_regenerate_index_asks_github_for_the_commenters_permission(fake_github, job, login, role, commits):
    fake_github.add_collaborator(REPO_NAME, login, role)
    fake_github.commit(REPO_NAME, "main", {"case_studies/meta/good.md": GOOD}, author="maintainer")
    number = open_pr(fake_github, {"docs/x.md": "x\n"})
    before = fake_github.branch_sha(REPO_NAME, "main")
    event = fake_github.payloads.issue_comment_event(REPO_NAME, number, "/challenge-bot regenerate-index", login)
    event[1]["comment"]["author_association"] = "OWNER"  # what the event claims counts for nothing
    fake_github.reset_counts()
    assert job(event)[0] == 0
    assert fake_github.count("repos/get-collaborator-permission-level") == 1
    (reply,) = _replies(fake_github, number)
    assert (fake_github.branch_sha(REPO_NAME, "main") != before) is commits
    if commits:
        head = fake_github.commits(REPO_NAME, "main")[0]
        assert (head["message"], head["author"]) == (m.INDEX_COMMIT_MESSAGE, ACTIONS_BOT)
        assert f"I regenerated the index: commit `{head['sha'][:7]}` on `main`" in reply
    else:
        assert f"needs write, maintain or admin permission on this repository, and yours is `{role}`" in reply


def test_comments_without_a_command_or_from_bots_are_left_alone(fake_github, job):
    number = open_pr(fake_github, {"case_studies/meta/good.md": GOOD})
    fake_github.reset_counts()
    assert job(fake_github.payloads.issue_comment_event(REPO_NAME, number, "Looks good to me.", "contributor"))[1:] == (
        "challenge-bot: ignored: no command for the bot\n", "outcome=ignored: no command for the bot\n"
    )
    quoted = fake_github.payloads.issue_comment_event(REPO_NAME, number, "> /challenge-bot regenerate-index\n\nWhy not?", "contributor")
    assert job(quoted)[1] == "challenge-bot: commands: none\n"  # a quoted command is not run
    own = fake_github.payloads.issue_comment_event(REPO_NAME, number, "I know these:\n\n/challenge-bot help", ACTIONS_BOT)
    assert job(own)[1] == "challenge-bot: ignored: no command for the bot\n"
    assert [r.operation_id for r in fake_github.requests if r.method != "GET"] == []


def test_a_re_run_of_the_job_answers_once(fake_github, job):
    number = open_pr(fake_github, {"case_studies/meta/good.md": GOOD})
    event = fake_github.payloads.issue_comment_event(REPO_NAME, number, "/challenge-bot help", "contributor")
    assert job(event)[0] == 0 and job(event)[0] == 0
    assert len(_replies(fake_github, number)) == 1


def test_a_hostile_event_file_is_refused_before_it_is_read(fake_github, job, tmp_path, monkeypatch, capsys):
    big = tmp_path / "event-big.json"
    with open(big, "wb") as handle:
        handle.truncate(26 * 1024 * 1024)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(big))
    assert main(["comment-command"]) == 2
    assert capsys.readouterr().err == f"challenge-bot: error: refusing the event: the event file is {26 * 1024 * 1024} bytes; at most {25 * 1024 * 1024} are accepted\n"
    assert fake_github.count() == 0
