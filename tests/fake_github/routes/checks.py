"""Check runs: create, update (annotations append) and list for a ref."""

from __future__ import annotations

import copy
from typing import Any

from flask import Response, request

from ..errors import GitHubError, invalid, not_found
from ..gitobjects import Commit
from ..responses import json_response, paginate, request_object
from ..state import CheckRun, Repo, now, parse_time
from .registry import created, current_fake, find_repo, identity, operation, render

MAX_ANNOTATIONS = 50  # per request; later updates append
MAX_TEXT = 65535  # output.summary and output.text
ANNOTATION_FIELDS = ("path", "start_line", "end_line", "annotation_level", "message")
STATUSES = ("queued", "in_progress", "completed")


def _invalid_request(detail: str) -> GitHubError:
    # Check-run bodies are schema-validated by GitHub, which answers in this shape.
    return GitHubError(422, f"Invalid request.\n\n{detail}")


def _apply(run: CheckRun, body: dict[str, Any]) -> None:
    """Apply the writable fields of a create or update body to ``run``."""
    for key in ("name", "details_url", "external_id"):
        if key in body:
            setattr(run, key, body[key])
    if "status" in body:
        if body["status"] not in STATUSES:
            raise _invalid_request(f"{body['status']!r} is not a valid status.")
        run.status = body["status"]
    if "started_at" in body:
        run.started_at = parse_time(str(body["started_at"]))
    if body.get("conclusion"):
        # Giving a conclusion completes the run, whatever ``status`` says.
        run.conclusion, run.status = body["conclusion"], "completed"
    if run.status == "completed":
        if not run.conclusion:
            raise _invalid_request("`conclusion` is required when `status` is \"completed\".")
        given = body.get("completed_at")
        run.completed_at = parse_time(str(given)) if given else run.completed_at or now()
    if "actions" in body:
        run.actions = list(body["actions"])
    output = body.get("output")
    if output is not None:
        _apply_output(run, output)


def _apply_output(run: CheckRun, output: dict[str, Any]) -> None:
    if not output.get("title") or output.get("summary") is None:
        raise _invalid_request("`output` requires `title` and `summary`.")
    for key in ("summary", "text"):
        if len(output.get(key) or "") > MAX_TEXT:
            raise _invalid_request(f"output.{key} is longer than {MAX_TEXT} characters.")
    annotations = output.get("annotations") or []
    if len(annotations) > MAX_ANNOTATIONS:
        raise _invalid_request(f"Only {MAX_ANNOTATIONS} annotations are allowed per request.")
    for annotation in annotations:
        missing = [f for f in ANNOTATION_FIELDS if f not in annotation]
        if missing:
            raise _invalid_request(f"annotation is missing {', '.join(missing)}.")
    run.output.title, run.output.summary = output["title"], output["summary"]
    if "text" in output:
        run.output.text = output["text"]
    run.annotations += [dict(a) for a in annotations]


@operation("checks/create")
def create_check_run(owner: str, repo: str) -> Response:
    r = find_repo(owner, repo)
    body = request_object()
    name, head_sha = body.get("name"), body.get("head_sha")
    if not name:
        raise invalid("CheckRun", "name", "missing_field")
    if not isinstance(head_sha, str) or r.objects.get(head_sha, Commit) is None:
        raise GitHubError(422, f"No commit found for SHA: {head_sha}")
    app = identity().app
    if app is None:
        raise GitHubError(403, "You must authenticate via a GitHub App.")
    suite = r.check_suites.setdefault((app, head_sha), current_fake().next_id())
    run = CheckRun(current_fake().next_id(), name, head_sha, "queued", None, now(), None, app, suite)
    _apply(run, body)
    r.check_runs[run.id] = run
    return created(render().check_run(r, run))


@operation("checks/update")
def update_check_run(owner: str, repo: str, check_run_id: int) -> Response:
    r = find_repo(owner, repo)
    run = r.check_runs.get(check_run_id)
    if run is None:
        raise not_found()
    updated = copy.deepcopy(run)  # all or nothing: a rejected update leaves the run untouched
    _apply(updated, request_object())
    r.check_runs[check_run_id] = updated
    return json_response(render().check_run(r, updated))


def _latest_per_name(runs: list[CheckRun]) -> list[CheckRun]:
    latest: dict[str, CheckRun] = {}
    for run in runs:
        if run.name not in latest or run.id > latest[run.name].id:
            latest[run.name] = run
    return list(latest.values())


@operation("checks/list-for-ref")
def list_check_runs_for_ref(owner: str, repo: str, ref: str) -> Response:
    r = find_repo(owner, repo)
    sha = r.resolve(ref)
    if sha is None:
        raise GitHubError(422, f"No commit found for SHA: {ref}")
    runs = [run for run in r.check_runs.values() if run.head_sha == sha]
    if request.args.get("filter", "latest") == "latest":
        runs = _latest_per_name(runs)
    if "check_name" in request.args:
        runs = [run for run in runs if run.name == request.args["check_name"]]
    if "status" in request.args:
        runs = [run for run in runs if run.status == request.args["status"]]
    runs.sort(key=lambda run: run.id, reverse=True)
    return _check_runs_page(r, runs)


def _check_runs_page(r: Repo, runs: list[CheckRun]) -> Response:
    page, headers = paginate(runs, current_fake().url_root)
    body = {"total_count": len(runs), "check_runs": [render().check_run(r, run) for run in page]}
    return json_response(body, headers=headers)
