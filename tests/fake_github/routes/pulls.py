"""Pull requests, their files, reviews and review comments."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from .. import diffs
from ..errors import GitHubError, invalid
from ..gitobjects import Commit
from ..responses import json_response, request_object
from ..state import PullRequest, Repo, Review, ReviewComment, now
from .registry import created, current_fake, find_repo, identity, operation, paged, render

MAX_LISTED_FILES = 3000  # GitHub lists at most 3000 files of a pull request
REVIEW_STATES = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED", None: "PENDING"}


def _custom(message: str) -> GitHubError:
    return GitHubError(422, errors=[{"resource": "PullRequest", "code": "custom", "message": message}])


def _review_error(message: str) -> GitHubError:
    # create-review answers the "simple" validation error: errors are plain strings.
    return GitHubError(422, "Unprocessable Entity", errors=[message])


@operation("pulls/get")
def get_pull(owner: str, repo: str, pull_number: int) -> Response:
    r = find_repo(owner, repo)
    return json_response(render().pull_request(r, r.pull(pull_number)))


def _matches_head(r: Repo, pr: PullRequest, head: str) -> bool:
    owner, sep, branch = head.partition(":")
    return pr.head == branch and owner.lower() == r.owner.lower() if sep else pr.head == head


@operation("pulls/list")
def list_pulls(owner: str, repo: str) -> Response:
    r = find_repo(owner, repo)
    state = request.args.get("state", "open")
    head, base = request.args.get("head"), request.args.get("base")
    pulls = [
        p
        for p in r.pulls.values()
        if state in ("all", p.state) and (not head or _matches_head(r, p, head)) and (not base or p.base == base)
    ]
    sort = request.args.get("sort", "created")
    key = (lambda p: p.updated_at) if sort == "updated" else (lambda p: p.created_at)
    # Default direction is desc for "created", asc otherwise; ties keep creation order.
    descending = request.args.get("direction", "desc" if sort == "created" else "asc") == "desc"
    pulls.sort(key=lambda p: (key(p), p.number), reverse=descending)
    return paged(pulls, lambda p: render().pull_request(r, p))


@operation("pulls/create")
def create_pull(owner: str, repo: str) -> Response:
    r = find_repo(owner, repo)
    body = request_object()
    head, base, title = str(body.get("head", "")), str(body.get("base", "")), body.get("title")
    head_owner, sep, branch = head.rpartition(":")
    if sep and head_owner.lower() != r.owner.lower():
        raise invalid("PullRequest", "head")  # forks are not modelled
    head = branch
    if r.branch_sha(head) is None:
        raise invalid("PullRequest", "head")
    if r.branch_sha(base) is None:
        raise invalid("PullRequest", "base")
    if not title:
        raise invalid("PullRequest", "title", "missing_field")
    if r.open_pull_for(head, base):
        raise _custom(f"A pull request already exists for {r.owner}:{head}.")
    if r.objects.is_ancestor(r.branch_sha(head), r.branch_sha(base)):
        raise _custom(f"No commits between {base} and {head}")
    number = current_fake().open_pull_request(
        r.full_name, head, base, title, identity().login, bool(body.get("draft", False)), body.get("body")
    )
    return created(render().pull_request(r, r.pull(number)))


@operation("pulls/update")
def update_pull(owner: str, repo: str, pull_number: int) -> Response:
    r = find_repo(owner, repo)
    pr = r.pull(pull_number)
    body = request_object()
    if "base" in body:
        if r.branch_sha(str(body["base"])) is None:
            raise invalid("PullRequest", "base")
        pr.base = str(body["base"])
    if "title" in body:
        pr.title = str(body["title"])
    if "body" in body:
        pr.body = body["body"]
    if body.get("state") == "closed" and pr.state == "open":
        r.close(pr)
    elif body.get("state") == "open" and pr.state == "closed":
        if pr.merged:
            raise _custom("state cannot be changed. The pull request has been merged.")
        r.reopen(pr)
    pr.updated_at = now()
    return json_response(render().pull_request(r, pr))


@operation("pulls/list-files")
def list_files(owner: str, repo: str, pull_number: int) -> Response:
    r = find_repo(owner, repo)
    pr = r.pull(pull_number)
    head_sha = r.head_sha(pr)
    files = r.pull_files(pr)[:MAX_LISTED_FILES]
    return paged(files, lambda f: render().diff_entry(r, head_sha, f))


@operation("pulls/list-reviews")
def list_reviews(owner: str, repo: str, pull_number: int) -> Response:
    r = find_repo(owner, repo)
    r.pull(pull_number)
    return paged([v for v in r.reviews if v.number == pull_number], lambda v: render().review(r, v))


@operation("pulls/list-review-comments")
def list_review_comments(owner: str, repo: str, pull_number: int) -> Response:
    r = find_repo(owner, repo)
    r.pull(pull_number)
    comments = [c for c in r.review_comments if c.number == pull_number]
    return paged(comments, lambda c: render().review_comment(r, c))


def _locate(files: dict[str, diffs.FileDiff], comment: dict[str, Any]) -> dict[str, Any]:
    """Check one review comment against the diff; return where it lands."""
    if "position" in comment:
        # GitHub still accepts it, but positions silently shift as the diff changes: the bot
        # must use line/side, so the fake refuses the deprecated form.
        raise _review_error("position is deprecated in this fake: use line and side")
    diff = files.get(str(comment.get("path")))
    if diff is None:
        raise _review_error("Path could not be resolved")
    side = comment.get("side", "RIGHT")
    if side not in ("LEFT", "RIGHT") or not isinstance(comment.get("line"), int):
        raise _review_error("Line could not be resolved")
    end = diffs.find_line(diff, side, comment["line"])
    if end is None:
        raise _review_error("Line could not be resolved")
    start_line, start_side = comment.get("start_line"), None
    if start_line is not None:
        start_side = comment.get("start_side", side)
        start = diffs.find_line(diff, start_side, start_line) if start_side in ("LEFT", "RIGHT") else None
        if start is None:
            raise _review_error("Start line could not be resolved")
        if start[0] != end[0]:
            raise _review_error("start_line must be part of the same hunk as the line.")
        if start[1] >= end[1]:
            raise _review_error("start_line must precede the end line.")
    return {
        "side": side,
        "start_line": start_line,
        "start_side": start_side,
        "position": end[1],
        "diff_hunk": diffs.diff_hunk(diff, end[1]),
    }


@operation("pulls/create-review")
def create_review(owner: str, repo: str, pull_number: int) -> Response:
    r = find_repo(owner, repo)
    pr = r.pull(pull_number)
    body = request_object()
    login = identity().login
    commit_id = body.get("commit_id") or r.head_sha(pr)
    if r.objects.get(commit_id, Commit) is None:
        raise _review_error("Commit could not be resolved")
    event = body.get("event")
    if event not in REVIEW_STATES:
        raise _review_error(f"Invalid event: {event}")
    comments = body.get("comments") or []
    text = body.get("body") or ""
    if event in ("APPROVE", "REQUEST_CHANGES") and login == pr.user:
        raise _review_error(f"Can not {event.lower().replace('_', ' ')} your own pull request")
    if (event == "REQUEST_CHANGES" and not text) or (event == "COMMENT" and not (text or comments)):
        raise _review_error(f"Review body is required for {event}")
    if event is None and any(v.state == "PENDING" and v.user == login for v in r.reviews if v.number == pull_number):
        raise _review_error("User can only have one pending review per pull request")
    files = {f.filename: f for f in r.pull_files(pr, head_sha=commit_id)}
    located = [_locate(files, c) for c in comments]  # all or nothing, like GitHub
    moment = now()
    review = Review(
        current_fake().next_id(), pull_number, REVIEW_STATES[event], text, login, commit_id, moment if event else None
    )
    r.reviews.append(review)
    for comment, where in zip(comments, located):
        r.review_comments.append(
            ReviewComment(
                id=current_fake().next_id(),
                review_id=review.id,
                number=pull_number,
                path=comment["path"],
                line=comment["line"],
                body=str(comment.get("body", "")),
                user=login,
                commit_id=commit_id,
                created_at=moment,
                **where,
            )
        )
    return json_response(render().review(r, review))
