"""The GitHub gateway: the only module that imports PyGithub.

Intent-level methods take and return the plain data of ``bot.core.github_data``;
GitHub's errors become the few exceptions a caller can act on. Two factories
build gateways: one for a GitHub App installation (the webhook service, which
also answers the App-level ``AppApi`` with the App's JWT), one for a plain token
(``GITHUB_TOKEN`` in Actions). Every request of one credential passes its
``RateGate`` (``bot.github.ratelimit``): GitHub's waits are kept per installation.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections import OrderedDict
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar
from urllib.parse import quote

import jwt
import requests
from github import Auth, Github, GithubException, GithubIntegration
from github.Requester import Requester, RequestsResponse
from urllib3.util.retry import Retry

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
    TransientError,
    TreeEntry,
)
from bot.core.payload import PayloadError
from bot.github.gateway import ANNOTATION_BATCH, BLOBS_PER_QUERY
from bot.github.ratelimit import GatedAdapter, RateGate, RateGates

DEFAULT_API_URL = "https://api.github.com"
MAX_FILES = 3000  # GitHub lists at most 3,000 files of a pull request
PER_PAGE = 100

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def retry_policy(total: int = 4, backoff: float = 0.5) -> Retry:
    """Retry idempotent requests on 5xx.

    PyGithub's default also retries POST, which re-sends a comment whose
    response was lost and posts it twice; POST and PATCH are therefore retried
    one level up, after re-reading what is already there. Rate limits are not
    retried here: the credential's ``RateGate`` keeps GitHub's wait.
    """
    return Retry(
        total=total,
        backoff_factor=backoff,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}),
        respect_retry_after_header=False,
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


def gate_requests(requester: Requester, gate: RateGate) -> None:
    """Send every request of this PyGithub client through ``gate`` (see ``bot.github.ratelimit``).

    PyGithub builds its HTTP connection lazily from a per-client class; a subclass that mounts
    a ``GatedAdapter`` on the connection's session puts the gate under pages, retries and auth."""
    name = "_Requester__connectionClass"
    base = getattr(requester, name)  # fails loudly if a PyGithub upgrade renames it (pinned < 2.11)

    class Gated(base):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.adapter = GatedAdapter(gate, max_retries=self.retry, pool_connections=self.pool_size, pool_maxsize=self.pool_size)
            self.session.mount(f"{self.protocol}://", self.adapter)
            self.pending = threading.local()

        # PyGithub keeps one connection object per client and stores a request on it between
        # request() and getresponse(). The worker threads share an installation's client, so a
        # thread could send another's request and read its answer: a review was once handed the
        # list of another call, and a write could go out twice while another never went. Each
        # thread keeps its own request here; the session's pool is safe to share.
        def request(self, verb: str, url: str, input: Any, headers: dict[str, str], stream: bool = False) -> None:  # noqa: A002 - PyGithub's name
            self.pending.call = (verb, url, input, headers)

        def getresponse(self) -> RequestsResponse:
            verb, url, data, headers = self.pending.call
            send = getattr(self.session, verb.lower())
            answer = send(f"{self.protocol}://{self.host}:{self.port}{url}", headers=headers, data=data, timeout=self.timeout,
                          verify=self.verify, allow_redirects=False)
            return RequestsResponse(answer)

    setattr(requester, name, Gated)


class EtagCache:
    """Conditional reads: per URL, the last ``ETag`` and what it answered, as plain data (a small LRU, thread-safe)."""

    def __init__(self, size: int = 512) -> None:
        self._size, self._lock = size, threading.Lock()
        self._data: OrderedDict[str, tuple[str, Any, str | None]] = OrderedDict()

    def get(self, url: str) -> tuple[str, Any, str | None] | None:
        with self._lock:
            found = self._data.get(url)
            if found is not None:
                self._data.move_to_end(url)
            return found

    def put(self, url: str, etag: str, data: Any, next_url: str | None) -> None:
        with self._lock:
            self._data[url] = (etag, data, next_url)
            self._data.move_to_end(url)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


def _next_link(headers: dict[str, Any]) -> str | None:
    for part in (headers.get("link") or "").split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return url.strip().strip("<>")
    return None


def _pages(requester: Requester, url: str, parameters: dict[str, Any] | None, key: str | None = None) -> Iterator[Any]:
    """Every item of a listing, page after page (``Link: rel="next"``); ``key`` names the list in an object answer."""
    params: dict[str, Any] | None = {"per_page": PER_PAGE, **(parameters or {})}
    next_url: str | None = url
    while next_url is not None:
        headers, data = requester.requestJsonAndCheck("GET", next_url, parameters=params)
        yield from (data[key] if key else data)
        next_url, params = _next_link(headers), None  # the next link carries the query


def _exact(blob: dict[str, Any]) -> bytes | None:
    """A blob's bytes from its GraphQL ``text``, when they are surely the blob's own."""
    text = blob.get("text")
    if text is None or blob.get("isBinary") or blob.get("isTruncated") or "\ufffd" in text:
        return None  # U+FFFD: perhaps where GitHub replaced bytes that were not UTF-8; REST has the bytes
    data = text.encode("utf-8")
    return data if len(data) == blob["byteSize"] else None


def _pull(data: dict[str, Any]) -> PullRequest:
    return PullRequest(
        number=data["number"],
        head_sha=data["head"]["sha"],
        head_ref=data["head"]["ref"],
        base_ref=data["base"]["ref"],
        state=data["state"],
        merged=bool(data.get("merged") or data.get("merged_at")),
        draft=bool(data.get("draft")),
        labels=tuple(label["name"] for label in data.get("labels", [])),
        author=data["user"]["login"],
    )


# The fields of ``PullRequest`` in GraphQL's names (the first 100 labels: with as many, REST is asked for all).
PULL_FIELDS = "number headRefOid headRefName baseRefName state merged isDraft author { __typename login } labels(first: 100) { nodes { name } }"


def _graphql_pull(data: dict[str, Any]) -> PullRequest:
    author = data.get("author") or {"__typename": "User", "login": "ghost"}  # a deleted account, as REST names it
    return PullRequest(
        number=data["number"],
        head_sha=data["headRefOid"],
        head_ref=data["headRefName"],
        base_ref=data["baseRefName"],
        state="open" if data["state"] == "OPEN" else "closed",  # REST says closed for MERGED too
        merged=bool(data["merged"]),
        draft=bool(data["isDraft"]),
        labels=tuple(label["name"] for label in data["labels"]["nodes"]),
        author=author["login"] + ("[bot]" if author["__typename"] == "Bot" else ""),  # REST's login of an App's bot
    )


def _check_run_info(data: dict[str, Any]) -> CheckRunInfo:
    output = data.get("output") or {}
    return CheckRunInfo(
        data["id"], data["name"], data.get("external_id") or "", data["status"], data.get("conclusion"),
        output.get("title") or "", output.get("summary") or "", output.get("annotations_count") or 0,
    )


def _check_run_body(run: CheckRun, external_id: str, annotations: Sequence[Annotation], completed: bool) -> dict[str, Any]:
    if len(annotations) > ANNOTATION_BATCH:
        raise ValueError(f"at most {ANNOTATION_BATCH} annotations per request, got {len(annotations)}")
    output: dict[str, Any] = {"title": run.title, "summary": run.summary}
    if run.text:
        output["text"] = run.text
    if annotations:
        output["annotations"] = [
            {"path": a.path, "start_line": a.start_line, "end_line": a.end_line, "annotation_level": a.level, "title": a.title, "message": a.message}
            for a in annotations
        ]
    body: dict[str, Any] = {"external_id": external_id, "output": output}
    body |= {"status": "completed", "conclusion": run.conclusion} if completed else {"status": "in_progress"}
    return body


class PyGithubGateway:
    """One repository, through one authenticated PyGithub client: the HTTP ``Gateway``."""

    def __init__(self, gh: Github, repo: str, etags: EtagCache | None = None) -> None:
        self.repo = repo
        self._gh = gh
        self._repo = gh.get_repo(repo)
        self._requester = gh.requester
        self._url = f"/repos/{repo}"
        self._etags = etags if etags is not None else EtagCache()

    def _call(self, verb: str, url: str, **kwargs: Any) -> Any:
        return self._requester.requestJsonAndCheck(verb, f"{self._url}{url}", **kwargs)[1]

    # --- reading ------------------------------------------------------------------

    @_translated
    def pull_request(self, number: int) -> PullRequest:
        return _pull(self._call("GET", f"/pulls/{number}"))

    @_translated
    def open_pulls(self) -> list[PullRequest]:
        """Every open pull request, newest first; each page is read conditionally (a 304 is free)."""
        pulls: list[PullRequest] = []
        url: str | None = f"{self._url}/pulls?state=open&per_page={PER_PAGE}"
        while url is not None:
            page, url = self._conditional(url, lambda data: [_pull(item) for item in data])
            pulls += page
            if len(pulls) >= MAX_FILES:  # a safety bound on a listing GitHub does not cap
                break
        return pulls

    def _conditional(self, url: str, convert: Callable[[Any], T]) -> tuple[T, str | None]:
        """A GET with ``If-None-Match``: GitHub's 304 returns what was cached (converted) with the ETag."""
        cached = self._etags.get(url)
        status, headers, body = self._requester.requestJson("GET", url, headers={"If-None-Match": cached[0]} if cached else None)
        if status == 304 and cached is not None:
            return cached[1], cached[2]
        data = json.loads(body) if body else None
        if status >= 400:
            raise self._requester.createException(status, headers, data if isinstance(data, dict) else {})
        value, next_url = convert(data), _next_link(headers)
        if headers.get("etag"):
            self._etags.put(url, headers["etag"], value, next_url)
        return value, next_url

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
        blob = self._call("GET", f"/git/blobs/{sha}")
        return base64.b64decode(blob["content"]) if blob.get("encoding") == "base64" else blob["content"].encode()

    @_translated
    def read_blobs(self, shas: Sequence[str]) -> dict[str, BlobContent]:
        """Blobs by sha, ``BLOBS_PER_QUERY`` to a GraphQL query (REST has no batch read). GraphQL gives a
        blob's ``text``, not its bytes: they are taken as exact only when the text's UTF-8 is as long as
        the blob, so a binary, truncated or not-UTF-8 blob comes back without data."""
        return self._blob_queries(shas, None)[1]

    @_translated
    def pull_request_and_blobs(self, number: int, shas: Sequence[str]) -> tuple[PullRequest, dict[str, BlobContent]]:
        """The pull request as it is now, asked for in the first blob query: one request less than
        ``pull_request`` and ``read_blobs`` apart."""
        pull, found = self._blob_queries(shas, number)
        assert pull is not None
        if len(pull.labels) >= 100:  # perhaps more than the query carries: REST lists them all
            pull = self.pull_request(number)
        return pull, found

    def _blob_queries(self, shas: Sequence[str], number: int | None) -> tuple[PullRequest | None, dict[str, BlobContent]]:
        found: dict[str, BlobContent] = {}
        pull = None
        wanted = list(dict.fromkeys(shas))
        owner, name = self.repo.split("/", 1)
        for start in range(0, max(len(wanted), 1 if number is not None else 0), BLOBS_PER_QUERY):
            chunk = wanted[start : start + BLOBS_PER_QUERY]
            declared = "".join(f", $b{i}: GitObjectID!" for i in range(len(chunk)))
            fields = " ".join(f"b{i}: object(oid: $b{i}) {{ ... on Blob {{ byteSize isBinary isTruncated text }} }}" for i in range(len(chunk)))
            variables: dict[str, Any] = {"owner": owner, "name": name} | {f"b{i}": sha for i, sha in enumerate(chunk)}
            if number is not None and start == 0:
                declared += ", $pull: Int!"
                fields += f" pull: pullRequest(number: $pull) {{ {PULL_FIELDS} }}"
                variables["pull"] = number
            query = f"query($owner: String!, $name: String!{declared}) {{ repository(owner: $owner, name: $name) {{ {fields} }} }}"
            repository = self._graphql(query, variables)["repository"] or {}
            if number is not None and start == 0:
                pull = _graphql_pull(repository["pull"])
            for i, sha in enumerate(chunk):
                blob = repository.get(f"b{i}")
                if blob and "byteSize" in blob:  # a commit or tree has no Blob fields
                    found[sha] = BlobContent(blob["byteSize"], _exact(blob))
        return pull, found

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """A read through GitHub's GraphQL API: its ``data``. A read is safe to send again, so a
        5xx or a lost answer is retried once here (the client retries no POST)."""
        for attempt in (1, 2):
            try:
                return self._requester.graphql_query(query, variables)[1]["data"]
            except GithubException as exc:
                if attempt == 2 or exc.status < 500:
                    raise
            except (requests.ConnectionError, requests.Timeout):
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @_translated
    def read_file(self, path: str, ref: str) -> bytes | None:
        """A file's bytes at a branch or commit, or None when it does not exist there."""
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
    def check_runs(self, head_sha: str, name: str | None = None) -> list[CheckRunInfo]:
        parameters = {"filter": "all"} | ({"check_name": name} if name else {})
        runs = [_check_run_info(r) for r in _pages(self._requester, f"{self._url}/commits/{head_sha}/check-runs", parameters, "check_runs")]
        return sorted(runs, key=lambda r: r.id, reverse=True)

    @_translated
    def create_check_run(self, run: CheckRun, external_id: str, annotations: Sequence[Annotation], completed: bool) -> int:
        body = {"name": run.name, "head_sha": run.head_sha} | _check_run_body(run, external_id, annotations, completed)
        return self._call("POST", "/check-runs", input=body)["id"]

    @_translated
    def update_check_run(self, check_run_id: int, run: CheckRun, external_id: str, annotations: Sequence[Annotation], completed: bool) -> None:
        self._call("PATCH", f"/check-runs/{check_run_id}", input=_check_run_body(run, external_id, annotations, completed))

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


APP_MAX_WAIT = 2.0  # seconds an App worker may sleep for GitHub; longer waits raise RateLimited (the delivery is rescheduled)
TOKEN_MAX_WAIT = 60.0  # a workflow has no scheduler: it waits up to a minute


class AppGateways:
    """Gateways for a GitHub App: one installation client per installation, tokens refreshed by PyGithub.

    Also the ``AppApi`` (webhook deliveries, installations) through the App's JWT. ``gates`` keeps
    GitHub's waits per installation (``installation:<id>``) and for the App itself (``app``);
    ``etags`` remembers conditional reads for all of them."""

    def __init__(
        self,
        app_id: int | str,
        private_key: str,
        api_url: str = DEFAULT_API_URL,
        *,
        write_interval: float | None = 1.0,
        retry: Retry | None = None,
        gates: RateGates | None = None,
        etags: EtagCache | None = None,
    ) -> None:
        options = _client_options(api_url, write_interval, retry if retry is not None else retry_policy())
        self.gates = gates if gates is not None else RateGates(max_wait=APP_MAX_WAIT)
        self.etags = etags if etags is not None else EtagCache()
        self._integration = GithubIntegration(auth=Auth.AppAuth(app_id, private_key), **options)
        gate_requests(self._integration.requester, self.gates.gate("app"))
        self._clients: dict[int, Github] = {}
        self._lock = threading.Lock()

    @_translated
    def installation_id(self, repo: str) -> int:
        """The App's installation on ``repo`` (``owner/name``): proves the App id and key, and the installation."""
        owner, name = repo.split("/", 1)
        try:
            return self._integration.get_repo_installation(owner, name).id
        except jwt.PyJWTError as exc:  # the key is no private key: no token can be signed
            raise ValueError(str(exc)) from None

    def _client(self, installation_id: int) -> Github:
        with self._lock:
            client = self._clients.get(installation_id)
            if client is None:
                client = self._clients[installation_id] = self._integration.get_github_for_installation(installation_id)
                gate_requests(client.requester, self.gates.gate(f"installation:{installation_id}"))
            return client

    def __call__(self, installation_id: int | None, repo: str) -> PyGithubGateway:
        if installation_id is None:
            raise PayloadError("the delivery names no installation of the App")
        return PyGithubGateway(self._client(installation_id), repo, self.etags)

    # --- AppApi --------------------------------------------------------------------------

    @_translated
    def hook_deliveries(self, since_id: int | None) -> list[HookDelivery]:
        """Deliveries newer than ``since_id``, oldest first; GitHub lists newest first, so paging stops at ``since_id``."""
        found = []
        for item in _pages(self._integration.requester, "/app/hook/deliveries", None):
            if since_id is not None and item["id"] <= since_id:
                break
            found.append(HookDelivery(item["id"], item["guid"], item["delivered_at"], item["status_code"], item["event"], item.get("action"), bool(item["redelivery"])))
        return sorted(found, key=lambda d: d.id)

    @_translated
    def redeliver(self, delivery_id: int) -> None:
        self._integration.requester.requestJsonAndCheck("POST", f"/app/hook/deliveries/{delivery_id}/attempts")

    @_translated
    def installations(self) -> list[int]:
        return [item["id"] for item in _pages(self._integration.requester, "/app/installations", None)]

    @_translated
    def installation_repositories(self, installation_id: int) -> list[str]:
        return [item["full_name"] for item in _pages(self._client(installation_id).requester, "/installation/repositories", None, "repositories")]


class TokenGateways:
    """Gateways for a plain token, such as ``GITHUB_TOKEN`` in a workflow."""

    def __init__(
        self,
        token: str,
        api_url: str = DEFAULT_API_URL,
        *,
        write_interval: float | None = 1.0,
        retry: Retry | None = None,
        gates: RateGates | None = None,
    ) -> None:
        options = _client_options(api_url, write_interval, retry if retry is not None else retry_policy())
        self.gates = gates if gates is not None else RateGates(max_wait=TOKEN_MAX_WAIT)
        self.etags = EtagCache()
        self._client = Github(auth=Auth.Token(token), **options)
        gate_requests(self._client.requester, self.gates.gate("token"))

    def __call__(self, installation_id: int | None, repo: str) -> PyGithubGateway:
        return PyGithubGateway(self._client, repo, self.etags)
