"""Spec violations that are GitHub's description being wrong, not the fake or the bot.

Each entry names the operations it covers (None: all), a precise matcher and the reason.
Anything not listed here fails the test that produced it (see ``fixture.py``). Injected
faults are not validated at all (``FakeGitHub.inject``), so they need no entry.
Keep this list short: a new entry needs evidence that GitHub really behaves that way.

One exception is not an entry: ``POST /graphql`` (``graphql.py``). GitHub's REST description
does not describe its GraphQL API at all, so the request and answer are not checked against
``openapi.json``; the query is checked against GitHub's GraphQL schema instead (the committed
subset ``github_spec/graphql.json``), and a query outside it is a violation like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .validation import Violation

CHECK_RUN_CONCLUSION = re.compile(r"^\$(\.check_runs\[\d+\])?\.conclusion$")
SIMPLE_PR_LABEL_DESCRIPTION = re.compile(r"^\$\[\d+\]\.labels\[\d+\]\.description$")
INSTALLATION_ACCOUNT = re.compile(r"^\$\[\d+\]\.account$")


@dataclass(frozen=True)
class Allowance:
    operations: frozenset[str] | None
    matches: Callable[[Violation], bool]
    reason: str

    def covers(self, violation: Violation) -> bool:
        in_scope = self.operations is None or violation.operation_id in self.operations
        return in_scope and self.matches(violation)


ALLOWANCES: tuple[Allowance, ...] = (
    Allowance(
        frozenset({"checks/create", "checks/update", "checks/list-for-ref"}),
        lambda v: v.direction == "response"
        and v.keyword == "enum"
        and bool(CHECK_RUN_CONCLUSION.match(v.json_path))
        and v.message.startswith("None is not one of"),
        "GitHub sends `conclusion: null` while a check run is queued or in progress; the "
        "description marks the field nullable but its enum lacks null.",
    ),
    Allowance(
        frozenset({"pulls/list"}),
        lambda v: v.direction == "response"
        and bool(SIMPLE_PR_LABEL_DESCRIPTION.match(v.json_path))
        and v.message.startswith("None "),
        "GitHub sends `description: null` for a label without one; pull-request-simple declares "
        "labels[].description a non-nullable string (the label schema itself is nullable).",
    ),
    Allowance(
        None,
        lambda v: v.kind == "undeclared-status" and v.status == 401,
        "GitHub answers 401 (Bad credentials / Requires authentication) on every endpoint, but the "
        "description declares 401 only where authentication is the topic. The body is still "
        "checked against basic-error.",
    ),
    Allowance(
        None,
        lambda v: v.kind == "undeclared-status" and v.status in (400, 404, 409, 422),
        "GitHub's description omits error responses for many operations (checks/create and "
        "checks/update declare only success, pulls/list-reviews and pulls/list-review-comments "
        "only 200), yet GitHub answers 404 for a missing repository or object and 422 for "
        "semantic failures. The body is still checked against basic-error/validation-error.",
    ),
    Allowance(
        frozenset({"apps/list-installations"}),
        lambda v: v.direction == "response"
        and bool(INSTALLATION_ACCOUNT.match(v.json_path))
        and v.keyword == "required"
        and v.message.split("'")[1] in ("name", "slug", "created_at", "updated_at"),
        "The description inlines the installation's account as allOf(simple-user, enterprise), so "
        "every account would need an enterprise's slug and dates; the installation schema itself "
        "(apps/get-repo-installation) says anyOf, and GitHub lists a user or organisation account.",
    ),
    Allowance(
        frozenset({"repos/get-content"}),
        lambda v: v.direction == "response" and v.status == 200 and v.json_path == "$" and v.keyword == "oneOf",
        "A directory's contents are an array; the description's oneOf+discriminator cannot match "
        "an array (content-directory) in openapi-core, though GitHub returns exactly that.",
    ),
)


def reason_for(violation: Violation) -> str | None:
    return next((a.reason for a in ALLOWANCES if a.covers(violation)), None)


def unexpected(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if reason_for(v) is None]
