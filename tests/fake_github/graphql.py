"""``POST /graphql``: GitHub's GraphQL API, for the few fields the bot reads.

The REST description (``openapi.json``) does not cover GraphQL, so a query is checked against
the committed subset of GitHub's GraphQL schema instead (``../github_spec/graphql.json``, built
by ``generate.py`` from ``@octokit/graphql-schema``): graphql-core parses and validates it and
executes it over the fake's state. A query the schema subset does not allow is answered as
GitHub answers it (200 with ``errors``) and recorded as a violation, which fails the test.

What GitHub does and the fake copies: a missing repository is ``data.repository: null`` with a
``NOT_FOUND`` error, and so is a missing ``pullRequest(number:)``; an ``object(oid:)`` that is not there is ``null``; a blob's ``text`` is
its UTF-8 (bytes that are not UTF-8 replaced), null for a binary blob (git's test: a NUL in
the first 8,000 bytes), and cut at ``TEXT_LIMIT`` bytes with ``isTruncated``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from flask import Response, request
from graphql import GraphQLError, GraphQLSchema, build_client_schema, execute_sync, parse, validate

from .gitobjects import Blob
from .responses import json_response
from .routes.registry import current_fake
from .validation import Violation

OPERATION_ID = "graphql"  # its name in the request log, in faults and in violations
SCHEMA = Path(__file__).resolve().parent.parent / "github_spec" / "graphql.json"
TEXT_LIMIT = 512 * 1024  # bytes of a blob's text GitHub sends before it cuts it (isTruncated)


def path(prefix: str) -> str:
    """Where GitHub serves GraphQL: beside the REST root (``/graphql``; ``/api/graphql`` next to ``/api/v3``)."""
    return (prefix[: -len("/v3")] if prefix.endswith("/v3") else prefix) + "/graphql"


@functools.cache
def schema() -> GraphQLSchema:
    return build_client_schema({"__schema": json.loads(SCHEMA.read_text())["__schema"]})  # type: ignore[typeddict-item]


class NotFoundError(Exception):
    pass


def endpoint() -> Response:
    fake = current_fake()
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return json_response({"message": "Problems parsing JSON", "documentation_url": "https://docs.github.com/graphql"}, 400)
    try:
        document = parse(body["query"])
    except GraphQLError as exc:
        return _refused(fake, [exc])
    errors = validate(schema(), document)
    if errors:
        return _refused(fake, errors)
    result = execute_sync(schema(), document, root_value=_Root(fake), variable_values=body.get("variables") or {})
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [_error(e) for e in result.errors]
    return json_response(answer)


def _refused(fake: Any, errors: list[GraphQLError]) -> Response:
    fake._record([Violation(OPERATION_ID, "request", "graphql", e.message, "POST", request.path) for e in errors])
    return json_response({"errors": [_error(e) for e in errors]})


def _error(error: GraphQLError) -> dict[str, Any]:
    found = error.formatted
    if isinstance(error.original_error, NotFoundError):
        found = {"type": "NOT_FOUND"} | found
    return found


class _Root:
    def __init__(self, fake: Any) -> None:
        self.fake = fake

    def repository(self, info: Any, owner: str, name: str, followRenames: bool = True) -> dict[str, Any]:  # noqa: N803 - GraphQL's name
        repo = self.fake.repos.get(f"{owner}/{name}".lower())
        if repo is None:
            raise NotFoundError(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return {"object": lambda info, oid=None, expression=None: _blob(repo, oid),
                "pullRequest": lambda info, number: _pull(repo, number)}


def _pull(repo: Any, number: int) -> dict[str, Any]:
    pr = repo.pulls.get(number)
    if pr is None:
        raise NotFoundError(f"Could not resolve to a PullRequest with the number of {number}.")
    # GraphQL names a GitHub App's bot without REST's "[bot]" suffix, and a merged pull request MERGED
    author = {"__typename": "Bot", "login": pr.user.removesuffix("[bot]")} if pr.user.endswith("[bot]") else {"__typename": "User", "login": pr.user}
    return {
        "number": pr.number, "headRefOid": repo.head_sha(pr), "headRefName": pr.head, "baseRefName": pr.base,
        "state": "MERGED" if pr.merged else pr.state.upper(), "merged": pr.merged, "isDraft": pr.draft, "author": author,
        "labels": lambda info, first=None, **_: {"nodes": [{"name": label.name} for label in pr.labels[:first]]},
    }


def _blob(repo: Any, oid: str | None) -> dict[str, Any] | None:
    if oid is None or repo.objects.get(oid, Blob) is None:
        return None  # the fake keeps only blobs answerable here: a commit or tree oid is answered as absent
    data: bytes = repo.objects.blob(oid)
    binary = b"\0" in data[:8000]
    truncated = len(data) > TEXT_LIMIT
    text = None if binary else data[:TEXT_LIMIT].decode("utf-8", "replace")
    return {"__typename": "Blob", "oid": oid, "byteSize": len(data), "isBinary": binary, "isTruncated": truncated, "text": text}
