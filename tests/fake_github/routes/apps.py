"""GitHub App endpoints: installations and their tokens (JWT), the webhook delivery log (JWT), and
the repositories an installation token can reach."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, request

from ..errors import GitHubError, not_found
from ..responses import DEFAULT_PER_PAGE, MAX_PER_PAGE, json_response, paginate, request_object
from ..state import iso
from .registry import current_fake, find_repo, identity, operation, paged, render

LEVELS = {"read": 1, "write": 2, "admin": 3}
CURSOR_PREFIX = "v1_"  # GitHub's cursors are opaque; here one names the id the next page starts below


@operation("apps/create-installation-access-token")
def create_installation_access_token(installation_id: int) -> Response:
    f = current_fake()
    if installation_id not in f.installations:
        raise not_found()
    granted = f.apps[f.app_slug].permissions
    requested = request_object().get("permissions") or granted
    # A token may narrow the installation's permissions, never widen them.
    for name, level in requested.items():
        if LEVELS.get(level, 99) > LEVELS.get(granted.get(name, ""), 0):
            raise GitHubError(422, "The permissions requested are not granted to this installation.")
    token, expires_at = f.auth.issue_installation_token(installation_id)
    body = {
        "token": token,
        "expires_at": iso(expires_at),
        "permissions": dict(requested),
        "repository_selection": "all" if f.installations[installation_id] is None else "selected",
    }
    return json_response(body, 201)


@operation("apps/get-repo-installation")
def get_repo_installation(owner: str, repo: str) -> Response:
    f = current_fake()
    r = find_repo(owner, repo)
    installation_id = f.installation_of(r.full_name)
    if installation_id is None:
        raise not_found()
    return json_response(render().installation(installation_id, r.owner, f.apps[f.app_slug]))


@operation("apps/list-installations")
def list_installations() -> Response:
    f = current_fake()
    ids = sorted(f.installations)
    return paged(ids, lambda i: render().installation(i, f.installation_account(i), f.apps[f.app_slug]))


@operation("apps/list-repos-accessible-to-installation")
def list_repos_accessible_to_installation() -> Response:
    f = current_fake()
    installation_id = identity().installation
    if installation_id is None:  # a token that is no installation's (an added token)
        raise GitHubError(403, "This endpoint can only be accessed with an installation token.")
    repos = [r for r in sorted(f.repos.values(), key=lambda r: r.id) if f.installation_of(r.full_name) == installation_id]
    page, headers = paginate(repos, f.url_root)
    selection = "all" if f.installations[installation_id] is None else "selected"
    body = {"total_count": len(repos), "repositories": [render().full_repository(r) for r in page], "repository_selection": selection}
    return json_response(body, headers=headers)


# --- the webhook delivery log ------------------------------------------------------------------


@operation("apps/list-webhook-deliveries")
def list_webhook_deliveries() -> Response:
    """Newest first, ``per_page`` at most 100, paged by ``cursor`` (``Link: rel="next"``)."""
    try:
        per_page = min(max(int(request.args.get("per_page", DEFAULT_PER_PAGE)), 1), MAX_PER_PAGE)
    except ValueError:
        per_page = DEFAULT_PER_PAGE
    cursor = request.args.get("cursor")
    below = None
    if cursor:
        if not cursor.startswith(CURSOR_PREFIX) or not cursor[len(CURSOR_PREFIX):].isdigit():
            raise GitHubError(400, "Invalid cursor")
        below = int(cursor[len(CURSOR_PREFIX):])
    deliveries = current_fake().hooks.newest_first()
    status = request.args.get("status")
    if status in ("success", "failure"):
        deliveries = [d for d in deliveries if (d.status == "OK") == (status == "success")]
    if below is not None:
        deliveries = [d for d in deliveries if d.id < below]
    page, rest = deliveries[:per_page], deliveries[per_page:]
    headers = {}
    if rest:
        query = [(k, v) for k, v in request.args.items(multi=True) if k != "cursor"] + [("cursor", f"{CURSOR_PREFIX}{page[-1].id}")]
        headers["Link"] = f'<{current_fake().url_root}{request.path}?{urlencode(query)}>; rel="next"'
    return json_response([d.item() for d in page], headers=headers)


@operation("apps/get-webhook-delivery")
def get_webhook_delivery(delivery_id: int) -> Response:
    f = current_fake()
    found = f.hooks.get(delivery_id)
    if found is None:
        raise not_found()
    return json_response(found.full(f.hooks.url or ""))


@operation("apps/redeliver-webhook-delivery")
def redeliver_webhook_delivery(delivery_id: int) -> Response:
    f = current_fake()
    found = f.hooks.get(delivery_id)
    if found is None:
        raise not_found()
    f.hooks.redeliver(found)
    return json_response({}, 202)
