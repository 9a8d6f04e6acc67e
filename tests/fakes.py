"""An intent-level fake of the GitHub gateway, for handler tests without HTTP.

It keeps state (files per ref, pull requests, comments, check runs, labels)
and implements the gateway's methods on it, so tests assert on the resulting
state. The real gateway is tested against the HTTP fake in tests/fake_github.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
from pathlib import Path

from bot.core.github_data import (
    BranchProtected,
    ChangedFile,
    Conflict,
    IssueComment,
    PullRequest,
    ReviewComment,
    TreeEntry,
)

REPO = Path(__file__).resolve().parent.parent


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def patch_of(old: bytes | None, new: bytes) -> str | None:
    try:
        a = old.decode().splitlines() if old else []
        b = new.decode().splitlines()
    except UnicodeDecodeError:
        return None
    lines = list(difflib.unified_diff(a, b, lineterm="", n=3))[2:]
    return "\n".join(lines)


def base_files() -> dict[str, bytes]:
    """This repository's config and template, the minimum a knowledge base needs."""
    return {
        ".github/challenge-bot.yml": (REPO / ".github/challenge-bot.yml").read_bytes(),
        "templates/case-study.md": (REPO / "templates/case-study.md").read_bytes(),
        "README.md": b"# KB\n\n<!-- case-study-index:start -->\n<!-- case-study-index:end -->\n",
    }


class FakeGateway:
    def __init__(self, repo: str = "octo/kb", files: dict[str, bytes] | None = None) -> None:
        self.repo = repo
        self.commits: dict[str, dict[str, bytes]] = {}
        self.branches: dict[str, str] = {}
        self.protected: set[str] = set()
        self._ids = itertools.count(1)
        self.pulls: dict[int, dict] = {}
        self.comments: dict[int, list[IssueComment]] = {}
        self.review_comment_list: dict[int, list[ReviewComment]] = {}
        self.reviews: dict[int, list[dict]] = {}
        self.check_runs: list = []
        self.repo_labels: dict[str, tuple[str, str]] = {}
        self.pr_labels: dict[int, list[str]] = {}
        self.roles: dict[str, str] = {}
        self.calls: list[str] = []
        self.messages: dict[str, str] = {}
        self.branches["main"] = self._commit(files if files is not None else base_files())

    # --- seeding -----------------------------------------------------------------------

    def _commit(self, files: dict[str, bytes]) -> str:
        sha = hashlib.sha1(repr(sorted(files.items())).encode() + str(next(self._ids)).encode()).hexdigest()
        self.commits[sha] = dict(files)
        return sha

    def push(self, branch: str, changes: dict[str, bytes | None]) -> str:
        files = dict(self.commits[self.branches[branch]])
        for path, data in changes.items():
            if data is None:
                files.pop(path, None)
            else:
                files[path] = data
        self.branches[branch] = self._commit(files)
        return self.branches[branch]

    def open_pull(self, changes: dict[str, bytes | None], author: str = "contributor", labels: list[str] | None = None) -> int:
        number = len(self.pulls) + 1
        branch = f"pr-{number}"
        self.branches[branch] = self.branches["main"]
        self.push(branch, changes)
        self.pulls[number] = {"branch": branch, "base": "main", "base_sha": self.branches["main"], "state": "open", "author": author}
        self.pr_labels[number] = list(labels or [])
        return number

    # --- reading -------------------------------------------------------------------------

    def pull_request(self, number: int) -> PullRequest:
        self.calls.append("pull_request")
        pr = self.pulls[number]
        head = self.branches[pr["branch"]]
        return PullRequest(number, head, pr["branch"], pr["base"], pr["state"], False, False, tuple(self.pr_labels[number]), pr["author"])

    def changed_files(self, number: int) -> list[ChangedFile]:
        self.calls.append("changed_files")
        pr = self.pulls[number]
        old, new = self.commits[pr["base_sha"]], self.commits[self.branches[pr["branch"]]]
        out = []
        for path in sorted(set(old) | set(new)):
            if path not in new:
                out.append(ChangedFile(path, "removed", None, patch_of(old[path], b"")))
            elif path not in old:
                out.append(ChangedFile(path, "added", blob_sha(new[path]), patch_of(None, new[path])))
            elif old[path] != new[path]:
                out.append(ChangedFile(path, "modified", blob_sha(new[path]), patch_of(old[path], new[path])))
        return out

    def _all_blobs(self) -> dict[str, bytes]:
        return {blob_sha(data): data for files in self.commits.values() for data in files.values()}

    def read_blob(self, sha: str) -> bytes:
        self.calls.append("read_blob")
        return self._all_blobs()[sha]

    def _files_at(self, ref: str) -> dict[str, bytes]:
        return self.commits[self.branches.get(ref, ref)]

    def read_file(self, path: str, ref: str) -> bytes | None:
        self.calls.append("read_file")
        return self._files_at(ref).get(path)

    def tree(self, ref: str) -> list[TreeEntry]:
        self.calls.append("tree")
        return [TreeEntry(p, blob_sha(d), len(d)) for p, d in sorted(self._files_at(ref).items())]

    def default_branch(self) -> str:
        return "main"

    def branch_sha(self, branch: str) -> str | None:
        self.calls.append("branch_sha")
        return self.branches.get(branch)

    def permission(self, login: str) -> str:
        self.calls.append("permission")
        return self.roles.get(login, "read")

    # --- writing -----------------------------------------------------------------------------

    def publish_check_run(self, run) -> int:
        self.calls.append("publish_check_run")
        self.check_runs.append(run)
        return len(self.check_runs)

    def issue_comments(self, number: int) -> list[IssueComment]:
        self.calls.append("issue_comments")
        return list(self.comments.get(number, []))

    def create_comment(self, number: int, body: str) -> int:
        self.calls.append("create_comment")
        comment = IssueComment(next(self._ids), body, "challenge-bot[bot]", True)
        self.comments.setdefault(number, []).append(comment)
        return comment.id

    def update_comment(self, comment_id: int, body: str) -> None:
        self.calls.append("update_comment")
        for comments in self.comments.values():
            for i, c in enumerate(comments):
                if c.id == comment_id:
                    comments[i] = c._replace(body=body)

    def review_comments(self, number: int) -> list[ReviewComment]:
        self.calls.append("review_comments")
        return list(self.review_comment_list.get(number, []))

    def create_review(self, number: int, head_sha: str, body: str, comments) -> None:
        self.calls.append("create_review")
        self.reviews.setdefault(number, []).append({"commit_id": head_sha, "body": body, "comments": list(comments)})
        for c in comments:
            self.review_comment_list.setdefault(number, []).append(ReviewComment(next(self._ids), c.path, c.line, c.body, head_sha, "challenge-bot[bot]"))

    def ensure_labels(self, specs) -> None:
        self.calls.append("ensure_labels")
        for spec in specs:
            self.repo_labels.setdefault(spec.name, (spec.color, spec.description))

    def add_labels(self, number: int, names) -> None:
        self.calls.append("add_labels")
        for name in names:
            self.repo_labels.setdefault(name, ("ededed", ""))
            if name not in self.pr_labels[number]:
                self.pr_labels[number].append(name)

    def remove_label(self, number: int, name: str) -> None:
        self.calls.append("remove_label")
        if name in self.pr_labels[number]:
            self.pr_labels[number].remove(name)

    def commit_files(self, branch: str, parent_sha: str, files: dict[str, str], message: str) -> str:
        self.calls.append("commit_files")
        if branch in self.protected:
            raise BranchProtected("Protected branch update failed", 422)
        if self.branches.get(branch) != parent_sha:
            raise Conflict("Update is not a fast forward", 422)
        new = dict(self.commits[parent_sha]) | {p: t.encode() for p, t in files.items()}
        self.branches[branch] = self._commit(new)
        self.messages[self.branches[branch]] = message
        return self.branches[branch]

    def commit_on_new_base(self, branch: str, base_sha: str, files: dict[str, str], message: str) -> str:
        new = dict(self.commits[base_sha]) | {p: t.encode() for p, t in files.items()}
        self.branches[branch] = self._commit(new)
        self.messages[self.branches[branch]] = message
        return self.branches[branch]

    def find_open_pull(self, head_branch: str, base: str | None, owner: str | None = None) -> int | None:
        return next((n for n, p in self.pulls.items() if p["branch"] == head_branch and p["state"] == "open"), None)

    def create_pull(self, head_branch: str, base: str, title: str, body: str) -> int:
        number = len(self.pulls) + 1
        self.pulls[number] = {"branch": head_branch, "base": base, "base_sha": self.branches[base], "state": "open", "author": "challenge-bot[bot]", "title": title, "body": body}
        self.pr_labels[number] = []
        return number

    def update_pull(self, number: int, title: str, body: str) -> None:
        self.pulls[number] |= {"title": title, "body": body}

    # --- helpers for assertions ---------------------------------------------------------------

    def file(self, branch: str, path: str) -> bytes | None:
        return self.commits[self.branches[branch]].get(path)
