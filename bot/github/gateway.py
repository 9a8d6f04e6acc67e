"""The seam to GitHub: what handlers, publishing and reading may ask of one repository.

``bot.github.pygithub.PyGithubGateway`` implements it over HTTP; the tests'
``FakeGateway`` implements it in memory, and one contract suite
(``tests/test_gateway_contract.py``) runs against both. Methods take and return
the plain data of ``bot.core.github_data`` and raise its ``GatewayError`` family:
``NotFound`` for a missing object, ``Conflict`` for a write that lost a race,
``BranchProtected`` for a refused branch update, ``TransientError`` for a retry later
(``RateLimited`` when GitHub named the time: nothing is sent for that installation before
``retry_at``). ``AppApi`` is what the App asks as itself (its JWT), for the sweep.
"""

from __future__ import annotations

from typing import Iterable, Protocol, Sequence

from bot.core.github_data import (
    Annotation,
    BlobContent,
    ChangedFile,
    CheckRun,
    CheckRunInfo,
    HookDelivery,
    InlineComment,
    IssueComment,
    LabelSpec,
    PullRequest,
    ReviewComment,
    TreeEntry,
)

ANNOTATION_BATCH = 50  # GitHub takes at most 50 annotations per request; later requests append
BLOBS_PER_QUERY = 100  # blobs asked for in one GraphQL query (GitHub caps a query's nodes and its answer's size)


class Gateway(Protocol):
    """One repository, at the level of intents."""

    @property
    def repo(self) -> str:
        """``owner/name``."""
        ...

    # --- reading ------------------------------------------------------------------

    def pull_request(self, number: int) -> PullRequest: ...

    def changed_files(self, number: int) -> list[ChangedFile]:
        """The pull request's files against its merge base, sorted by path, at most 3,000."""
        ...

    def read_blob(self, sha: str) -> bytes: ...

    def read_blobs(self, shas: Sequence[str]) -> dict[str, BlobContent]:
        """Many blobs in few requests (GitHub: one GraphQL query per ``BLOBS_PER_QUERY``), by sha. A sha the
        repository does not have is left out; ``data`` is None where the batch could not carry the exact
        bytes. ``bot.github.remote.read_blobs`` completes such answers with ``read_blob``."""
        ...

    def pull_request_and_blobs(self, number: int, shas: Sequence[str]) -> tuple[PullRequest, dict[str, BlobContent]]:
        """``pull_request(number)`` and ``read_blobs(shas)`` in one request fewer (GitHub: the pull request
        rides in the first blob query)."""
        ...

    def read_file(self, path: str, ref: str) -> bytes | None:
        """A file at a branch or commit; None when the path, or the ref, is not there."""
        ...

    def tree(self, ref: str) -> list[TreeEntry]:
        """Every file of a commit (by sha), recursively."""
        ...

    def default_branch(self) -> str: ...

    def branch_sha(self, branch: str) -> str | None: ...

    def permission(self, login: str) -> str:
        """admin, maintain, write, triage, read or none."""
        ...

    def open_pulls(self) -> list[PullRequest]:
        """Every open pull request, newest first. A conditional read: when nothing changed since the
        last call GitHub answers 304, which costs no rate-limit budget, and the last answer is reused."""
        ...

    # --- pull-request feedback ----------------------------------------------------------

    def check_runs(self, head_sha: str, name: str | None = None) -> list[CheckRunInfo]:
        """The check runs on a commit (of every App; only those called ``name`` if given), newest first."""
        ...

    def create_check_run(self, run: CheckRun, external_id: str, annotations: Sequence[Annotation], completed: bool) -> int:
        """A check run with ``run``'s output and at most ``ANNOTATION_BATCH`` annotations; in progress
        unless ``completed`` (then with ``run.conclusion``). Its id."""
        ...

    def update_check_run(self, check_run_id: int, run: CheckRun, external_id: str, annotations: Sequence[Annotation], completed: bool) -> None:
        """Replace the output and external id; ``annotations`` (at most ``ANNOTATION_BATCH``) are appended
        to those the run has, as GitHub never removes one."""
        ...

    def issue_comments(self, number: int) -> list[IssueComment]: ...

    def create_comment(self, number: int, body: str) -> int: ...

    def update_comment(self, comment_id: int, body: str) -> None: ...

    def review_comments(self, number: int) -> list[ReviewComment]: ...

    def create_review(self, number: int, head_sha: str, body: str, comments: Iterable[InlineComment]) -> None:
        """One review; a comment on a line outside the diff refuses all of it (``GatewayError``, 422)."""
        ...

    def ensure_labels(self, specs: Iterable[LabelSpec]) -> None:
        """Create the repository labels that do not exist yet; existing ones are left as they are."""
        ...

    def add_labels(self, number: int, names: Iterable[str]) -> None: ...

    def remove_label(self, number: int, name: str) -> None:
        """Remove a label from the pull request; one it does not have is not an error."""
        ...

    # --- writing files ------------------------------------------------------------------

    def commit_files(self, branch: str, parent_sha: str, files: dict[str, str], message: str) -> str:
        """A commit on ``parent_sha``; the branch moves only by fast-forward (else ``Conflict``)."""
        ...

    def commit_on_new_base(self, branch: str, base_sha: str, files: dict[str, str], message: str) -> str:
        """Point ``branch`` (created if need be) at a new commit on ``base_sha``."""
        ...

    def find_open_pull(self, head_branch: str, base: str | None, owner: str | None = None) -> int | None:
        """The open pull request from ``owner:head_branch`` (owner: this repository's) into ``base`` (any)."""
        ...

    def create_pull(self, head_branch: str, base: str, title: str, body: str) -> int: ...

    def update_pull(self, number: int, title: str, body: str) -> None: ...


class Gateways(Protocol):
    """Builds the gateway for a repository, as one installation (None: no App, e.g. a workflow token)."""

    def __call__(self, installation_id: int | None, repo: str) -> Gateway: ...


class AppApi(Protocol):
    """What the App itself (not one installation) may ask of GitHub: the sweep's view of the world."""

    def hook_deliveries(self, since_id: int | None) -> list[HookDelivery]:
        """The App's webhook deliveries with an id above ``since_id`` (all GitHub keeps when None), oldest first."""
        ...

    def redeliver(self, delivery_id: int) -> None:
        """Ask GitHub to send a delivery again (a new attempt with the same GUID)."""
        ...

    def installations(self) -> list[int]:
        """The ids of the App's installations."""
        ...

    def installation_repositories(self, installation_id: int) -> list[str]:
        """``owner/name`` of every repository the installation can reach."""
        ...
