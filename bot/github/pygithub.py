"""The GitHub gateway: the only module that imports PyGithub.

Intent-level methods take and return the plain data of ``bot.core.github_data``;
GitHub's errors become the few exceptions a caller can act on. Two factories
build gateways: one for a GitHub App installation (the webhook service), one
for a plain token (``GITHUB_TOKEN`` in Actions).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterable, TypeVar

import requests
from github import Auth, Github, GithubException, GithubIntegration
from github.GithubRetry import GithubRetry
from urllib3.util.retry import Retry

from bot.core.github_data import (
    BranchProtected,
    ChangedFile,
    CheckRun,
    Conflict,
    GatewayError,
    InlineComment,
    IssueComment,
    LabelSpec,
    NotFound,
    PullRequest,
    ReviewComment,
    TransientError,
    TreeEntry,
)

DEFAULT_API_URL = "https://api.github.com"
ANNOTATION_BATCH = 50  # GitHub takes at most 50 annotations per request; later requests append
MAX_FILES = 3000  # GitHub lists at most 3,000 files of a pull request

F = TypeVar("F", bound=Callable[..., Any])


def retry_policy(total: int = 4, backoff: float = 0.5, secondary_rate_wait: float = 60) -> Retry:
    """Retry idempotent requests on 5xx and rate limits.

    PyGithub's default also retries POST, which re-sends a comment whose
    response was lost and posts it twice; POST and PATCH are therefore retried
    one level up, after re-reading what is already there.
    """
    return GithubRetry(
        total=total,
        backoff_factor=backoff,
        secondary_rate_wait=secondary_rate_wait,
        allowed_methods=frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}),
    )


def _translated(method: F) -> F:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except GithubException as exc:
            raise _translate(exc) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"network error: {exc}") from exc
        except requests.exceptions.RetryError as exc:
            raise TransientError(f"GitHub kept failing: {exc}") from exc

    return wrapper  # type: ignore[return-value]


def _translate(exc: GithubException) -> GatewayError:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc)
    status = exc.status
    if status == 404:
        return NotFound(message, status)
    if status == 422 and "protected branch" in message.lower():
        return BranchProtected(message, status)
    if status == 409 or (status == 422 and ("fast forward" in message.lower() or "already exists" in message.lower())):
        return Conflict(message, status)
    if status >= 500 or status == 403 and "rate limit" in message.lower() or status == 429:
        return TransientError(message, status)
    return GatewayError(f"GitHub answered {status}: {message}", status)


class PyGithubGateway:
    """One repository, through one authenticated PyGithub client."""

    def __init__(self, gh: Github, repo: str) -> None:
        self.repo = repo
        self._gh = gh
        self._repo = gh.get_repo(repo)
        self._requester = gh.requester
        self._url = f"/repos/{repo}"

    def _call(self, verb: str, url: str, **kwargs: Any) -> Any:
        return self._requester.requestJsonAndCheck(verb, f"{self._url}{url}", **kwargs)[1]

    # --- reading ------------------------------------------------------------------

    @_translated
    def pull_request(self, number: int) -> PullRequest:
        data = self._call("GET", f"/pulls/{number}")
        return PullRequest(
            number=data["number"],
            head_sha=data["head"]["sha"],
            head_ref=data["head"]["ref"],
            base_ref=data["base"]["ref"],
            state=data["state"],
            merged=bool(data.get("merged")),
            draft=bool(data.get("draft")),
            labels=tuple(label["name"] for label in data.get("labels", [])),
            author=data["user"]["login"],
        )

    @_translated
    def changed_files(self, number: int) -> list[ChangedFile]:
        files = []
        for f in self._repo.get_pull(number).get_files():
            files.append(ChangedFile(f.filename, f.status, f.sha, f.patch, f.previous_filename, f.additions, f.deletions))
            if len(files) == MAX_FILES:
                break
        return files

    @_translated
    def read_blob(self, sha: str) -> bytes:
        import base64

        blob = self._call("GET", f"/git/blobs/{sha}")
        return base64.b64decode(blob["content"]) if blob.get("encoding") == "base64" else blob["content"].encode()

    @_translated
    def read_file(self, path: str, ref: str) -> bytes | None:
        """A file's bytes at a branch or commit, or None when it does not exist there."""
        from urllib.parse import quote

        try:
            data = self._call("GET", f"/contents/{quote(path)}", parameters={"ref": ref})
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise
        if isinstance(data, list) or data.get("type") != "file":
            return None
        if data.get("encoding") != "base64":  # GitHub leaves out files over 1 MB
            return self.read_blob(data["sha"])
        import base64

        return base64.b64decode(data["content"])

    @_translated
    def tree(self, ref: str) -> list[TreeEntry]:
        """Every file of a commit (recursive)."""
        tree_sha = self._call("GET", f"/git/commits/{ref}")["tree"]["sha"]
        data = self._call("GET", f"/git/trees/{tree_sha}", parameters={"recursive": "1"})
        if data.get("truncated"):
            raise GatewayError("the repository tree is too large for one listing")
        return [TreeEntry(e["path"], e["sha"], e.get("size", 0)) for e in data["tree"] if e["type"] == "blob"]

    @_translated
    def default_branch(self) -> str:
        return self._call("GET", "")["default_branch"]

    @_translated
    def branch_sha(self, branch: str) -> str | None:
        try:
            return self._call("GET", f"/git/ref/heads/{branch}")["object"]["sha"]
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise

    @_translated
    def permission(self, login: str) -> str:
        """The user's role on the repository: admin, maintain, write, triage, read or none."""
        try:
            data = self._call("GET", f"/collaborators/{login}/permission")
        except GithubException as exc:
            if exc.status == 404:
                return "none"
            raise
        return data.get("role_name") or data.get("permission") or "none"

    # --- pull-request feedback ----------------------------------------------------------

    @_translated
    def publish_check_run(self, run: CheckRun) -> int:
        annotations = [a._asdict() | {"annotation_level": a.level} for a in run.annotations]
        for a in annotations:
            del a["level"]
        first, rest = annotations[:ANNOTATION_BATCH], annotations[ANNOTATION_BATCH:]
        output = {"title": run.title, "summary": run.summary}
        if run.text:
            output["text"] = run.text
        created = self._call(
            "POST",
            "/check-runs",
            input={
                "name": run.name,
                "head_sha": run.head_sha,
                "status": "completed",
                "conclusion": run.conclusion,
                "output": output | {"annotations": first},
            },
        )
        for start in range(0, len(rest), ANNOTATION_BATCH):
            batch = rest[start : start + ANNOTATION_BATCH]
            self._call("PATCH", f"/check-runs/{created['id']}", input={"output": output | {"annotations": batch}})
        return created["id"]

    @_translated
    def issue_comments(self, number: int) -> list[IssueComment]:
        return [
            IssueComment(c.id, c.body or "", c.user.login, c.user.type == "Bot")
            for c in self._repo.get_issue(number).get_comments()
        ]

    @_translated
    def create_comment(self, number: int, body: str) -> int:
        return self._call("POST", f"/issues/{number}/comments", input={"body": body})["id"]

    @_translated
    def update_comment(self, comment_id: int, body: str) -> None:
        self._call("PATCH", f"/issues/comments/{comment_id}", input={"body": body})

    @_translated
    def review_comments(self, number: int) -> list[ReviewComment]:
        return [
            # GitHub moves commit_id forward while a comment still applies; the commit it was
            # written on is original_commit_id.
            ReviewComment(c.id, c.path, c.line, c.body, c.original_commit_id, c.user.login)
            for c in self._repo.get_pull(number).get_review_comments()
        ]

    @_translated
    def create_review(self, number: int, head_sha: str, body: str, comments: Iterable[InlineComment]) -> None:
        payload = []
        for c in comments:
            item: dict[str, Any] = {"path": c.path, "line": c.line, "side": "RIGHT", "body": c.body}
            if c.start_line is not None:
                item |= {"start_line": c.start_line, "start_side": "RIGHT"}
            payload.append(item)
        self._call("POST", f"/pulls/{number}/reviews", input={"commit_id": head_sha, "body": body, "event": "COMMENT", "comments": payload})

    @_translated
    def ensure_labels(self, specs: Iterable[LabelSpec]) -> None:
        """Create the repository labels that do not exist yet, with their colour and description."""
        from urllib.parse import quote

        for spec in specs:
            try:
                self._call("GET", f"/labels/{quote(spec.name, safe='')}")
                continue
            except GithubException as exc:
                if exc.status != 404:
                    raise
            try:
                self._call("POST", "/labels", input={"name": spec.name, "color": spec.color, "description": spec.description})
            except GithubException as exc:
                if exc.status != 422:  # created meanwhile by someone else: fine
                    raise

    @_translated
    def add_labels(self, number: int, names: Iterable[str]) -> None:
        # PyGithub sends a bare array; GitHub's description documents the object form.
        self._call("POST", f"/issues/{number}/labels", input={"labels": list(names)})

    @_translated
    def remove_label(self, number: int, name: str) -> None:
        from urllib.parse import quote

        try:
            self._call("DELETE", f"/issues/{number}/labels/{quote(name, safe='')}")
        except GithubException as exc:
            if exc.status != 404:  # already gone
                raise

    # --- writing files ------------------------------------------------------------------

    def _commit(self, parent_sha: str, files: dict[str, str], message: str) -> str:
        """A commit object on top of ``parent_sha`` changing ``files``; no branch moves yet."""
        base_tree = self._call("GET", f"/git/commits/{parent_sha}")["tree"]["sha"]
        entries = []
        for path, text in sorted(files.items()):
            blob = self._call("POST", "/git/blobs", input={"content": text, "encoding": "utf-8"})
            entries.append({"path": path, "mode": "100644", "type": "blob", "sha": blob["sha"]})
        tree = self._call("POST", "/git/trees", input={"base_tree": base_tree, "tree": entries})
        return self._call("POST", "/git/commits", input={"message": message, "tree": tree["sha"], "parents": [parent_sha]})["sha"]

    @_translated
    def commit_files(self, branch: str, parent_sha: str, files: dict[str, str], message: str) -> str:
        """One commit on top of ``parent_sha`` changing ``files``; the branch moves only by fast-forward."""
        sha = self._commit(parent_sha, files, message)
        self._call("PATCH", f"/git/refs/heads/{branch}", input={"sha": sha, "force": False})
        return sha

    @_translated
    def commit_on_new_base(self, branch: str, base_sha: str, files: dict[str, str], message: str) -> str:
        """Point ``branch`` (created if need be) at a new commit on ``base_sha``: the rolling branch.
        The commit exists before the branch moves, so its pull request is never left without changes."""
        sha = self._commit(base_sha, files, message)
        if self.branch_sha(branch) is None:
            self._call("POST", "/git/refs", input={"ref": f"refs/heads/{branch}", "sha": sha})
        else:
            self._call("PATCH", f"/git/refs/heads/{branch}", input={"sha": sha, "force": True})
        return sha

    @_translated
    def find_open_pull(self, head_branch: str, base: str | None, owner: str | None = None) -> int | None:
        """The open pull request from ``owner:head_branch`` (owner defaults to this repository's)."""
        parameters = {"state": "open", "head": f"{owner or self.repo.split('/')[0]}:{head_branch}"}
        if base:
            parameters["base"] = base
        pulls = self._call("GET", "/pulls", parameters=parameters)
        return pulls[0]["number"] if pulls else None

    @_translated
    def create_pull(self, head_branch: str, base: str, title: str, body: str) -> int:
        return self._call("POST", "/pulls", input={"head": head_branch, "base": base, "title": title, "body": body})["number"]

    @_translated
    def update_pull(self, number: int, title: str, body: str) -> None:
        self._call("PATCH", f"/pulls/{number}", input={"title": title, "body": body})


def _client_options(api_url: str, write_interval: float | None, retry: Retry | None) -> dict[str, Any]:
    return {
        "base_url": api_url.rstrip("/"),
        "per_page": 100,
        "seconds_between_requests": None,
        "seconds_between_writes": write_interval or None,
        "retry": retry,
        "lazy": True,
        "timeout": 15,
    }


class AppGateways:
    """Gateways for a GitHub App: one installation client per installation, tokens refreshed by PyGithub."""

    def __init__(self, app_id: int | str, private_key: str, api_url: str = DEFAULT_API_URL, *, write_interval: float | None = 1.0, retry: Retry | None = None) -> None:
        options = _client_options(api_url, write_interval, retry if retry is not None else retry_policy())
        self._integration = GithubIntegration(auth=Auth.AppAuth(app_id, private_key), **options)
        self._clients: dict[int, Github] = {}

    def __call__(self, installation_id: int, repo: str) -> PyGithubGateway:
        client = self._clients.get(installation_id)
        if client is None:
            client = self._clients[installation_id] = self._integration.get_github_for_installation(installation_id)
        return PyGithubGateway(client, repo)


class TokenGateways:
    """Gateways for a plain token, such as ``GITHUB_TOKEN`` in a workflow."""

    def __init__(self, token: str, api_url: str = DEFAULT_API_URL, *, write_interval: float | None = 1.0, retry: Retry | None = None) -> None:
        options = _client_options(api_url, write_interval, retry if retry is not None else retry_policy())
        self._client = Github(auth=Auth.Token(token), **options)

    def __call__(self, installation_id: int | None, repo: str) -> PyGithubGateway:
        return PyGithubGateway(self._client, repo)
