"""Adopting the bot by copying files: the worked example in examples/incident-notes, end to end.

Another knowledge base (its own sections, models, tags, folder and index file) uses the bot only
through the composite action, `uses: pretraining-challenges/pretraining-challenges@<sha>`, in
the four workflow files README.md shows. Here the action's steps run as the runner runs them
(bash, with the inputs and environment Actions gives a composite action), in checkouts of the
example, against the fake GitHub: a pull request is checked, its review published, a comment
command answered and, after the merge, the index regenerated. The one thing replaced is the
`pip install` of the bot: the test's environment has it already (a venv prepared where the
action looks for it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot.core import messages as m
from bot.core.config import from_mapping, load
from bot.core.linter import lint_text
from helpers import checkout
from test_actions_e2e import TOKEN

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "incident-notes"
WORKFLOWS = EXAMPLE / ".github" / "workflows"
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
USES = "pretraining-challenges/pretraining-challenges@<sha>"
NAME = "adopter/notes"
BIN = Path(sys.executable).parent

NOTE = "notes/mistral/a-loader-that-repeated-the-first-shard.md"
BROKEN_NOTE = """---
id: INC-0002
tags: [data-pipeline, loss-spike]
sources: [https://example.org/incidents/shard]
---

# A loader that repeated the first shard

## Symptom

The loss dropped too fast for two thousand steps, then spiked when the second shard arrived.

## Root cause

The resume logic reset the shard index to zero on every restart.
"""
FIXED_NOTE = BROKEN_NOTE.replace("loss-spike]", "loss-spikes]").replace("## Root cause", "## Cause") + (
    "\n## Fix\n\nSaving the shard index with the checkpoint; the loss curve has been smooth since.\n"
)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- the documented files are the tested files ---------------------------------------------------------


def _readme_block(title: str) -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(rf"   `{re.escape(title)}`:\n\n   ```yaml\n(.*?)\n   ```\n", readme, flags=re.S)
    assert found, f"README.md shows no {title}"
    return textwrap.dedent(found[1]) + "\n"


@pytest.mark.parametrize("workflow", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_the_readme_shows_the_example_workflows_verbatim(workflow):
    assert _readme_block(workflow) == (WORKFLOWS / workflow).read_text()


def test_the_readme_config_is_valid_and_the_example_config_is_clean():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"\n   ```yaml\n(   sections: .*?)\n   ```\n", readme, flags=re.S)
    assert block, "README.md shows no minimal config"
    cfg = from_mapping(yaml.safe_load(textwrap.dedent(block[1])))
    assert (cfg.case_studies_dir, cfg.readme, cfg.section_names) == ("notes", "INDEX.md", ("Symptom", "Cause", "Fix"))
    result = subprocess.run([sys.executable, "-m", "bot", "check", "--index"], cwd=EXAMPLE, capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "All clear: 1 file checked, no problems found.\n")


def test_the_example_workflows_pass_zizmor_and_githubs_schema(tmp_path):
    for path in WORKFLOWS.glob("*.yml"):
        (tmp_path / path.name).write_text(path.read_text().replace("@<sha>", "@" + "0" * 40))
    files = sorted(str(p) for p in tmp_path.glob("*.yml"))
    zizmor = subprocess.run([str(BIN / "zizmor"), "--offline", "--no-progress", *files], capture_output=True, text=True)
    assert zizmor.returncode == 0 and "No findings to report" in zizmor.stdout, zizmor.stdout + zizmor.stderr
    schema = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files], capture_output=True, text=True)
    assert schema.returncode == 0, schema.stdout + schema.stderr


def test_each_example_workflow_uses_the_action_once_with_a_command_it_has():
    commands = re.findall(r"^\s*(check|report|publish-index|comment-command)\)$", ACTION["runs"]["steps"][0]["run"], flags=re.M)
    used = {}
    for path in WORKFLOWS.glob("*.yml"):
        steps = [s for job in yaml.safe_load(path.read_text())["jobs"].values() for s in job["steps"] if s.get("uses") == USES]
        assert len(steps) == 1, path.name
        used[path.name] = steps[0]["with"]["command"]
    assert sorted(used.values()) == sorted(commands)


# --- the composite action, run as the runner runs it ------------------------------------------------------


class Runner:
    """Runs the composite action's steps with bash, in a workspace, with the variables Actions sets."""

    def __init__(self, fake, tmp_path: Path) -> None:
        self.fake, self.temp = fake, tmp_path / "runner-temp"
        self.temp.mkdir()
        for venv in ("challenge-bot-venv", "challenge-bot-app-venv"):  # where the action installs the bot
            (self.temp / venv / "bin").mkdir(parents=True)
            (self.temp / venv / "bin" / "challenge-bot").symlink_to(BIN / "challenge-bot")
        self.summary, self.output = tmp_path / "step-summary.md", tmp_path / "output.txt"

    def _expression(self, inputs: dict[str, str], match: re.Match) -> str:
        context = {"github.action_path": str(REPO), "github.token": TOKEN, "runner.temp": str(self.temp)}
        name = match[1].strip()
        if name.startswith("inputs."):
            return inputs[name.removeprefix("inputs.")]
        return context[name]

    def _resolve(self, text: str, inputs: dict[str, str]) -> str:
        return re.sub(r"\$\{\{(.*?)\}\}", lambda found: self._expression(inputs, found), str(text))

    def run(self, workflow: str, workspace: Path, event: tuple[str, dict]) -> subprocess.CompletedProcess:
        """The action step of ``workflow`` (an example file), for ``event``."""
        steps = [s for job in yaml.safe_load((WORKFLOWS / workflow).read_text())["jobs"].values() for s in job["steps"]]
        (step,) = [s for s in steps if s.get("uses") == USES]
        defaults = {name: self._resolve(spec.get("default", ""), {}) for name, spec in ACTION["inputs"].items()}
        inputs = defaults | {name: self._resolve(value, {}) for name, value in step.get("with", {}).items()}
        event_path = self.temp / "event.json"
        event_path.write_text(json.dumps(event[1]))
        self.summary.write_text("")
        self.output.write_text("")
        env = {
            "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(workspace)),
            "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event[0], "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": NAME, "GITHUB_API_URL": self.fake.base_url, "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ACTION_PATH": str(REPO), "RUNNER_TEMP": str(self.temp),
            "GITHUB_STEP_SUMMARY": str(self.summary), "GITHUB_OUTPUT": str(self.output),
        }
        if event[0] == "pull_request":
            env["GITHUB_SHA"] = event[1]["pull_request"]["head"]["sha"]
        for action_step in ACTION["runs"]["steps"]:
            assert action_step["shell"] == "bash"
            env |= {name: self._resolve(value, inputs) for name, value in action_step.get("env", {}).items()}
            # bash as Actions runs it: `bash --noprofile --norc -eo pipefail {0}`
            result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", action_step["run"]], cwd=workspace, env=env, capture_output=True, text=True, timeout=120)
        return result

    def outputs(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.output.read_text().splitlines())




def test_the_action_installs_the_bot_from_its_own_commit():
    script = ACTION["runs"]["steps"][0]["run"]
    assert ACTION["runs"]["steps"][0]["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert '"$venv/bin/pip" install -q --disable-pip-version-check "$ACTION_PATH$extra"' in script


def test_a_second_knowledge_base_adopts_the_bot_with_the_documented_files(fake_github, tmp_path):
    example = _files(EXAMPLE)
    fake_github.create_repo(NAME, files=example)
    fake_github.add_token(TOKEN)
    fake_github.add_collaborator(NAME, "keeper", "maintain")
    fake_github.create_branch(NAME, "contrib")
    fake_github.commit(NAME, "contrib", {NOTE: BROKEN_NOTE}, author="contributor")
    number = fake_github.open_pull_request(NAME, "contrib", author="contributor")
    runner = Runner(fake_github, tmp_path)

    # 1. challenge-bot-check.yml: the pull request's checkout, a read-only job.
    pull = checkout(tmp_path / "pull", example, {NOTE: BROKEN_NOTE})
    check = runner.run("challenge-bot-check.yml", pull, fake_github.payloads.pull_request_event(NAME, number, "opened"))
    assert check.returncode == 1, check.stderr
    assert check.stdout.count(f"{NOTE}:") == 3 and "::" not in check.stdout  # no workflow-command annotations
    assert "| [CS302 unknown-tag]" in runner.summary.read_text()
    result = json.loads((pull / "challenge-bot-result.json").read_text())
    assert sorted(f["code"] for f in result["findings"]) == ["CS203", "CS208", "CS302"]

    # 2. challenge-bot-report.yml: the default branch's checkout and the downloaded artifact.
    (runner.temp / "result").mkdir()
    shutil.copy(pull / "challenge-bot-result.json", runner.temp / "result" / "challenge-bot-result.json")
    default = checkout(tmp_path / "default", example)
    event = fake_github.payloads.workflow_run_completed_event(NAME, number, workflow_name="challenge-bot check", conclusion="failure")
    report = runner.run("challenge-bot-report.yml", default, event)
    assert (report.returncode, runner.outputs()) == (0, {"outcome": "reviewed"}), report.stderr
    (run,) = fake_github.check_runs(NAME)
    findings = lint_text(NOTE, BROKEN_NOTE, load(EXAMPLE))
    assert Counter((a["start_line"], a["title"].split()[0]) for a in run.annotations) == Counter((f.line, f.code) for f in findings)
    suggestions = fake_github.review_comments(NAME, number)  # review.reporter suggestions: the one-click fixes only
    one_click = sorted((f.line, f.code) for f in findings if f.fix is not None and not f.fix.inserts)
    assert one_click == [(3, "CS302"), (13, "CS208")]
    assert sorted((c.line, c.body.split("**")[1].split()[0]) for c in suggestions) == one_click
    assert "```suggestion\ntags: [data-pipeline, loss-spikes]\n```" in suggestions[0].body
    assert fake_github.pr_labels(NAME, number) == ["model: mistral-7b"]
    (summary,) = [c.body for c in fake_github.issue_comments(NAME, number)]
    assert "| added | Mistral 7B fine-tunes | A loader that repeated the first shard" in summary
    assert "`/challenge-bot recheck`" in summary  # challenge-bot-commands.yml answers it

    # 3. challenge-bot-commands.yml: no checkout at all; the pull request's files come through the API.
    fake_github.commit(NAME, "contrib", {NOTE: FIXED_NOTE}, author="contributor")
    empty = tmp_path / "commands"
    empty.mkdir()
    command = runner.run("challenge-bot-commands.yml", empty, fake_github.payloads.issue_comment_event(NAME, number, "/challenge-bot recheck", "contributor"))
    assert (command.returncode, runner.outputs()) == (0, {"outcome": "commands: recheck"}), command.stderr
    assert [r.conclusion for r in fake_github.check_runs(NAME)][-1] == "success"
    assert "all checks passed" in [c.body for c in fake_github.issue_comments(NAME, number)][0]

    # 4. challenge-bot-index.yml, after the merge: the index in INDEX.md, the footer, index.json.
    fake_github.merge_pull_request(NAME, number)
    index = runner.run("challenge-bot-index.yml", empty, fake_github.payloads.workflow_dispatch_event(NAME, workflow=".github/workflows/challenge-bot-index.yml"))
    assert (index.returncode, runner.outputs()["outcome"]) == (0, "committed"), index.stderr
    head = fake_github.commits(NAME, "main")[0]
    assert (head["message"], head["author"]) == (m.INDEX_COMMIT_MESSAGE, "github-actions[bot]")
    assert "[A loader that repeated the first shard](notes/mistral/a-loader-that-repeated-the-first-shard.md)" in fake_github.file_at(NAME, "main", "INDEX.md").decode()
    assert b"**Id:** `INC-0002`" in fake_github.file_at(NAME, "main", NOTE)
    assert b'"id": "INC-0002"' in fake_github.file_at(NAME, "main", "notes/index.json")
    again = runner.run("challenge-bot-index.yml", empty, fake_github.payloads.workflow_dispatch_event(NAME, workflow=".github/workflows/challenge-bot-index.yml"))
    assert (again.returncode, runner.outputs()["outcome"]) == (0, "unchanged")


def test_an_unknown_command_input_fails_the_step(fake_github, tmp_path):
    runner = Runner(fake_github, tmp_path)
    step = ACTION["runs"]["steps"][0]
    env = {"PATH": os.environ["PATH"], "RUNNER_TEMP": str(runner.temp), "COMMAND": "deploy", "ACTION_PATH": str(REPO)}
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert (result.returncode, result.stderr) == (2, "challenge-bot: unknown command 'deploy' (check, report, publish-index or comment-command)\n")
