"""The git database: refs, commits, trees and blobs, with git's and GitHub's rules."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Response, request

from ..errors import GitHubError, invalid, not_found, unprocessable
from ..gitobjects import FILE_MODE, TREE_MODE, Blob, Commit, Person, Snapshot, Tree, object_type
from ..responses import json_response, request_object
from ..state import Repo, now, parse_time, person
from .registry import created, current_fake, find_repo, identity, operation, render

CONCURRENT_MESSAGE = "Concurrent change (fake-github conflict injection)"


@operation("git/get-ref")
def get_ref(owner: str, repo: str, ref: str) -> Response:
    r = find_repo(owner, repo)
    full = f"refs/{ref}"
    if full not in r.refs:
        raise not_found()
    return json_response(render().git_ref(r, full))


@operation("git/create-ref")
def create_ref(owner: str, repo: str) -> Response:
    r = find_repo(owner, repo)
    body = request_object()
    ref, sha = body.get("ref"), body.get("sha")
    if not isinstance(ref, str) or not ref.startswith("refs/") or ref.count("/") < 2:
        raise unprocessable("Reference name is invalid")
    if ref in r.refs:
        raise unprocessable("Reference already exists")
    if not isinstance(sha, str) or r.objects.get(sha, Commit) is None:
        raise unprocessable("Object does not exist")
    r.refs[ref] = sha
    return created(render().git_ref(r, ref))


@operation("git/update-ref")
def update_ref(owner: str, repo: str, ref: str) -> Response:
    r = find_repo(owner, repo)
    body = request_object()
    full = f"refs/{ref}"
    branch = ref.removeprefix("heads/")
    conflict = current_fake().faults.take_conflict(r.full_name, branch) if ref.startswith("heads/") else None
    if conflict and r.branch_sha(branch):
        # Someone else's push lands between the caller's read of the ref and this update.
        r.commit_files(branch, conflict.files, CONCURRENT_MESSAGE, conflict.author)
    r.update_ref(full, str(body.get("sha", "")), bool(body.get("force", False)))
    return json_response(render().git_ref(r, full))


@operation("git/get-commit")
def get_commit(owner: str, repo: str, commit_sha: str) -> Response:
    r = find_repo(owner, repo)
    if r.objects.get(commit_sha, Commit) is None:
        raise not_found()
    return json_response(render().git_commit(r, commit_sha))


def _person(value: Any, default: Person) -> Person:
    if not isinstance(value, dict):
        return default
    date = parse_time(value["date"]) if value.get("date") else default.date
    return Person(value.get("name", default.name), value.get("email", default.email), date)


@operation("git/create-commit")
def create_commit(owner: str, repo: str) -> Response:
    r = find_repo(owner, repo)
    body = request_object()
    message, tree, parents = body.get("message"), body.get("tree"), body.get("parents", [])
    if not isinstance(message, str):
        raise invalid("Commit", "message", "missing_field")
    if not isinstance(tree, str) or r.objects.get(tree, Tree) is None:
        raise unprocessable("Tree SHA does not exist")
    if not isinstance(parents, list) or any(r.objects.get(p, Commit) is None for p in parents):
        raise unprocessable("Parent SHA does not exist or is not a commit object")
    # Without an author GitHub uses the authenticated identity, dated now.
    author = _person(body.get("author"), person(identity().login, now()))
    committer = _person(body.get("committer"), author)
    sha = r.record_commit(r.objects.add_commit(tree, tuple(parents), message, author, committer))
    return created(render().git_commit(r, sha))


def _tree_of(r: Repo, tree_sha: str) -> str | None:
    """get-tree takes a tree sha, and also a commit sha or a branch name."""
    if r.objects.get(tree_sha, Tree) is not None:
        return tree_sha
    commit = r.resolve(tree_sha)
    return r.objects.commit(commit).tree if commit else None


@operation("git/get-tree")
def get_tree(owner: str, repo: str, tree_sha: str) -> Response:
    r = find_repo(owner, repo)
    sha = _tree_of(r, tree_sha)
    if sha is None:
        raise not_found()
    # GitHub recurses for any value of ``recursive``, even "0" or "false"; only omitting it does not.
    return json_response(render().git_tree(r, sha, "recursive" in request.args))


def _apply_tree_entry(r: Repo, files: Snapshot, item: dict[str, Any]) -> None:
    path = str(item.get("path", "")).strip("/")
    mode = item.get("mode") or FILE_MODE
    if not path:
        raise invalid("Tree", "path", "missing_field")
    if "content" in item and item.get("sha") is not None:
        raise unprocessable("Only one of 'content' or 'sha' may be given for a tree entry")
    if "content" in item:
        files[path] = (mode, r.objects.add_blob(str(item["content"]).encode("utf-8")))
        return
    sha = item.get("sha")
    for existing in [p for p in files if p == path or p.startswith(path + "/")]:
        del files[existing]  # ``sha: null`` deletes; a new subtree replaces the old one
    if sha is None:
        return
    kind = item.get("type") or object_type(mode)
    if kind == "tree" or mode == TREE_MODE:
        if r.objects.get(sha, Tree) is None:
            raise unprocessable(f"tree.sha {sha} is not a valid tree")
        files.update({f"{path}/{p}": v for p, v in r.objects.snapshot(sha).items()})
    elif sha not in r.objects.objects:
        raise unprocessable(f"tree.sha {sha} is not a valid blob")
    else:
        files[path] = (mode, sha)


@operation("git/create-tree")
def create_tree(owner: str, repo: str) -> Response:
    r = find_repo(owner, repo)
    body = request_object()
    entries, base_tree = body.get("tree"), body.get("base_tree")
    if not isinstance(entries, list):
        raise invalid("Tree", "tree", "missing_field")
    files: Snapshot = {}
    if base_tree is not None:
        if r.objects.get(base_tree, Tree) is None:
            raise unprocessable("base_tree is not a valid tree oid")
        files = r.objects.snapshot(base_tree)
    for item in entries:
        _apply_tree_entry(r, files, item if isinstance(item, dict) else {})
    return created(render().git_tree(r, r.objects.write_snapshot(files), recursive=False))


@operation("git/get-blob")
def get_blob(owner: str, repo: str, file_sha: str) -> Response:
    r = find_repo(owner, repo)
    if r.objects.get(file_sha, Blob) is None:
        raise not_found()
    return json_response(render().blob(r, file_sha))


@operation("git/create-blob")
def create_blob(owner: str, repo: str) -> Response:
    r = find_repo(owner, repo)
    body = request_object()
    content, encoding = body.get("content"), body.get("encoding", "utf-8")
    if not isinstance(content, str):
        raise invalid("Blob", "content", "missing_field")
    if encoding == "utf-8":
        data = content.encode("utf-8")
    elif encoding == "base64":
        try:
            data = base64.b64decode(content, validate=False)
        except binascii.Error:
            raise unprocessable("content is not valid Base64") from None
    else:
        raise GitHubError(422, f"encoding must be either 'utf-8' or 'base64', got {encoding!r}")
    return created(render().short_blob(r, r.objects.add_blob(data)))
