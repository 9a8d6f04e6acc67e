"""The route table: handlers register under an operationId; the URL rule comes from openapi.json.

Deriving each Flask rule from the description keeps route variables named exactly like the
spec's parameters (``pull_number``, ``check_run_id``, ...), which openapi-core relies on.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from flask import Response, g, request

from ..auth import Identity
from ..render import Renderer
from ..responses import json_response, paginate
from ..state import Repo
from ..validation import Operation

HANDLERS: dict[str, Callable[..., Response]] = {}
FAKE_ENVIRON_KEY = "fake_github.instance"
# Path parameters that are single URL segments; the others (path, ref, branch, name, ...) may
# contain "/" (branch "feature/x", label "area/docs") and arrive decoded from %2F.
SEGMENT_PARAMS = frozenset({"owner", "repo", "username"})


def operation(operation_id: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    def register(handler: Callable[..., Response]) -> Callable[..., Response]:
        HANDLERS[operation_id] = handler
        return handler

    return register


def flask_rule(op: Operation) -> str:
    def convert(match: re.Match) -> str:
        name = match.group(1)
        if name in op.integer_params:
            return f"<int:{name}>"
        return f"<{name}>" if name in SEGMENT_PARAMS else f"<path:{name}>"

    return re.sub(r"\{(\w+)\}", convert, op.path)


def current_fake() -> Any:
    """The FakeGitHub serving this request (typed Any: importing it here would be a cycle)."""
    return request.environ[FAKE_ENVIRON_KEY]



def render() -> Renderer:
    return current_fake().render


def identity() -> Identity:
    return g.identity


def find_repo(owner: str, repo: str) -> Repo:
    return current_fake().find_repo(owner, repo)


def paged(items: Sequence[Any], to_json: Callable[[Any], Any]) -> Response:
    page, headers = paginate(items, current_fake().url_root)
    return json_response([to_json(item) for item in page], headers=headers)


def created(data: dict[str, Any]) -> Response:
    """201 with ``Location``, as GitHub answers a create."""
    return json_response(data, 201, {"Location": data["url"]})
