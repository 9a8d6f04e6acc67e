"""The App-less front end: what GitHub Actions runs, with the same review and index code as the App.

``challenge-bot report`` runs in a ``workflow_run`` job that holds a write
token but never checks out or runs the pull request's code: it reads the
result artifact as untrusted data (see ``bot.github.result``), takes the pull
request from the event and the changed files from GitHub, and publishes the
same review the App would.
"""

from __future__ import annotations

from collections import defaultdict

from bot.core import review as review_mod
from bot.core.config_model import Config
from bot.core.findings import CheckedFile, Finding
from bot.core.index import Record
from bot.core.github_data import ChangedFile
from bot.core.paths import changes_rules, is_case_study, place
from bot.core.payload import PayloadError, field, optional
from bot.core.review import ReviewInput
from bot.github.gateway import Gateway
from bot.github.publish import finish_review
from bot.github.remote import Cache
from bot.github.result import Result, ResultError


def pull_request_number(gateway: Gateway, event: dict) -> int:
    """The pull request a ``workflow_run`` event is about, from the event (and GitHub), never the artifact."""
    run = field(event, "workflow_run", kind=dict)
    head_sha = field(run, "head_sha")
    for pr in optional(run, "pull_requests", kind=list, default=[]):
        if optional(pr, "head", "sha") == head_sha and isinstance(pr.get("number"), int):
            return pr["number"]
    # GitHub leaves pull_requests empty for pull requests from forks: find it by its head.
    owner = field(run, "head_repository", "owner", "login")
    number = gateway.find_open_pull(field(run, "head_branch"), None, owner=owner)
    if number is None:
        raise PayloadError(f"no open pull request has head {head_sha[:7]}")
    return number  # finish_review compares its head with head_sha before writing anything


def report(gateway: Gateway, event: dict, result: Result, cfg: Config, cache: Cache, commands: tuple[str, ...] = ()) -> str:
    """Publish ``result`` on the pull request of the ``workflow_run`` event. ``commands``: the comment
    commands a workflow of the repository answers (the summary's footer names only those)."""
    number = pull_request_number(gateway, event)
    head_sha = field(event, "workflow_run", "head_sha")
    if result.head_sha != head_sha:
        raise ResultError(f"the result is for commit {result.head_sha[:7]}, the workflow run for {head_sha[:7]}")
    files = gateway.changed_files(number)
    _check_paths(gateway, result, files, head_sha, cfg)
    records = _index_records(result, {f.path for f in files if f.status != "removed"}, cfg)
    plan = review_mod.plan(ReviewInput(head_sha, tuple(files), tuple(_file_results(result, records)), cfg, commands))
    return finish_review(gateway, number, head_sha, files, plan, cfg, cache)


def _check_paths(gateway: Gateway, result: Result, files: list[ChangedFile], head_sha: str, cfg: Config) -> None:
    """Every path the result names is a case-studies path the pull request changes. Only when, as
    GitHub says, the pull request changes the rules (and the check job checked everything) may it
    name other files, and then only files that exist at its head."""
    named = {f.path for f in result.findings} | {r.path for r in result.records} | set(result.checked)
    outside = sorted(p for p in named if not place(p, cfg).inside)
    if outside:
        raise ResultError(f"the result names files outside {cfg.case_studies_dir}/: {', '.join(outside[:5])}")
    unchanged = named - {f.path for f in files if f.status != "removed"}
    if unchanged and changes_rules([p for f in files for p in (f.path, f.previous_path) if p], cfg):
        unchanged -= {entry.path for entry in gateway.tree(head_sha)}
    if unchanged:
        raise ResultError(f"the result names files the pull request does not change: {', '.join(sorted(unchanged)[:5])}")


def _index_records(result: Result, changed: set[str], cfg: Config) -> dict[str, Record]:
    """The records of changed case studies (the index preview), each filed under its own folder's model."""
    records = {}
    for record in result.records:
        if record.path not in changed:
            continue  # unchanged files checked because the rules changed: the index does not change for them
        if not is_case_study(record.path, cfg) or record.model != place(record.path, cfg).model:
            raise ResultError(f"the record for {record.path} does not match its model folder")
        records[record.path] = record
    return records


def _file_results(result: Result, records: dict[str, Record]) -> list[CheckedFile]:
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_path[finding.path].append(finding)
    paths = sorted(set(result.checked) | set(by_path) | set(records))
    return [CheckedFile(path, tuple(by_path.get(path, [])), records.get(path)) for path in paths]
