"""The Actions workflows: offline linters, and the security properties we promise, checked on the YAML."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is a test dependency (pip install -e '.[test]')"
    return found


def test_every_workflow_is_in_the_readme_table_and_every_row_is_a_workflow():
    """The README's table of workflows and the directory agree, however many there are."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `([\w.-]+\.ya?ml)` \|", readme, flags=re.M)
    assert WORKFLOWS, "no workflow found under .github/workflows"
    assert sorted(documented) == [p.name for p in WORKFLOWS]


def test_the_report_workflow_runs_after_a_workflow_that_exists():
    names = {_load(p).get("name") for p in WORKFLOWS}
    for path in WORKFLOWS:
        on = _load(path)["on"]
        triggered_by = (on.get("workflow_run") or {}).get("workflows", []) if isinstance(on, dict) else []
        assert set(triggered_by) <= names, f"{path.name} waits for a workflow that does not exist"


def test_zizmor_offline_has_no_findings():
    targets = [str(REPO / ".github" / "workflows"), str(REPO / "action.yml")]
    result = subprocess.run([_tool("zizmor"), "--offline", "--no-progress", *targets], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_workflows_and_the_action_match_githubs_schemas():
    result = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    result = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(REPO / "action.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_job_makes_no_annotations_of_its_own():
    """The report publishes each finding once (review.reporter); workflow commands from the check job would repeat them."""
    action = (REPO / "action.yml").read_text()
    assert "--format github" not in action and "::error" not in action and "::warning" not in action
    check = _load(REPO / ".github/workflows/case-studies.yml")["jobs"]["check"]["steps"]
    assert [s["with"]["command"] for s in check if s.get("uses") == "./"] == ["check"]


def test_the_comment_commands_workflow_runs_only_default_branch_code_for_people():
    workflow = _load(REPO / ".github/workflows/case-studies-commands.yml")
    assert workflow["on"] == {"issue_comment": {"types": ["created"]}}
    (job,) = workflow["jobs"].values()
    assert "github.event.comment.user.type != 'Bot'" in job["if"] and "'/challenge-bot'" in job["if"]
    assert job["permissions"] == {"checks": "write", "contents": "write", "issues": "write", "pull-requests": "write"}
    checkout, answer = job["steps"]
    assert "ref" not in checkout["with"] and "repository" not in checkout["with"], "only the default branch is checked out"
    assert (answer["uses"], answer["with"]) == ("./", {"command": "comment-command"})


def test_the_report_names_the_commands_the_commands_workflow_answers():
    report = _load(REPO / ".github/workflows/case-studies-report.yml")["jobs"]["report"]["steps"][-1]
    assert report["with"]["command"] == "report"
    assert report["with"]["commands"] == "recheck,regenerate-index,help"
    assert (REPO / ".github/workflows/case-studies-commands.yml").exists()


def _load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # BaseLoader keeps "on" a string key


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_pinned_actions(path):
    text = path.read_text()
    workflow = _load(path)
    assert workflow["permissions"] == {}, "permissions: {} at the top"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"job {name} states its own permissions"
        for step in job["steps"]:
            uses = step.get("uses")
            if uses == "./":  # action.yml of the commit checked out: this repository's own code
                assert "checkout" in job["steps"][0].get("uses", ""), f"job {name} runs ./ without checking out first"
            elif uses:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", uses), f"{uses} is not pinned to a commit"
                assert re.search(re.escape(uses) + r" # v\d+\.\d+\.\d+", text), f"{uses} lacks its version comment"
            if uses and uses.startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] == "false"
            assert "${{" not in step.get("run", ""), f"an expression inside run: in job {name}"


def test_only_the_report_workflow_holds_write_permissions_for_pull_requests():
    report = _load(REPO / ".github/workflows/case-studies-report.yml")
    check = _load(REPO / ".github/workflows/case-studies.yml")
    assert list(check["on"]) == ["pull_request"]
    assert check["jobs"]["check"]["permissions"] == {"contents": "read"}
    assert list(report["on"]) == ["workflow_run"]
    steps = report["jobs"]["report"]["steps"]
    assert not any("ref" in (s.get("with") or {}) for s in steps), "the report job checks out only the default branch"


def test_pre_commit_hook_runs_check_on_case_studies_and_shows_warnings():
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["entry"], hook["language"], hook["files"]) == ("challenge-bot", "challenge-bot check", "python", "^case_studies/")
    assert hook["verbose"] is True  # pre-commit shows a passing hook's output only when verbose: the warnings


@pytest.mark.parametrize("doc", ["README.md", "CONTRIBUTING.md", ".pre-commit-hooks.yaml"])
def test_the_documented_pre_commit_rev_exists(doc):
    """`rev: v0.1.0` named a tag that was never made. The docs name a branch that exists and let
    `pre-commit autoupdate` pin its newest commit (it falls back to a commit when there are no tags)."""
    text = (REPO / doc).read_text(encoding="utf-8")
    revs = re.findall(r"^\s*#?\s*rev: (\S+)", text, flags=re.M)
    assert revs == ["main"], revs
    assert "pre-commit autoupdate" in text
    assert _load(REPO / ".github/workflows/index.yml")["on"]["push"]["branches"] == ["main"]  # the default branch


def test_app_manifest_asks_for_the_documented_events_and_permissions():
    app = yaml.safe_load((REPO / "app.yml").read_text())
    assert app["default_events"] == ["pull_request", "issue_comment", "push", "check_run"]
    assert app["default_permissions"] == {"contents": "write", "pull_requests": "write", "issues": "write", "checks": "write", "metadata": "read"}
