"""Repository, branch, contents and collaborator-permission endpoints."""

from __future__ import annotations

from flask import Response, request

from ..errors import GitHubError, not_found
from ..responses import json_response
from .registry import find_repo, operation, render


@operation("repos/get")
def get_repo(owner: str, repo: str) -> Response:
    return json_response(render().full_repository(find_repo(owner, repo)))


@operation("repos/get-branch")
def get_branch(owner: str, repo: str, branch: str) -> Response:
    r = find_repo(owner, repo)
    if r.branch_sha(branch) is None:
        raise GitHubError(404, "Branch not found")
    return json_response(render().branch(r, branch))


@operation("repos/get-content")
def get_content(owner: str, repo: str, path: str) -> Response:
    r = find_repo(owner, repo)
    ref = request.args.get("ref") or r.default_branch
    sha = r.resolve(ref)
    if sha is None:
        raise GitHubError(404, f"No commit found for the ref {ref}")
    path = path.strip("/")
    entries = dict(r.objects.walk(r.objects.commit(sha).tree))
    entry = entries.get(path)
    if entry is None:
        raise not_found()
    if entry.type == "tree":
        listing = r.objects.walk(entry.sha, recursive=False, prefix=f"{path}/")
        return json_response([render().content(r, p, e, ref, inline=False) for p, e in listing])
    return json_response(render().content(r, path, entry, ref, inline=True))


@operation("repos/get-collaborator-permission-level")
def get_collaborator_permission_level(owner: str, repo: str, username: str) -> Response:
    return json_response(render().collaborator_permission(find_repo(owner, repo), username))
