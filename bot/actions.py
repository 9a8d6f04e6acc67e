"""The App-less front end: what GitHub Actions runs, with the same review and index code as the App.

``challenge-bot report`` runs in a ``workflow_run`` job that holds a write
token but never checks out or runs the pull request's code: it reads the
result artifact as untrusted data (see ``bot.result``), takes the pull
request from the event and the changed files from GitHub, and publishes the
same review the App would.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bot import review as review_mod
from bot.config import Config
from bot.payload import PayloadError, field, optional
from bot.publish import finish_review
from bot.remote import Cache
from bot.result import Result, ResultError
from bot.review import FileResult, ReviewInput


def pull_request_number(gateway: Any, event: dict) -> int:
    """The pull request a ``workflow_run`` event is about, from the event (and GitHub), never the artifact."""
    run = field(event, "workflow_run", kind=dict)
    head_sha = field(run, "head_sha")
    for pr in optional(run, "pull_requests", kind=list, default=[]):
        if optional(pr, "head", "sha") == head_sha and isinstance(pr.get("number"), int):
            return pr["number"]
    # GitHub leaves pull_requests empty for pull requests from forks: find it by its head.
    owner = field(run, "head_repository", "owner", "login")
    number = gateway.find_open_pull(field(run, "head_branch"), None, owner=owner)
    if number is None or gateway.pull_request(number).head_sha != head_sha:
        raise PayloadError(f"no open pull request has head {head_sha[:7]}")
    return number


def report(gateway: Any, event: dict, result: Result, cfg: Config, cache: Cache) -> str:
    number = pull_request_number(gateway, event)
    head_sha = field(event, "workflow_run", "head_sha")
    files = gateway.changed_files(number)
    changed = {f.path for f in files if f.status != "removed"}
    named = {f.path for f in result.findings} | {r.path for r in result.records} | set(result.checked)
    stray = sorted(named - changed)
    if stray:
        raise ResultError(f"the result names files the pull request does not change: {', '.join(stray[:5])}")
    plan = review_mod.plan(ReviewInput(head_sha, tuple(files), tuple(_file_results(result)), cfg))
    paths = [f.path for f in files] + [f.previous_path for f in files if f.previous_path]
    return finish_review(gateway, number, head_sha, paths, plan, cfg, cache)


def _file_results(result: Result) -> list[FileResult]:
    by_path: dict[str, list] = defaultdict(list)
    for finding in result.findings:
        by_path[finding.path].append(finding)
    records = {r.path: r for r in result.records}
    out = []
    for path in sorted(set(result.checked) | set(by_path) | set(records)):
        findings = by_path.get(path, [])
        texts = {f.line: result.line_texts.get((f.path, f.line), "") for f in findings}
        out.append(FileResult(path, tuple(findings), texts, records.get(path)))
    return out
