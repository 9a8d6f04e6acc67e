"""Issue-side endpoints of pull requests: comments, labels and comment reactions."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, request

from ..errors import GitHubError, invalid, not_found
from ..responses import json_response, request_json, request_object
from ..state import Label, PullRequest, Reaction, Repo, now, parse_time
from .registry import created, current_fake, find_repo, identity, operation, paged, render

REACTIONS = frozenset({"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"})
COLOR = re.compile(r"^[0-9a-fA-F]{6}$")
AUTO_LABEL_COLOR = "ededed"  # what GitHub gives a label created by adding it to an issue


def _touch(pr: PullRequest) -> None:
    pr.updated_at = now()


def _labels_json(r: Repo, pr: PullRequest) -> Response:
    return json_response([render().label(r, label) for label in pr.labels])


@operation("issues/get")
def get_issue(owner: str, repo: str, issue_number: int) -> Response:
    r = find_repo(owner, repo)
    return json_response(render().issue(r, r.pull(issue_number)))


@operation("issues/list-comments")
def list_comments(owner: str, repo: str, issue_number: int) -> Response:
    r = find_repo(owner, repo)
    r.pull(issue_number)
    comments = [c for c in r.comments.values() if c.number == issue_number]
    if "since" in request.args:
        since = parse_time(request.args["since"])
        comments = [c for c in comments if c.updated_at >= since]
    return paged(comments, lambda c: render().issue_comment(r, c))


def _comment_body() -> str:
    body = request_object().get("body")
    if not isinstance(body, str) or not body:
        raise invalid("IssueComment", "body", "missing_field")
    return body


@operation("issues/create-comment")
def create_comment(owner: str, repo: str, issue_number: int) -> Response:
    r = find_repo(owner, repo)
    pr = r.pull(issue_number)
    who = identity()
    comment = r.add_comment(issue_number, _comment_body(), who.login, who.app)
    _touch(pr)
    return created(render().issue_comment(r, comment))


@operation("issues/update-comment")
def update_comment(owner: str, repo: str, comment_id: int) -> Response:
    r = find_repo(owner, repo)
    comment = r.comment(comment_id)
    comment.body = _comment_body()
    comment.updated_at = now()
    return json_response(render().issue_comment(r, comment))


@operation("reactions/create-for-issue-comment")
def create_reaction(owner: str, repo: str, comment_id: int) -> Response:
    r = find_repo(owner, repo)
    comment = r.comment(comment_id)
    content = request_object().get("content")
    if content not in REACTIONS:
        raise invalid("Reaction", "content")
    login = identity().login
    existing = next((x for x in comment.reactions if (x.user, x.content) == (login, content)), None)
    if existing:  # reacting twice is idempotent: 200 with the existing reaction
        return json_response(render().reaction(existing))
    reaction = Reaction(current_fake().next_id(), content, login, now())
    comment.reactions.append(reaction)
    return json_response(render().reaction(reaction), 201)


@operation("issues/list-labels-on-issue")
def list_labels_on_issue(owner: str, repo: str, issue_number: int) -> Response:
    r = find_repo(owner, repo)
    return paged(r.pull(issue_number).labels, lambda label: render().label(r, label))


def _requested_labels() -> list[str]:
    """Label names from ``{"labels": [...]}``; GitHub also takes the bare array PyGithub sends
    (the validator flags that form, since the description does not allow it)."""
    body: Any = request_json()
    items = body.get("labels") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise invalid("Label", "labels", "missing_field")
    names = [item.get("name") if isinstance(item, dict) else item for item in items]
    if not all(isinstance(name, str) and name for name in names):
        raise invalid("Label", "name")
    return names


def _labels_for(r: Repo, names: list[str]) -> list[Label]:
    """The repository's labels by these names, creating the unknown ones (as GitHub does)."""
    labels: list[Label] = []
    for name in names:
        label = r.label(name) or r.add_label(name, AUTO_LABEL_COLOR)
        if label not in labels:
            labels.append(label)
    return labels


@operation("issues/add-labels")
def add_labels(owner: str, repo: str, issue_number: int) -> Response:
    r = find_repo(owner, repo)
    pr = r.pull(issue_number)
    for label in _labels_for(r, _requested_labels()):
        if label not in pr.labels:
            pr.labels.append(label)
    _touch(pr)
    return _labels_json(r, pr)


@operation("issues/set-labels")
def set_labels(owner: str, repo: str, issue_number: int) -> Response:
    r = find_repo(owner, repo)
    pr = r.pull(issue_number)
    pr.labels = _labels_for(r, _requested_labels())
    _touch(pr)
    return _labels_json(r, pr)


@operation("issues/remove-label")
def remove_label(owner: str, repo: str, issue_number: int, name: str) -> Response:
    r = find_repo(owner, repo)
    pr = r.pull(issue_number)
    label = r.label(name)
    if label is None or label not in pr.labels:
        raise GitHubError(404, "Label does not exist")
    pr.labels.remove(label)
    _touch(pr)
    return _labels_json(r, pr)


@operation("issues/get-label")
def get_label(owner: str, repo: str, name: str) -> Response:
    r = find_repo(owner, repo)
    label = r.label(name)
    if label is None:
        raise not_found()
    return json_response(render().label(r, label))


@operation("issues/create-label")
def create_label(owner: str, repo: str) -> Response:
    r = find_repo(owner, repo)
    body = request_object()
    name, color = body.get("name"), str(body.get("color", AUTO_LABEL_COLOR)).lstrip("#")
    if not isinstance(name, str) or not name:
        raise invalid("Label", "name", "missing_field")
    if not COLOR.match(color):
        raise invalid("Label", "color")
    if r.label(name):
        raise invalid("Label", "name", "already_exists")
    label = r.add_label(name, color, body.get("description"))
    return created(render().label(r, label))
