"""An intent-level fake of the GitHub gateway, for handler tests without HTTP.

It keeps state (files per commit, branches, pull requests, comments, check runs,
labels) and implements ``bot.github.gateway.Gateway`` on it, so tests assert on
the resulting state. ``test_gateway_contract.py`` runs one suite against this fake
and against ``PyGithubGateway`` talking to the HTTP fake in ``fake_github``: where
the two differ, this fake is wrong. Diffs come from ``fake_github.diffs``, so
patches, renames and the lines a review may comment on are GitHub's.
"""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from bot.core.github_data import (
    Annotation,
    BlobContent,
    BranchProtected,
    ChangedFile,
    CheckRun,
    CheckRunInfo,
    Conflict,
    GatewayError,
    HookDelivery,
    InlineComment,
    IssueComment,
    LabelSpec,
    NotFound,
    PullRequest,
    ReviewComment,
    TreeEntry,
)
from fake_github.diffs import FileDiff, diff_snapshots, find_line
from fake_github.gitobjects import FILE_MODE, Snapshot, blob_sha
from fake_github.state import DEFAULT_PATCH_LIMIT

if TYPE_CHECKING:
    from bot.github.gateway import AppApi, Gateway

MAX_ANNOTATIONS_PER_REQUEST = 50

REPO = Path(__file__).resolve().parent.parent
BOT = "challenge-bot[bot]"  # who the fake's writes are attributed to, as an App installation's are
AUTO_LABEL = ("ededed", "")  # a label created by adding it to a pull request


def base_files() -> dict[str, bytes]:
    """This repository's config and template, the minimum a knowledge base needs."""
    return {
        ".github/challenge-bot.yml": (REPO / ".github/challenge-bot.yml").read_bytes(),
        "templates/case-study.md": (REPO / "templates/case-study.md").read_bytes(),
        "README.md": b"# KB\n\n<!-- case-study-index:start -->\n<!-- case-study-index:end -->\n",
    }


def unprocessable(message: str) -> GatewayError:
    """What ``PyGithubGateway`` raises for a 422 it has no narrower error for."""
    return GatewayError(f"GitHub answered 422: {message}", 422)


class FakeGateway:
    def __init__(self, repo: str = "octo/kb", files: dict[str, bytes] | None = None) -> None:
        self.repo = repo
        self.commits: dict[str, dict[str, bytes]] = {}
        self.parents: dict[str, str | None] = {}
        self.branches: dict[str, str] = {}
        self.protected: set[str] = set()
        self._ids = itertools.count(1)
        self.pulls: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[IssueComment]] = {}
        self.review_comment_list: dict[int, list[ReviewComment]] = {}
        self.reviews: dict[int, list[dict[str, Any]]] = {}
        self._check_runs: dict[int, dict[str, Any]] = {}  # id -> run, external_id, status
        self.repo_labels: dict[str, tuple[str, str]] = {}
        self.pr_labels: dict[int, list[str]] = {}
        self.roles: dict[str, str] = {}
        self.calls: list[str] = []
        self.messages: dict[str, str] = {}
        self.branches["main"] = self._commit(files if files is not None else base_files(), None)

    # --- seeding -----------------------------------------------------------------------

    def _commit(self, files: dict[str, bytes], parent: str | None) -> str:
        sha = hashlib.sha1(repr(sorted(files.items())).encode() + str(next(self._ids)).encode()).hexdigest()
        self.commits[sha] = dict(files)
        self.parents[sha] = parent
        return sha

    def create_branch(self, branch: str, from_branch: str = "main") -> str:
        self.branches[branch] = self.branches[from_branch]
        return self.branches[branch]

    def push(self, branch: str, changes: dict[str, bytes | None]) -> str:
        head = self.branches[branch]
        files = dict(self.commits[head])
        for path, data in changes.items():
            if data is None:
                files.pop(path, None)
            else:
                files[path] = data
        self.branches[branch] = self._commit(files, head)
        return self.branches[branch]

    def open_pull_from(self, branch: str, author: str = "contributor", labels: Iterable[str] = (), base: str = "main") -> int:
        number = len(self.pulls) + 1
        self.pulls[number] = {"branch": branch, "base": base, "base_sha": self.branches[base], "state": "open", "author": author}
        self.pr_labels[number] = []
        self._attach(number, labels)
        return number

    def open_pull(self, changes: dict[str, bytes | None], author: str = "contributor", labels: list[str] | None = None) -> int:
        branch = f"pr-{len(self.pulls) + 1}"
        self.create_branch(branch)
        self.push(branch, changes)
        return self.open_pull_from(branch, author, labels or ())

    # --- lookups that fail as GitHub does ------------------------------------------------------

    def _pull(self, number: int) -> dict[str, Any]:
        if number not in self.pulls:
            raise NotFound("Not Found", 404)
        return self.pulls[number]

    def _files(self, commit: str) -> dict[str, bytes]:
        if commit not in self.commits:
            raise NotFound("Not Found", 404)
        return self.commits[commit]

    def _is_ancestor(self, ancestor: str, commit: str | None) -> bool:
        while commit is not None:
            if commit == ancestor:
                return True
            commit = self.parents[commit]
        return False

    def _diff(self, number: int, head: str | None = None) -> list[FileDiff]:
        pr = self._pull(number)
        blobs = {blob_sha(data): data for files in self.commits.values() for data in files.values()}

        def snapshot(commit: str) -> Snapshot:
            return {path: (FILE_MODE, blob_sha(data)) for path, data in self.commits[commit].items()}

        head = head or self.branches[pr["branch"]]
        return diff_snapshots(snapshot(pr["base_sha"]), snapshot(head), blobs.__getitem__, DEFAULT_PATCH_LIMIT)

    def _label(self, name: str) -> str | None:
        """The repository's label of that name: GitHub matches label names case-insensitively."""
        return next((known for known in self.repo_labels if known.lower() == name.lower()), None)

    # --- reading -------------------------------------------------------------------------

    def pull_request(self, number: int) -> PullRequest:
        self.calls.append("pull_request")
        pr = self._pull(number)
        head = self.branches[pr["branch"]]
        return PullRequest(
            number, head, pr["branch"], pr["base"], pr["state"], pr.get("merged", False), pr.get("draft", False), tuple(self.pr_labels[number]), pr["author"]
        )

    def changed_files(self, number: int) -> list[ChangedFile]:
        self.calls.append("changed_files")
        return [ChangedFile(f.filename, f.status, f.sha, f.patch, f.previous_filename, f.additions, f.deletions) for f in self._diff(number)]

    def read_blob(self, sha: str) -> bytes:
        self.calls.append("read_blob")
        found = next((data for files in self.commits.values() for data in files.values() if blob_sha(data) == sha), None)
        if found is None:
            raise NotFound("Not Found", 404)
        return found

    def pull_request_and_blobs(self, number: int, shas: Sequence[str]) -> tuple[PullRequest, dict[str, BlobContent]]:
        pull, found = self.pull_request(number), self.read_blobs(shas)
        del self.calls[-2:]
        self.calls.append("pull_request_and_blobs")
        return pull, found

    def read_blobs(self, shas: Sequence[str]) -> dict[str, BlobContent]:
        """As GitHub's GraphQL answers: exact bytes for UTF-8 text, None for binary or other bytes."""
        self.calls.append("read_blobs")
        known = {blob_sha(data): data for files in self.commits.values() for data in files.values()}
        found = {}
        for sha in dict.fromkeys(shas):
            if sha in known:
                data = known[sha]
                try:
                    exact = None if b"\0" in data[:8000] else data.decode("utf-8").encode("utf-8")
                except UnicodeDecodeError:
                    exact = None
                found[sha] = BlobContent(len(data), exact)
        return found

    def read_file(self, path: str, ref: str) -> bytes | None:
        self.calls.append("read_file")
        files = self.commits.get(self.branches.get(ref, ref))
        return None if files is None else files.get(path)

    def tree(self, ref: str) -> list[TreeEntry]:
        self.calls.append("tree")
        return [TreeEntry(p, blob_sha(d), len(d)) for p, d in sorted(self._files(ref).items())]

    def default_branch(self) -> str:
        self.calls.append("default_branch")
        return "main"

    def branch_sha(self, branch: str) -> str | None:
        self.calls.append("branch_sha")
        return self.branches.get(branch)

    def permission(self, login: str) -> str:
        self.calls.append("permission")
        return self.roles.get(login, "read")

    def open_pulls(self) -> list[PullRequest]:
        self.calls.append("open_pulls")
        return [self.pull_request(n) for n in sorted(self.pulls, reverse=True) if self.pulls[n]["state"] == "open"]

    # --- pull-request feedback ---------------------------------------------------------------

    @property
    def runs(self) -> list[CheckRun]:
        """Every check run as it stands now (annotations accumulated), oldest first; "" while in progress."""
        return list(self.runs_by_id().values())

    def runs_by_id(self) -> dict[int, CheckRun]:
        return {i: r["run"]._replace(conclusion=r["run"].conclusion if r["status"] == "completed" else "") for i, r in sorted(self._check_runs.items())}

    def check_runs(self, head_sha: str, name: str | None = None) -> list[CheckRunInfo]:
        self.calls.append("check_runs")
        return [
            CheckRunInfo(i, r["run"].name, r["external_id"], r["status"], r["run"].conclusion if r["status"] == "completed" else None, r["run"].title, r["run"].summary, len(r["run"].annotations))
            for i, r in sorted(self._check_runs.items(), reverse=True)
            if r["run"].head_sha == head_sha and name in (None, r["run"].name)
        ]

    def create_check_run(self, run: CheckRun, external_id: str, annotations: Sequence[Annotation], completed: bool) -> int:
        self.calls.append("create_check_run")
        if run.head_sha not in self.commits:
            raise unprocessable(f"No commit found for SHA: {run.head_sha}")
        _check_batch(annotations)
        check_run_id = next(self._ids)
        self._check_runs[check_run_id] = {"run": run._replace(annotations=()), "external_id": "", "status": "queued"}
        self._apply(check_run_id, run, external_id, annotations, completed)
        return check_run_id

    def update_check_run(self, check_run_id: int, run: CheckRun, external_id: str, annotations: Sequence[Annotation], completed: bool) -> None:
        self.calls.append("update_check_run")
        if check_run_id not in self._check_runs:
            raise NotFound("Not Found", 404)
        self._apply(check_run_id, run, external_id, annotations, completed)

    def _apply(self, check_run_id: int, run: CheckRun, external_id: str, annotations: Sequence[Annotation], completed: bool) -> None:
        _check_batch(annotations)
        stored = self._check_runs[check_run_id]
        kept = stored["run"]
        stored["run"] = kept._replace(conclusion=run.conclusion, title=run.title, summary=run.summary, text=run.text, annotations=kept.annotations + tuple(annotations))
        stored["external_id"] = external_id
        stored["status"] = "completed" if completed else "in_progress"

    def issue_comments(self, number: int) -> list[IssueComment]:
        self.calls.append("issue_comments")
        self._pull(number)
        return list(self.comments.get(number, []))

    def add_comment(self, number: int, body: str, author: str) -> int:
        """A comment by someone else (``author``)."""
        self._pull(number)
        comment = IssueComment(next(self._ids), body, author, author.endswith("[bot]"))
        self.comments.setdefault(number, []).append(comment)
        return comment.id

    def create_comment(self, number: int, body: str) -> int:
        self.calls.append("create_comment")
        return self.add_comment(number, body, BOT)

    def update_comment(self, comment_id: int, body: str) -> None:
        self.calls.append("update_comment")
        for comments in self.comments.values():
            for i, c in enumerate(comments):
                if c.id == comment_id:
                    comments[i] = c._replace(body=body)
                    return
        raise NotFound("Not Found", 404)

    def review_comments(self, number: int) -> list[ReviewComment]:
        self.calls.append("review_comments")
        self._pull(number)
        return list(self.review_comment_list.get(number, []))

    def create_review(self, number: int, head_sha: str, body: str, comments: Iterable[InlineComment]) -> None:
        self.calls.append("create_review")
        self._pull(number)
        comments = list(comments)
        if not (body or comments):
            raise unprocessable("Unprocessable Entity")
        files = {f.filename: f for f in self._diff(number, self._known(head_sha))}
        for c in comments:  # all or nothing, as GitHub
            if not _lands(files.get(c.path), c):
                raise unprocessable("Unprocessable Entity")
        self.reviews.setdefault(number, []).append({"commit_id": head_sha, "body": body, "comments": comments})
        for c in comments:
            self.review_comment_list.setdefault(number, []).append(ReviewComment(next(self._ids), c.path, c.line, c.body, head_sha, BOT))

    def _known(self, commit: str) -> str:
        if commit not in self.commits:
            raise unprocessable("Unprocessable Entity")
        return commit

    def ensure_labels(self, specs: Iterable[LabelSpec]) -> None:
        self.calls.append("ensure_labels")
        for spec in specs:
            if self._label(spec.name) is None:
                self.repo_labels[spec.name] = (spec.color, spec.description)

    def add_labels(self, number: int, names: Iterable[str]) -> None:
        self.calls.append("add_labels")
        self._attach(number, names)

    def _attach(self, number: int, names: Iterable[str]) -> None:
        """Put labels on a pull request, creating the repository labels it lacks, as GitHub does."""
        self._pull(number)
        for name in names:
            known = self._label(name)
            if known is None:
                known = name
                self.repo_labels[name] = AUTO_LABEL
            if known not in self.pr_labels[number]:
                self.pr_labels[number].append(known)

    def remove_label(self, number: int, name: str) -> None:
        self.calls.append("remove_label")
        labels = self.pr_labels.get(number, [])  # GitHub's 404 for a missing pull request reads as "already gone"
        on_pull = next((label for label in labels if label.lower() == name.lower()), None)
        if on_pull is not None:
            labels.remove(on_pull)

    # --- writing files -----------------------------------------------------------------------

    def _commit_on(self, parent: str, files: dict[str, str], message: str) -> str:
        sha = self._commit(dict(self._files(parent)) | {p: t.encode() for p, t in files.items()}, parent)
        self.messages[sha] = message
        return sha

    def _check_unprotected(self, branch: str) -> None:
        if branch in self.protected:
            raise BranchProtected(f"Protected branch update failed for refs/heads/{branch}.", 422)

    def commit_files(self, branch: str, parent_sha: str, files: dict[str, str], message: str) -> str:
        self.calls.append("commit_files")
        sha = self._commit_on(parent_sha, files, message)
        if branch not in self.branches:
            raise unprocessable("Reference does not exist")
        self._check_unprotected(branch)
        if not self._is_ancestor(self.branches[branch], sha):
            raise Conflict("Update is not a fast forward", 422)
        self.branches[branch] = sha
        return sha

    def commit_on_new_base(self, branch: str, base_sha: str, files: dict[str, str], message: str) -> str:
        self.calls.append("commit_on_new_base")
        sha = self._commit_on(base_sha, files, message)
        self._check_unprotected(branch)
        self.branches[branch] = sha
        return sha

    def find_open_pull(self, head_branch: str, base: str | None, owner: str | None = None) -> int | None:
        self.calls.append("find_open_pull")
        if (owner or self.repo.split("/")[0]).lower() != self.repo.split("/")[0].lower():
            return None  # every pull request here comes from a branch of this repository
        found = [n for n, p in self.pulls.items() if p["branch"] == head_branch and p["state"] == "open" and base in (None, p["base"])]
        return max(found, default=None)  # GitHub lists the newest first

    def create_pull(self, head_branch: str, base: str, title: str, body: str) -> int:
        self.calls.append("create_pull")
        if head_branch not in self.branches or base not in self.branches or not title:
            raise unprocessable("Validation Failed")
        if self.find_open_pull(head_branch, base) is not None:
            raise unprocessable("Validation Failed")  # "A pull request already exists for ..."
        if self._is_ancestor(self.branches[head_branch], self.branches[base]):
            raise unprocessable("Validation Failed")  # "No commits between ..."
        number = self.open_pull_from(head_branch, BOT, base=base)
        self.pulls[number] |= {"title": title, "body": body}
        return number

    def update_pull(self, number: int, title: str, body: str) -> None:
        self.calls.append("update_pull")
        self._pull(number).update(title=title, body=body)

    # --- helpers for assertions ---------------------------------------------------------------

    def file(self, branch: str, path: str) -> bytes | None:
        return self.commits[self.branches[branch]].get(path)


def _check_batch(annotations: Sequence[Annotation]) -> None:
    if len(annotations) > MAX_ANNOTATIONS_PER_REQUEST:  # as PyGithubGateway: refused before sending
        raise ValueError(f"at most {MAX_ANNOTATIONS_PER_REQUEST} annotations per request, got {len(annotations)}")


def _lands(diff: FileDiff | None, comment: InlineComment) -> bool:
    """Whether GitHub takes a review comment there: on lines the patch shows, a range within one hunk."""
    if diff is None:
        return False
    end = find_line(diff, "RIGHT", comment.line)
    if end is None or comment.start_line is None:
        return end is not None
    start = find_line(diff, "RIGHT", comment.start_line)
    return start is not None and start[0] == end[0] and start[1] < end[1]


class FakeAppApi:
    """The App-level API in memory: a webhook delivery log, redeliveries asked for, installations."""

    def __init__(self) -> None:
        self.deliveries: list[HookDelivery] = []
        self.redelivered: list[int] = []
        self.installation_repos: dict[int, list[str]] = {}
        self._ids = itertools.count(1)

    def record(self, event: str, action: str | None = None, status_code: int = 202, guid: str | None = None, redelivery: bool = False) -> HookDelivery:
        """A delivery GitHub made (``status_code`` 0 or 5xx: the App did not take it)."""
        number = next(self._ids)
        delivery = HookDelivery(number, guid or f"guid-{number}", f"2026-01-01T00:00:{number % 60:02d}Z", status_code, event, action, redelivery)
        self.deliveries.append(delivery)
        return delivery

    def hook_deliveries(self, since_id: int | None) -> list[HookDelivery]:
        return [d for d in self.deliveries if since_id is None or d.id > since_id]

    def redeliver(self, delivery_id: int) -> None:
        original = next((d for d in self.deliveries if d.id == delivery_id), None)
        if original is None:
            raise NotFound("Not Found", 404)
        self.redelivered.append(delivery_id)
        self.record(original.event, original.action, 202, original.guid, redelivery=True)

    def installations(self) -> list[int]:
        return sorted(self.installation_repos)

    def installation_repositories(self, installation_id: int) -> list[str]:
        if installation_id not in self.installation_repos:
            raise NotFound("Not Found", 404)
        return list(self.installation_repos[installation_id])


if TYPE_CHECKING:
    _: type[Gateway] = FakeGateway  # mypy proves the fake implements the seam
    _app: type[AppApi] = FakeAppApi
