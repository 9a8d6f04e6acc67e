"""JSON responses, request bodies and GitHub's page/per_page pagination with ``Link`` headers."""

from __future__ import annotations

import json
import math
from typing import Any, Sequence
from urllib.parse import urlencode

from flask import Response, request

from .errors import GitHubError

# Not application/vnd.github+json: openapi-core only parses bodies labelled application/json.
JSON_TYPE = "application/json; charset=utf-8"
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers, content_type=JSON_TYPE)


def error_response(error: GitHubError) -> Response:
    return json_response(error.body(), error.status, error.headers)


def request_json() -> Any:
    """The parsed body (``{}`` when empty); GitHub answers 400 for a body that is not JSON."""
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise GitHubError(400, "Problems parsing JSON") from None


def request_object() -> dict[str, Any]:
    body = request_json()
    if not isinstance(body, dict):
        raise GitHubError(400, "Problems parsing JSON")
    return body


def _int_arg(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except ValueError:
        return default


def paginate(items: Sequence[Any], url_root: str) -> tuple[Sequence[Any], dict[str, str]]:
    """One page of ``items`` and its ``Link`` header, as GitHub pages every list endpoint.

    ``per_page`` defaults to 30 and is capped at 100; links keep the other query parameters.
    """
    per_page = min(max(_int_arg("per_page", DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    page = max(_int_arg("page", 1), 1)
    last = max(math.ceil(len(items) / per_page), 1)
    links = []
    if page > 1:
        links.append((min(page - 1, last), "prev"))
    if page < last:
        links += [(page + 1, "next"), (last, "last")]
    if page > 1:
        links.append((1, "first"))
    headers = {}
    if links:
        headers["Link"] = ", ".join(f'<{_page_url(url_root, n)}>; rel="{rel}"' for n, rel in links)
    start = (page - 1) * per_page
    return items[start : start + per_page], headers


def _page_url(url_root: str, page: int) -> str:
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "page"] + [("page", str(page))]
    return f"{url_root}{request.path}?{urlencode(query)}"
