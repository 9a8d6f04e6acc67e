"""GitHub App endpoints (JWT-authenticated)."""

from __future__ import annotations

from flask import Response

from ..errors import GitHubError, not_found
from ..responses import json_response, request_object
from ..state import iso
from .registry import current_fake, find_repo, operation, render

LEVELS = {"read": 1, "write": 2, "admin": 3}


@operation("apps/create-installation-access-token")
def create_installation_access_token(installation_id: int) -> Response:
    f = current_fake()
    if installation_id != f.installation_id:
        raise not_found()
    granted = f.apps[f.app_slug].permissions
    requested = request_object().get("permissions") or granted
    # A token may narrow the installation's permissions, never widen them.
    for name, level in requested.items():
        if LEVELS.get(level, 99) > LEVELS.get(granted.get(name, ""), 0):
            raise GitHubError(422, "The permissions requested are not granted to this installation.")
    token, expires_at = f.auth.issue_installation_token()
    body = {
        "token": token,
        "expires_at": iso(expires_at),
        "permissions": dict(requested),
        "repository_selection": "all",
    }
    return json_response(body, 201)


@operation("apps/get-repo-installation")
def get_repo_installation(owner: str, repo: str) -> Response:
    f = current_fake()
    r = find_repo(owner, repo)
    return json_response(render().installation(f.installation_id, r.owner, f.apps[f.app_slug]))
