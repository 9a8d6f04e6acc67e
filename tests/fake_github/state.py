"""The fake's state: repositories holding real git objects, pull requests, comments, reviews,
labels and check runs, plus the seeding and inspection API tests call directly.

Tests assert on this state (what GitHub would now hold), not on the calls that produced it.
Inspectors return copies, so a test cannot change the state by accident.
"""

from __future__ import annotations

import copy
import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Union

from . import diffs
from .errors import GitHubError, not_found
from .gitobjects import FILE_MODE, Commit, ObjectStore, Person, Snapshot

Content = Union[bytes, str]
# Repository role -> the coarse permission GitHub's collaborator-permission endpoint reports.
ROLE_PERMISSIONS = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}
DEFAULT_PATCH_LIMIT = 4000
NOREPLY = "@users.noreply.github.com"


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def parse_time(text: str) -> datetime:
    """An ISO 8601 timestamp from a request; GitHub reads one without an offset as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise GitHubError(422, f"Invalid time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def person(login: str, date: datetime | None = None) -> Person:
    return Person(login, f"{login}{NOREPLY}", date or now())


def as_bytes(content: Content) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


@dataclass
class Label:
    id: int
    name: str
    color: str
    description: str | None = None


@dataclass
class Reaction:
    id: int
    content: str
    user: str
    created_at: datetime


@dataclass
class IssueComment:
    id: int
    number: int
    body: str
    user: str
    created_at: datetime
    updated_at: datetime
    via_app: str | None = None  # slug of the App that wrote it (GitHub's performed_via_github_app)
    reactions: list[Reaction] = field(default_factory=list)


@dataclass
class Review:
    id: int
    number: int
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, PENDING
    body: str
    user: str
    commit_id: str
    submitted_at: datetime | None


@dataclass
class ReviewComment:
    id: int
    review_id: int
    number: int
    path: str
    line: int
    side: str
    start_line: int | None
    start_side: str | None
    body: str
    user: str
    commit_id: str
    diff_hunk: str
    position: int
    created_at: datetime


@dataclass
class CheckOutput:
    title: str | None = None
    summary: str | None = None
    text: str | None = None


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    started_at: datetime | None
    completed_at: datetime | None
    app: str  # slug of the App that owns the run
    suite_id: int
    external_id: str = ""
    details_url: str | None = None
    output: CheckOutput = field(default_factory=CheckOutput)
    annotations: list[dict] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)


@dataclass
class PullRequest:
    id: int
    issue_id: int
    number: int
    title: str
    body: str | None
    user: str
    head: str  # branch names in the same repository
    base: str
    draft: bool
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    labels: list[Label] = field(default_factory=list)
    # Frozen when the pull request closes, so its diff stays what it was (GitHub keeps it too).
    closed_head_sha: str | None = None
    closed_base_sha: str | None = None

    @property
    def merged(self) -> bool:
        return self.merged_at is not None


class Repo:
    def __init__(self, state: GitHubState, owner: str, name: str, private: bool, default_branch: str) -> None:
        self.state = state
        self.id = state.next_id()
        self.owner, self.name, self.private, self.default_branch = owner, name, private, default_branch
        self.created_at = self.pushed_at = now()
        self.objects = ObjectStore()
        self.refs: dict[str, str] = {}
        self.commit_order: dict[str, int] = {}
        self.protected: set[str] = set()
        self.collaborators: dict[str, str] = {}
        self.labels: dict[str, Label] = {}  # keyed by lower-case name: GitHub matches labels case-insensitively
        self.pulls: dict[int, PullRequest] = {}
        self.comments: dict[int, IssueComment] = {}
        self.reviews: list[Review] = []
        self.review_comments: list[ReviewComment] = []
        self.check_runs: dict[int, CheckRun] = {}
        self.check_suites: dict[tuple[str, str], int] = {}
        self._numbers = itertools.count(1)  # issues and pull requests share one sequence

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def next_number(self) -> int:
        return next(self._numbers)

    # -- git ---------------------------------------------------------------------------------

    def branch_sha(self, branch: str) -> str | None:
        return self.refs.get(f"refs/heads/{branch}")

    def resolve(self, ref: str) -> str | None:
        """The commit a branch name, ``refs/...`` name or (abbreviated) commit sha points to."""
        for name in (ref, f"refs/heads/{ref}", f"refs/{ref}"):
            if name.startswith("refs/") and name in self.refs:
                return self.refs[name]
        if len(ref) >= 7:
            prefix = ref.lower()
            commits = [s for s, obj in self.objects.objects.items() if s.startswith(prefix) and isinstance(obj, Commit)]
            if len(commits) == 1:
                return commits[0]
        return None

    def snapshot(self, commit_sha: str) -> Snapshot:
        return self.objects.snapshot(self.objects.commit(commit_sha).tree)

    def read(self, commit_sha: str, path: str) -> bytes | None:
        entry = self.snapshot(commit_sha).get(path)
        return self.objects.blob(entry[1]) if entry else None

    def record_commit(self, sha: str) -> str:
        self.commit_order.setdefault(sha, len(self.commit_order))
        return sha

    def new_commit(self, parents: tuple[str, ...], files: Snapshot, message: str, login: str) -> str:
        tree = self.objects.write_snapshot(files)
        who = person(login)
        return self.record_commit(self.objects.add_commit(tree, parents, message, who, who))

    def apply(self, base: Snapshot, files: dict[str, Content | None]) -> Snapshot:
        result = dict(base)
        for path, content in files.items():
            if content is None:
                result.pop(path, None)
            else:
                result[path] = (FILE_MODE, self.objects.add_blob(as_bytes(content)))
        return result

    def commit_files(self, branch: str, files: dict[str, Content | None], message: str, login: str) -> str:
        parent = self.branch_sha(branch)
        if parent is None:
            raise KeyError(f"{self.full_name} has no branch {branch!r}")
        sha = self.new_commit((parent,), self.apply(self.snapshot(parent), files), message, login)
        self.move_branch(branch, sha)
        return sha

    def move_branch(self, branch: str, sha: str) -> None:
        self.refs[f"refs/heads/{branch}"] = sha
        self.pushed_at = now()

    def update_ref(self, ref: str, sha: str, force: bool) -> None:
        """git/update-ref's rules: protection first, then the object, then fast-forward."""
        current = self.refs.get(ref)
        if current is None:
            raise GitHubError(422, "Reference does not exist")
        branch = ref.removeprefix("refs/heads/")
        if ref.startswith("refs/heads/") and branch in self.protected:
            raise GitHubError(422, f"Protected branch update failed for {ref}.")
        if self.objects.get(sha, Commit) is None:
            raise GitHubError(422, "Object does not exist")
        if not force and not self.objects.is_ancestor(current, sha):
            raise GitHubError(422, "Update is not a fast forward")
        self.refs[ref] = sha
        self.pushed_at = now()

    def merge(self, pr: PullRequest, login: str) -> str:
        base_sha, head_sha = self.branch_sha(pr.base), self.head_sha(pr)
        assert base_sha and head_sha
        ancestor = self.objects.merge_base(base_sha, head_sha)
        merged = three_way_merge(
            self.snapshot(ancestor) if ancestor else {}, self.snapshot(base_sha), self.snapshot(head_sha)
        )
        message = f"Merge pull request #{pr.number} from {self.owner}/{pr.head}\n\n{pr.title}"
        sha = self.new_commit((base_sha, head_sha), merged, message, login)
        self.close(pr)
        self.move_branch(pr.base, sha)
        pr.merged_at, pr.merged_by, pr.merge_commit_sha = pr.closed_at, login, sha
        return sha

    # -- pull requests -----------------------------------------------------------------------

    def pull(self, number: int) -> PullRequest:
        if number not in self.pulls:
            raise not_found()
        return self.pulls[number]

    def head_sha(self, pr: PullRequest) -> str:
        return pr.closed_head_sha or self.branch_sha(pr.head) or ""

    def base_sha(self, pr: PullRequest) -> str:
        return pr.closed_base_sha or self.branch_sha(pr.base) or ""

    def close(self, pr: PullRequest) -> None:
        pr.closed_head_sha, pr.closed_base_sha = self.head_sha(pr), self.base_sha(pr)
        pr.state, pr.closed_at = "closed", now()
        pr.updated_at = pr.closed_at

    def reopen(self, pr: PullRequest) -> None:
        pr.state, pr.closed_at, pr.closed_head_sha, pr.closed_base_sha = "open", None, None, None
        pr.updated_at = now()

    def pull_files(self, pr: PullRequest, head_sha: str | None = None) -> list[diffs.FileDiff]:
        """Files changed between the merge base and the head, as GitHub's three-dot diff."""
        head_sha = head_sha or self.head_sha(pr)
        base = self.objects.merge_base(self.base_sha(pr), head_sha)
        return diffs.diff_snapshots(
            self.snapshot(base) if base else {}, self.snapshot(head_sha), self.objects.blob, self.state.patch_limit
        )

    def pull_commit_count(self, pr: PullRequest) -> int:
        return len(self.objects.ancestors(self.head_sha(pr)) - self.objects.ancestors(self.base_sha(pr)))

    def open_pull_for(self, head: str, base: str) -> PullRequest | None:
        return next((p for p in self.pulls.values() if p.state == "open" and (p.head, p.base) == (head, base)), None)

    # -- labels, comments, people ------------------------------------------------------------

    def label(self, name: str) -> Label | None:
        return self.labels.get(name.lower())

    def add_label(self, name: str, color: str = "ededed", description: str | None = None) -> Label:
        label = Label(self.state.next_id(), name, color.lstrip("#").lower(), description)
        self.labels[name.lower()] = label
        return label

    def add_comment(self, number: int, body: str, login: str, via_app: str | None = None) -> IssueComment:
        moment = now()
        comment = IssueComment(self.state.next_id(), number, body, login, moment, moment, via_app)
        self.comments[comment.id] = comment
        return comment

    def comment(self, comment_id: int) -> IssueComment:
        if comment_id not in self.comments:
            raise not_found()
        return self.comments[comment_id]

    def permission(self, login: str) -> tuple[str, str]:
        """(permission, role_name) as repos/get-collaborator-permission-level reports them."""
        role = "admin" if login == self.owner else self.collaborators.get(login)
        if role:
            return ROLE_PERMISSIONS[role], role
        return ("none", "none") if self.private else ("read", "read")

    def association(self, login: str) -> str:
        if login == self.owner:
            return "OWNER"
        if login in self.collaborators:
            return "COLLABORATOR"
        default = self.branch_sha(self.default_branch)
        if default and any(self.objects.commit(sha).author.name == login for sha in self.objects.ancestors(default)):
            return "CONTRIBUTOR"
        return "NONE"


def three_way_merge(ancestor: Snapshot, ours: Snapshot, theirs: Snapshot) -> Snapshot:
    merged: Snapshot = {}
    for path in ancestor.keys() | ours.keys() | theirs.keys():
        old, mine, other = ancestor.get(path), ours.get(path), theirs.get(path)
        if other == old or other == mine:
            result = mine
        elif mine == old:
            result = other
        else:
            raise ValueError(f"merge conflict in {path}")
        if result is not None:
            merged[path] = result
    return merged


class GitHubState:
    """All repositories, and the Python API tests use to seed and inspect them."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.repos: dict[str, Repo] = {}  # keyed by lower-case full name: GitHub names are case-insensitive
        self.organizations: set[str] = set()
        self.patch_limit = DEFAULT_PATCH_LIMIT
        self._ids = itertools.count(1001)
        self._user_ids: dict[str, int] = {}

    def next_id(self) -> int:
        return next(self._ids)

    def user_id(self, login: str) -> int:
        with self.lock:
            return self._user_ids.setdefault(login, 5000 + len(self._user_ids))

    def repo(self, full_name: str) -> Repo:
        try:
            return self.repos[full_name.lower()]
        except KeyError:
            raise KeyError(f"no repository {full_name!r}") from None

    def find_repo(self, owner: str, name: str) -> Repo:
        repo = self.repos.get(f"{owner}/{name}".lower())
        if repo is None:
            raise not_found()
        return repo

    # -- seeding -----------------------------------------------------------------------------

    def create_repo(
        self,
        full_name: str,
        files: dict[str, Content] | None = None,
        default_branch: str = "main",
        private: bool = False,
    ) -> str:
        """Create a repository whose default branch holds one commit with ``files``; return its sha."""
        owner, name = full_name.split("/")
        with self.lock:
            if full_name.lower() in self.repos:
                raise ValueError(f"{full_name} already exists")
            repo = Repo(self, owner, name, private, default_branch)
            self.repos[full_name.lower()] = repo
            self.organizations.add(owner)
            sha = repo.new_commit((), repo.apply({}, dict(files or {})), "Initial commit", owner)
            repo.move_branch(default_branch, sha)
            return sha

    def commit(
        self,
        repo: str,
        branch: str,
        files: dict[str, Content | None],
        message: str = "Update files",
        author: str = "someone",
    ) -> str:
        """Commit ``files`` (None deletes a path) on top of ``branch``, as a direct push would."""
        with self.lock:
            return self.repo(repo).commit_files(branch, files, message, author)

    def create_branch(self, repo: str, name: str, from_branch: str = "main") -> str:
        with self.lock:
            r = self.repo(repo)
            if r.branch_sha(name):
                raise ValueError(f"branch {name} already exists")
            sha = r.branch_sha(from_branch)
            if sha is None:
                raise KeyError(f"{repo} has no branch {from_branch!r}")
            r.move_branch(name, sha)
            return sha

    def create_label(self, repo: str, name: str, color: str = "ededed", description: str | None = None) -> None:
        with self.lock:
            self.repo(repo).add_label(name, color, description)

    def open_pull_request(
        self,
        repo: str,
        head: str,
        base: str = "main",
        title: str = "Add a case study",
        author: str = "contributor",
        draft: bool = False,
        body: str | None = "",
    ) -> int:
        with self.lock:
            r = self.repo(repo)
            if not r.branch_sha(head) or not r.branch_sha(base):
                raise KeyError(f"{repo}: both {head!r} and {base!r} must be branches")
            moment = now()
            number = r.next_number()
            pr = PullRequest(
                self.next_id(), self.next_id(), number, title, body, author, head, base, draft, moment, moment
            )
            r.pulls[number] = pr
            return number

    def merge_pull_request(self, repo: str, number: int, merged_by: str = "maintainer") -> str:
        """Merge with a merge commit (bypassing branch protection, as an admin merge does)."""
        with self.lock:
            r = self.repo(repo)
            return r.merge(r.pull(number), merged_by)

    def close_pull_request(self, repo: str, number: int) -> None:
        with self.lock:
            r = self.repo(repo)
            r.close(r.pull(number))

    def set_draft(self, repo: str, number: int, draft: bool) -> None:
        """Mark a pull request draft or ready for review (GitHub does this through GraphQL)."""
        with self.lock:
            pr = self.repo(repo).pull(number)
            pr.draft, pr.updated_at = draft, now()

    def add_collaborator(self, repo: str, login: str, role: str = "write") -> None:
        if role not in ROLE_PERMISSIONS:
            raise ValueError(f"role must be one of {sorted(ROLE_PERMISSIONS)}")
        with self.lock:
            self.repo(repo).collaborators[login] = role

    def protect_branch(self, repo: str, branch: str) -> None:
        with self.lock:
            self.repo(repo).protected.add(branch)

    # -- inspection --------------------------------------------------------------------------

    def issue_comments(self, repo: str, number: int) -> list[IssueComment]:
        with self.lock:
            return copy.deepcopy([c for c in self.repo(repo).comments.values() if c.number == number])

    def review_comments(self, repo: str, number: int) -> list[ReviewComment]:
        with self.lock:
            return copy.deepcopy([c for c in self.repo(repo).review_comments if c.number == number])

    def reviews(self, repo: str, number: int) -> list[Review]:
        with self.lock:
            return copy.deepcopy([r for r in self.repo(repo).reviews if r.number == number])

    def check_runs(self, repo: str, head_sha: str | None = None) -> list[CheckRun]:
        with self.lock:
            runs = self.repo(repo).check_runs.values()
            return copy.deepcopy([r for r in runs if head_sha in (None, r.head_sha)])

    def labels(self, repo: str) -> dict[str, dict[str, str | None]]:
        with self.lock:
            return {
                label.name: {"color": label.color, "description": label.description}
                for label in self.repo(repo).labels.values()
            }

    def pr_labels(self, repo: str, number: int) -> list[str]:
        with self.lock:
            return [label.name for label in self.repo(repo).pull(number).labels]

    def branch_sha(self, repo: str, branch: str) -> str | None:
        with self.lock:
            return self.repo(repo).branch_sha(branch)

    def file_at(self, repo: str, ref: str, path: str) -> bytes | None:
        with self.lock:
            r = self.repo(repo)
            sha = r.resolve(ref)
            if sha is None:
                raise KeyError(f"{repo} has no ref {ref!r}")
            return r.read(sha, path)

    def commits(self, repo: str, branch: str) -> list[dict]:
        """Every commit reachable from ``branch``, newest first: sha, message, author, parents."""
        with self.lock:
            r = self.repo(repo)
            head = r.branch_sha(branch)
            if head is None:
                raise KeyError(f"{repo} has no branch {branch!r}")
            shas = sorted(r.objects.ancestors(head), key=lambda s: r.commit_order.get(s, -1), reverse=True)
            return [
                {
                    "sha": sha,
                    "message": r.objects.commit(sha).message,
                    "author": r.objects.commit(sha).author.name,
                    "parents": list(r.objects.commit(sha).parents),
                }
                for sha in shas
            ]

    def pulls(self, repo: str) -> list[PullRequest]:
        with self.lock:
            return copy.deepcopy(list(self.repo(repo).pulls.values()))
