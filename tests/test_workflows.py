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


def test_the_four_workflows_exist():
    assert [p.name for p in WORKFLOWS] == ["case-studies-report.yml", "case-studies.yml", "ci.yml", "index.yml"]


def test_zizmor_offline_has_no_findings():
    result = subprocess.run([_tool("zizmor"), "--offline", "--no-progress", str(REPO / ".github" / "workflows")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_workflows_match_githubs_schema():
    result = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


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
            if uses:
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


def test_pre_commit_hook_runs_check_on_case_studies():
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["entry"], hook["language"], hook["files"]) == ("challenge-bot", "challenge-bot check", "python", "^case_studies/")


def test_app_manifest_asks_for_the_documented_events_and_permissions():
    app = yaml.safe_load((REPO / "app.yml").read_text())
    assert app["default_events"] == ["pull_request", "issue_comment", "push", "check_run"]
    assert app["default_permissions"] == {"contents": "write", "pull_requests": "write", "issues": "write", "checks": "write", "metadata": "read"}
