"""Plain data that crosses the GitHub gateway: what handlers and the review planner see of GitHub.

Nothing here imports PyGithub; ``bot.github.pygithub`` converts to and from these.
"""

from __future__ import annotations

from typing import NamedTuple


class PullRequest(NamedTuple):
    number: int
    head_sha: str
    head_ref: str
    base_ref: str
    state: str  # "open" or "closed"
    merged: bool
    draft: bool
    labels: tuple[str, ...]
    author: str


class ChangedFile(NamedTuple):
    """One entry of a pull request's file list, as GitHub gives it."""

    path: str
    status: str  # added, modified, removed, renamed, copied, changed, unchanged
    sha: str | None  # blob sha of the new content
    patch: str | None  # None for binary files and diffs GitHub leaves out
    previous_path: str | None = None
    additions: int = 0
    deletions: int = 0


class IssueComment(NamedTuple):
    id: int
    body: str
    author: str
    author_is_bot: bool


class ReviewComment(NamedTuple):
    id: int
    path: str
    line: int | None
    body: str
    commit_id: str
    author: str


class TreeEntry(NamedTuple):
    path: str
    sha: str
    size: int


class Annotation(NamedTuple):
    path: str
    start_line: int
    end_line: int
    level: str  # notice, warning or failure
    title: str
    message: str


class CheckRun(NamedTuple):
    """A completed check run to publish."""

    name: str
    head_sha: str
    conclusion: str  # success, failure or neutral
    title: str
    summary: str
    text: str
    annotations: tuple[Annotation, ...] = ()


class InlineComment(NamedTuple):
    """A review comment on lines of the new file (``start_line`` set for a range)."""

    path: str
    line: int
    body: str
    start_line: int | None = None


class LabelSpec(NamedTuple):
    name: str
    color: str
    description: str


class GatewayError(Exception):
    """A GitHub call failed in a way the caller may act on."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFound(GatewayError):
    """404: the object does not exist (or the token cannot see it)."""


class Conflict(GatewayError):
    """409/422 on a write that raced with another writer (stale sha, not a fast-forward)."""


class BranchProtected(GatewayError):
    """The branch refuses direct updates (protection rules)."""


class TransientError(GatewayError):
    """5xx, rate limits or network trouble that outlasted the client's own retries: try later."""
