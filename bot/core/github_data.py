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
    sha: str | None  # blob sha of the new content (of the old one for a removed file); GitHub allows null
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


class BlobContent(NamedTuple):
    """A blob as a batch read gives it: its size, and its bytes when the batch could carry them exactly
    (None for a binary, truncated or not-UTF-8 blob: ``Gateway.read_blob`` reads that one)."""

    size: int
    data: bytes | None


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


class CheckRunInfo(NamedTuple):
    """A check run as GitHub lists it for a commit: enough to find ours again and to see what it holds."""

    id: int
    name: str
    external_id: str  # "" when none was set
    status: str  # queued, in_progress or completed
    conclusion: str | None
    title: str = ""
    summary: str = ""
    annotations_count: int = 0


class HookDelivery(NamedTuple):
    """One attempt GitHub made to deliver a webhook to the App (``GET /app/hook/deliveries``)."""

    id: int  # this attempt's id: redeliver by it
    guid: str  # X-GitHub-Delivery, the same for every attempt of one delivery
    delivered_at: str  # ISO 8601
    status_code: int  # what the App answered; 0 when nothing came back (timeout)
    event: str
    action: str | None
    redelivery: bool


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


class RateLimited(TransientError):
    """GitHub asked this installation to wait: no request to it before ``retry_at`` (seconds since the epoch).

    Raised before sending anything while the wait lasts; a worker reschedules the delivery for
    ``retry_at`` rather than sleeping. Other installations are not affected."""

    def __init__(self, message: str, retry_at: float, status: int | None = None) -> None:
        super().__init__(message, status)
        self.retry_at = retry_at
