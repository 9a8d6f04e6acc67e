"""One contract, two gateways: ``FakeGateway`` in memory, and ``PyGithubGateway`` over HTTP to the fake GitHub.

Each test seeds the same state through a small per-implementation ``World``,
calls the gateway and asserts exact results. The HTTP side answers as GitHub's
description (and the fake GitHub's git model) says GitHub does, so where the two
disagree the in-memory fake is the one to fix. Commit shas differ between the two
(only the HTTP side hashes commits like git); blob shas are git's in both.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Protocol, cast

import pytest

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
    TransientError,
    TreeEntry,
)
from bot.github import publish, remote
from bot.github.gateway import AppApi, Gateway
from bot.github.pygithub import AppGateways, TokenGateways, retry_policy
from fake_github import FakeGitHub
from fake_github.gitobjects import blob_sha
from fake_github.loopback import LoopbackServer
from fakes import BOT, FakeAppApi, FakeGateway

REPO = "octo/kb"
FILES = {
    "README.md": b"# KB\n",
    "docs/a.md": b"one\ntwo\nthree\n",
    "docs/gone.md": b"bye\n",
    "docs/old.md": b"moved as it is\n",
}
FEATURE = {
    "docs/a.md": b"one\nTWO\nthree\nfour\n",
    "docs/gone.md": None,
    "docs/old.md": None,
    "docs/moved.md": b"moved as it is\n",
    "docs/new.md": b"hello\n",
    "img/x.png": b"\x89PNG\0\1",
}
MISSING = 9999
NO_SHA = "0123456789" * 4


class World(Protocol):
    """One implementation of the gateway, and how to seed and inspect what lies behind it."""

    gateway: Gateway

    def push(self, branch: str, changes: dict[str, bytes | None]) -> str: ...  # starts the branch from main if need be
    def open_pull(self, branch: str, author: str = "contributor", labels: Iterable[str] = ()) -> int: ...
    def close_pull(self, number: int) -> None: ...
    def add_comment(self, number: int, body: str, author: str) -> int: ...
    def add_collaborator(self, login: str, role: str) -> None: ...
    def protect(self, branch: str) -> None: ...
    def check_runs(self) -> dict[int, CheckRun]: ...
    def labels(self) -> dict[str, tuple[str, str]]: ...
    def reviews(self, number: int) -> list[tuple[str, str]]: ...  # (commit, body)
    def message(self, commit: str) -> str: ...
    def pull_text(self, number: int) -> tuple[str, str]: ...  # (title, body)


class InMemory:
    def __init__(self) -> None:
        self.fake = FakeGateway(REPO, dict(FILES))
        self.gateway: Gateway = self.fake

    def push(self, branch: str, changes: dict[str, bytes | None]) -> str:
        if branch not in self.fake.branches:
            self.fake.create_branch(branch)
        return self.fake.push(branch, changes)

    def open_pull(self, branch: str, author: str = "contributor", labels: Iterable[str] = ()) -> int:
        return self.fake.open_pull_from(branch, author, labels)

    def close_pull(self, number: int) -> None:
        self.fake.pulls[number]["state"] = "closed"

    def add_comment(self, number: int, body: str, author: str) -> int:
        return self.fake.add_comment(number, body, author)

    def add_collaborator(self, login: str, role: str) -> None:
        self.fake.roles[login] = role

    def protect(self, branch: str) -> None:
        self.fake.protected.add(branch)

    def check_runs(self) -> dict[int, CheckRun]:
        return self.fake.runs_by_id()

    def labels(self) -> dict[str, tuple[str, str]]:
        return dict(self.fake.repo_labels)

    def reviews(self, number: int) -> list[tuple[str, str]]:
        return [(r["commit_id"], r["body"]) for r in self.fake.reviews.get(number, [])]

    def message(self, commit: str) -> str:
        return self.fake.messages[commit]

    def pull_text(self, number: int) -> tuple[str, str]:
        return self.fake.pulls[number]["title"], self.fake.pulls[number]["body"]


class OverHttp:
    def __init__(self, github: FakeGitHub) -> None:
        self.github = github
        github.create_repo(REPO, files=dict(FILES))
        gateways = TokenGateways(github.installation_token(), github.base_url, write_interval=None, retry=retry_policy(total=2, backoff=0))
        self.gateway: Gateway = gateways(None, REPO)

    def push(self, branch: str, changes: dict[str, bytes | None]) -> str:
        if self.github.branch_sha(REPO, branch) is None:
            self.github.create_branch(REPO, branch)
        return self.github.commit(REPO, branch, dict(changes), author="contributor")

    def open_pull(self, branch: str, author: str = "contributor", labels: Iterable[str] = ()) -> int:
        number = self.github.open_pull_request(REPO, branch, author=author)
        with self.github.lock:
            repo = self.github.repo(REPO)
            repo.pull(number).labels += [repo.label(name) or repo.add_label(name) for name in labels]
        return number

    def close_pull(self, number: int) -> None:
        self.github.close_pull_request(REPO, number)

    def add_comment(self, number: int, body: str, author: str) -> int:
        with self.github.lock:
            return self.github.repo(REPO).add_comment(number, body, author).id

    def add_collaborator(self, login: str, role: str) -> None:
        self.github.add_collaborator(REPO, login, role)

    def protect(self, branch: str) -> None:
        self.github.protect_branch(REPO, branch)

    def check_runs(self) -> dict[int, CheckRun]:
        return {
            r.id: CheckRun(
                r.name,
                r.head_sha,
                r.conclusion or "",
                r.output.title or "",
                r.output.summary or "",
                r.output.text or "",  # an empty text is not sent
                tuple(Annotation(a["path"], a["start_line"], a["end_line"], a["annotation_level"], a["title"], a["message"]) for a in r.annotations),
            )
            for r in self.github.check_runs(REPO)
        }

    def labels(self) -> dict[str, tuple[str, str]]:
        return {name: (str(label["color"]), label["description"] or "") for name, label in self.github.labels(REPO).items()}

    def reviews(self, number: int) -> list[tuple[str, str]]:
        return [(r.commit_id, r.body) for r in self.github.reviews(REPO, number)]

    def message(self, commit: str) -> str:
        with self.github.lock:
            return self.github.repo(REPO).objects.commit(commit).message

    def pull_text(self, number: int) -> tuple[str, str]:
        pr = next(p for p in self.github.pulls(REPO) if p.number == number)
        return pr.title, pr.body or ""


@pytest.fixture(params=["in-memory", "over-http"])
def world(request: pytest.FixtureRequest) -> World:
    if request.param == "in-memory":
        return InMemory()
    return OverHttp(request.getfixturevalue("fake_github"))


def feature_pull(world: World, author: str = "contributor", labels: Iterable[str] = ()) -> tuple[int, str]:
    head = world.push("feature", FEATURE)
    return world.open_pull("feature", author, labels), head


# --- reading ----------------------------------------------------------------------------------


def test_a_pull_requests_fields(world: World) -> None:
    number, head = feature_pull(world, author="ada", labels=["help wanted", "area/kb: meta"])
    expected = PullRequest(1, head, "feature", "main", "open", False, False, ("help wanted", "area/kb: meta"), "ada")
    assert world.gateway.pull_request(number) == expected
    world.close_pull(number)
    assert world.gateway.pull_request(number) == expected._replace(state="closed")


def test_changed_files_are_githubs_diff(world: World) -> None:
    number, _ = feature_pull(world)
    assert world.gateway.changed_files(number) == [
        ChangedFile("docs/a.md", "modified", blob_sha(b"one\nTWO\nthree\nfour\n"), "@@ -1,3 +1,4 @@\n one\n-two\n+TWO\n three\n+four", None, 2, 1),
        ChangedFile("docs/gone.md", "removed", blob_sha(b"bye\n"), "@@ -1 +0,0 @@\n-bye", None, 0, 1),
        ChangedFile("docs/moved.md", "renamed", blob_sha(b"moved as it is\n"), None, "docs/old.md", 0, 0),
        ChangedFile("docs/new.md", "added", blob_sha(b"hello\n"), "@@ -0,0 +1 @@\n+hello", None, 1, 0),
        ChangedFile("img/x.png", "added", blob_sha(b"\x89PNG\0\1"), None, None, 0, 0),
    ]


def test_reading_blobs_files_and_trees(world: World) -> None:
    gw = world.gateway
    _, head = feature_pull(world)
    assert gw.read_blob(blob_sha(b"\x89PNG\0\1")) == b"\x89PNG\0\1"
    assert (gw.read_file("docs/a.md", "feature"), gw.read_file("docs/a.md", head)) == (FEATURE["docs/a.md"], FEATURE["docs/a.md"])
    assert gw.read_file("docs/a.md", "main") == FILES["docs/a.md"]
    assert [gw.read_file(path, ref) for path, ref in [("docs/new.md", "main"), ("docs", head), ("README.md", "no-such-branch")]] == [None, None, None]
    assert gw.tree(head) == [
        TreeEntry("README.md", blob_sha(b"# KB\n"), 5),
        TreeEntry("docs/a.md", blob_sha(b"one\nTWO\nthree\nfour\n"), 19),
        TreeEntry("docs/moved.md", blob_sha(b"moved as it is\n"), 15),
        TreeEntry("docs/new.md", blob_sha(b"hello\n"), 6),
        TreeEntry("img/x.png", blob_sha(b"\x89PNG\0\1"), 6),
    ]


def test_reading_blobs_in_a_batch(world: World) -> None:
    gw = world.gateway
    feature_pull(world)
    latin1, replacement = b"caf\xe9\n", "d\u00e9j\u00e0 \ufffd\n".encode()
    world.push("more", {"docs/latin1.md": latin1, "docs/replacement.md": replacement})
    texts = [FEATURE["docs/a.md"] or b"", FEATURE["docs/new.md"] or b""]
    binary = FEATURE["img/x.png"] or b""
    found = gw.read_blobs([blob_sha(t) for t in texts] + [blob_sha(binary), blob_sha(latin1), NO_SHA, blob_sha(texts[0])])
    assert {sha: blob for sha, blob in found.items() if blob.data is not None} == {blob_sha(t): BlobContent(len(t), t) for t in texts}
    assert (found[blob_sha(binary)], found[blob_sha(latin1)]) == (BlobContent(6, None), BlobContent(5, None))  # only their sizes
    assert NO_SHA not in found  # a blob the repository does not have is left out
    assert gw.read_blobs([]) == {}
    # The bytes of each, exact whatever a batch could carry: text, binary, not UTF-8, U+FFFD as written.
    wanted = [blob_sha(t) for t in (*texts, binary, latin1, replacement)]
    assert remote.read_blobs(gw, wanted) == {blob_sha(t): t for t in (*texts, binary, latin1, replacement)}


def test_a_pull_request_read_with_blobs_is_the_same_as_read_alone(world: World) -> None:
    gw = world.gateway
    number, _ = feature_pull(world, author=BOT, labels=["area/kb: meta"])  # an App's bot: REST's login, "[bot]" and all
    texts = [FEATURE["docs/a.md"] or b"", FEATURE["docs/new.md"] or b""]
    pull, found = gw.pull_request_and_blobs(number, [blob_sha(t) for t in texts] + [NO_SHA])
    assert (pull, found) == (gw.pull_request(number), gw.read_blobs([blob_sha(t) for t in texts]))
    assert pull.author == BOT and pull.labels == ("area/kb: meta",)
    assert gw.pull_request_and_blobs(number, []) == (gw.pull_request(number), {})
    world.close_pull(number)
    assert gw.pull_request_and_blobs(number, [])[0] == gw.pull_request(number)
    assert gw.pull_request(number).state == "closed"
    with pytest.raises(NotFound):
        gw.pull_request_and_blobs(MISSING, [blob_sha(t) for t in texts])


def test_open_pull_requests_newest_first(world: World) -> None:
    gw = world.gateway
    first, _ = feature_pull(world)
    head = world.push("second", {"docs/b.md": b"b\n"})
    second = world.open_pull("second", "ada")
    assert [p.number for p in gw.open_pulls()] == [second, first]
    world.close_pull(first)
    assert gw.open_pulls() == [PullRequest(second, head, "second", "main", "open", False, False, (), "ada")]
    assert gw.open_pulls() == [PullRequest(second, head, "second", "main", "open", False, False, (), "ada")]


def test_branches_and_the_default_branch(world: World) -> None:
    head = world.push("feature", {"docs/new.md": b"hello\n"})
    assert (world.gateway.default_branch(), world.gateway.branch_sha("feature"), world.gateway.branch_sha("no-such-branch")) == ("main", head, None)


def test_permission_is_the_role_and_strangers_may_read_a_public_repository(world: World) -> None:
    roles = ["admin", "maintain", "write", "triage", "read"]
    for role in roles:
        world.add_collaborator(f"user-{role}", role)
    assert [world.gateway.permission(f"user-{role}") for role in roles] == roles
    assert world.gateway.permission("stranger") == "read"


# --- pull-request feedback -----------------------------------------------------------------------


NOTES = tuple(Annotation("docs/a.md", line, line, "failure", f"CS{line:03} rule", f"problem {line}") for line in range(1, 121))


def test_a_check_run_keeps_every_annotation_across_batches(world: World) -> None:
    gw = world.gateway
    _, head = feature_pull(world)
    full = CheckRun("challenge-bot", head, "failure", "120 errors in 1 file", "Summary", "Details", NOTES)
    bare = CheckRun("challenge-bot", head, "success", "All clear", "Nothing to say", "")
    first = gw.create_check_run(full, "ours:1", NOTES[:50], completed=False)
    assert gw.check_runs(head) == [CheckRunInfo(first, "challenge-bot", "ours:1", "in_progress", None, "120 errors in 1 file", "Summary", 50)]
    gw.update_check_run(first, full, "ours:1", NOTES[50:100], completed=False)
    gw.update_check_run(first, full, "ours:2", NOTES[100:], completed=True)
    second = gw.create_check_run(bare, "", (), completed=True)
    other = gw.create_check_run(bare._replace(name="other-check"), "theirs", (), completed=True)
    assert world.check_runs() == {first: full, second: bare, other: bare._replace(name="other-check")}
    assert gw.check_runs(head, "challenge-bot") == [
        CheckRunInfo(second, "challenge-bot", "", "completed", "success", "All clear", "Nothing to say", 0),
        CheckRunInfo(first, "challenge-bot", "ours:2", "completed", "failure", "120 errors in 1 file", "Summary", 120),
    ]
    assert [r.id for r in gw.check_runs(head)] == [other, second, first]
    assert gw.check_runs(gw.branch_sha("main") or "") == []


def test_check_run_refusals(world: World) -> None:
    gw = world.gateway
    _, head = feature_pull(world)
    bare = CheckRun("challenge-bot", head, "success", "All clear", "Nothing to say", "")
    with pytest.raises(GatewayError) as refused:
        gw.create_check_run(bare._replace(head_sha=NO_SHA), "", (), completed=True)
    assert (type(refused.value), refused.value.status) == (GatewayError, 422)
    with pytest.raises(NotFound):
        gw.update_check_run(MISSING, bare, "", (), completed=True)
    with pytest.raises(ValueError):  # GitHub takes at most 50 per request: the caller batches
        gw.create_check_run(bare, "", NOTES[:51], completed=True)
    assert world.check_runs() == {}


def test_publishing_a_check_run_twice_after_a_crash_or_a_failure_keeps_one_run(world: World) -> None:
    gw = world.gateway
    _, head = feature_pull(world)
    full = CheckRun("challenge-bot", head, "failure", "120 errors in 1 file", "Summary", "", NOTES)
    failed = CheckRun("challenge-bot", head, "failure", "The review could not be completed", "GitHub kept failing", "")
    crashed = gw.create_check_run(full, publish.external_id_for(NOTES), NOTES[:50], completed=False)  # then the worker died
    assert publish.publish_check_run(gw, full) == crashed
    assert world.check_runs() == {crashed: full}
    assert publish.publish_check_run(gw, full) == crashed  # the same again: nothing to write
    assert publish.publish_failure(gw, failed) == crashed
    assert world.check_runs() == {crashed: failed._replace(annotations=NOTES)}
    assert publish.publish_check_run(gw, full) == crashed  # a later review completes the same run
    assert world.check_runs() == {crashed: full}
    changed = full._replace(annotations=NOTES[:3], title="3 errors in 1 file")
    newer = publish.publish_check_run(gw, changed)  # other annotations cannot replace the old ones
    assert world.check_runs() == {crashed: full, newer: changed}


def test_a_failure_before_any_check_run_then_a_review_is_one_run(world: World) -> None:
    gw = world.gateway
    _, head = feature_pull(world)
    failed = CheckRun("challenge-bot", head, "failure", "The review could not be completed", "GitHub kept failing", "")
    full = CheckRun("challenge-bot", head, "failure", "120 errors in 1 file", "Summary", "", NOTES)
    run = publish.publish_failure(gw, failed)
    assert publish.publish_check_run(gw, full) == run
    assert world.check_runs() == {run: full}


def test_issue_comments_are_created_and_edited(world: World) -> None:
    gw = world.gateway
    number, _ = feature_pull(world)
    theirs = world.add_comment(number, "hello", "someone")
    other_bot = world.add_comment(number, "beep", "dependabot[bot]")
    ours = gw.create_comment(number, "<!-- marker -->\nfirst")
    gw.update_comment(ours, "<!-- marker -->\nsecond")
    assert gw.issue_comments(number) == [
        IssueComment(theirs, "hello", "someone", False),
        IssueComment(other_bot, "beep", "dependabot[bot]", True),
        IssueComment(ours, "<!-- marker -->\nsecond", BOT, True),
    ]


def test_a_review_lands_on_diff_lines_or_not_at_all(world: World) -> None:
    gw = world.gateway
    number, head = feature_pull(world)
    gw.create_review(number, head, "Two problems", [InlineComment("docs/a.md", 2, "this one"), InlineComment("docs/a.md", 4, "a range", start_line=2)])
    comments = gw.review_comments(number)
    assert [(c.path, c.line, c.body, c.commit_id, c.author) for c in comments] == [
        ("docs/a.md", 2, "this one", head, BOT),
        ("docs/a.md", 4, "a range", head, BOT),
    ]
    assert len({c.id for c in comments}) == 2
    assert world.reviews(number) == [(head, "Two problems")]
    for outside in (InlineComment("docs/a.md", 50, "past the end"), InlineComment("README.md", 1, "not in the pull request")):
        with pytest.raises(GatewayError) as refused:
            gw.create_review(number, head, "More", [InlineComment("docs/a.md", 1, "fine"), outside])
        assert (type(refused.value), refused.value.status) == (GatewayError, 422)
    assert (gw.review_comments(number), world.reviews(number)) == (comments, [(head, "Two problems")])


def test_labels_with_slashes_and_any_case_are_created_added_and_removed(world: World) -> None:
    gw = world.gateway
    number, _ = feature_pull(world, labels=["Needs Review"])
    gw.ensure_labels([LabelSpec("area/kb: meta", "0866ff", "Case studies of one model"), LabelSpec("needs review", "00ff00", "exists already")])
    assert world.labels() == {"Needs Review": ("ededed", ""), "area/kb: meta": ("0866ff", "Case studies of one model")}
    gw.add_labels(number, ["area/kb: meta", "new/auto", "NEEDS REVIEW"])
    assert gw.pull_request(number).labels == ("Needs Review", "area/kb: meta", "new/auto")
    assert world.labels()["new/auto"] == ("ededed", "")
    gw.remove_label(number, "area/kb: meta")
    gw.remove_label(number, "area/kb: meta")  # already gone: not an error
    gw.remove_label(number, "needs review")
    assert gw.pull_request(number).labels == ("new/auto",)
    assert sorted(world.labels()) == ["Needs Review", "area/kb: meta", "new/auto"]


# --- writing files -----------------------------------------------------------------------------


def test_commit_files_moves_the_branch_only_by_fast_forward(world: World) -> None:
    gw = world.gateway
    start = gw.branch_sha("main")
    assert start is not None
    sha = gw.commit_files("main", start, {"docs/a.md": "changed\n", "docs/deep/b.md": "b\n"}, "Regenerate the index")
    assert (gw.branch_sha("main"), world.message(sha)) == (sha, "Regenerate the index")
    assert [gw.read_file(p, "main") for p in ("docs/a.md", "docs/deep/b.md", "README.md")] == [b"changed\n", b"b\n", b"# KB\n"]
    with pytest.raises(Conflict):
        gw.commit_files("main", start, {"docs/a.md": "stale\n"}, "From an old head")
    pushed = world.push("main", {"docs/c.md": b"c\n"})
    with pytest.raises(Conflict):
        gw.commit_files("main", sha, {"docs/a.md": "raced\n"}, "Someone pushed first")
    assert gw.branch_sha("main") == pushed


def test_commit_files_refusals(world: World) -> None:
    gw = world.gateway
    start = gw.branch_sha("main")
    assert start is not None
    with pytest.raises(NotFound):
        gw.commit_files("main", NO_SHA, {"x.md": "x\n"}, "No such parent")
    with pytest.raises(GatewayError) as refused:
        gw.commit_files("no-such-branch", start, {"x.md": "x\n"}, "No such branch")
    assert (type(refused.value), refused.value.status) == (GatewayError, 422)
    world.protect("main")
    with pytest.raises(BranchProtected):
        gw.commit_files("main", start, {"x.md": "x\n"}, "Protected")
    assert gw.branch_sha("main") == start


def test_commit_on_new_base_creates_then_replaces_the_branch(world: World) -> None:
    gw = world.gateway
    first = gw.commit_on_new_base("rolling", gw.branch_sha("main") or "", {"x.md": "1\n"}, "Rolling 1")
    assert (gw.branch_sha("rolling"), gw.read_file("x.md", "rolling"), world.message(first)) == (first, b"1\n", "Rolling 1")
    main = world.push("main", {"docs/c.md": b"c\n"})
    second = gw.commit_on_new_base("rolling", main, {"x.md": "2\n"}, "Rolling 2")
    assert gw.branch_sha("rolling") == second
    assert [gw.read_file(p, "rolling") for p in ("x.md", "docs/c.md")] == [b"2\n", b"c\n"]
    world.protect("rolling")
    with pytest.raises(BranchProtected):
        gw.commit_on_new_base("rolling", main, {"x.md": "3\n"}, "Rolling 3")


def test_pull_requests_are_found_created_and_updated(world: World) -> None:
    gw = world.gateway
    head = gw.commit_on_new_base("rolling", gw.branch_sha("main") or "", {"x.md": "1\n"}, "Rolling")
    assert gw.find_open_pull("rolling", "main") is None
    number = gw.create_pull("rolling", "main", "Regenerate", "Body")
    assert gw.pull_request(number) == PullRequest(number, head, "rolling", "main", "open", False, False, (), BOT)
    found = [gw.find_open_pull("rolling", base, owner) for base, owner in [("main", None), (None, None), (None, "Octo"), ("other", None), (None, "someone-else")]]
    assert found == [number, number, number, None, None]
    gw.update_pull(number, "Regenerate again", "New body")
    assert world.pull_text(number) == ("Regenerate again", "New body")
    for head_branch in ("rolling", "no-such-branch"):  # one open already; nothing to pull
        with pytest.raises(GatewayError) as refused:
            gw.create_pull(head_branch, "main", "Again", "Body")
        assert (type(refused.value), refused.value.status) == (GatewayError, 422)
    world.close_pull(number)
    assert gw.find_open_pull("rolling", "main") is None


# --- errors ---------------------------------------------------------------------------------------

ABSENT: dict[str, Callable[[Gateway], object]] = {
    "pull_request": lambda gw: gw.pull_request(MISSING),
    "changed_files": lambda gw: gw.changed_files(MISSING),
    "read_blob": lambda gw: gw.read_blob(NO_SHA),
    "tree": lambda gw: gw.tree(NO_SHA),
    "issue_comments": lambda gw: gw.issue_comments(MISSING),
    "create_comment": lambda gw: gw.create_comment(MISSING, "hello"),
    "update_comment": lambda gw: gw.update_comment(MISSING, "hello"),
    "review_comments": lambda gw: gw.review_comments(MISSING),
    "create_review": lambda gw: gw.create_review(MISSING, NO_SHA, "body", []),
    "add_labels": lambda gw: gw.add_labels(MISSING, ["x"]),
    "update_pull": lambda gw: gw.update_pull(MISSING, "title", "body"),
    "commit_on_new_base": lambda gw: gw.commit_on_new_base("rolling", NO_SHA, {"x.md": "x\n"}, "message"),
}


@pytest.mark.parametrize("call", list(ABSENT.values()), ids=list(ABSENT))
def test_what_does_not_exist_is_not_found(world: World, call: Callable[[Gateway], object]) -> None:
    with pytest.raises(NotFound):
        call(world.gateway)


def test_removing_a_label_from_a_missing_pull_request_is_not_an_error(world: World) -> None:
    world.gateway.remove_label(MISSING, "x")


# --- the App's own API (JWT): webhook deliveries and installations ---------------------------------


class AppWorld(Protocol):
    api: AppApi

    def deliver(self, event: str, action: str | None, delivered: bool) -> None: ...  # delivered: the App answered 202
    def install(self, installation_id: int, repos: list[str]) -> None: ...


class AppInMemory:
    def __init__(self) -> None:
        self.fake = FakeAppApi()
        self.fake.installation_repos[FakeGitHub().installation_id] = [REPO]
        self.api: AppApi = self.fake

    def deliver(self, event: str, action: str | None, delivered: bool) -> None:
        self.fake.record(event, action, 202 if delivered else 502)

    def install(self, installation_id: int, repos: list[str]) -> None:
        self.fake.installation_repos[installation_id] = repos


class AppOverHttp:
    def __init__(self, github: FakeGitHub, receiver: str) -> None:
        self.github = github
        github.create_repo(REPO, files=dict(FILES))
        github.hooks.configure(receiver, "secret")
        self.api: AppApi = AppGateways(github.app_id, github.private_key_pem, github.base_url, write_interval=None, retry=retry_policy(total=2, backoff=0))

    def deliver(self, event: str, action: str | None, delivered: bool) -> None:
        payload: dict = {"zen": "Keep it logically awesome."} if action is None else {"action": action}
        self.github.hooks.send((event, payload), fail=None if delivered else 502)

    def install(self, installation_id: int, repos: list[str]) -> None:
        for repo in repos:
            self.github.create_repo(repo)
        self.github.add_installation(installation_id, repos)


def _accept(environ: dict, start_response: Callable) -> list[bytes]:
    start_response("202 Accepted", [("Content-Type", "application/json")])
    return [b'{"status": "queued"}']


@pytest.fixture(params=["in-memory", "over-http"])
def app_world(request: pytest.FixtureRequest) -> Iterator[AppWorld]:
    if request.param == "in-memory":
        yield AppInMemory()
        return
    with LoopbackServer(_accept, name="receiver") as receiver:
        yield AppOverHttp(request.getfixturevalue("fake_github"), receiver.url + "/webhook")


def _seen(deliveries: list[HookDelivery]) -> list[tuple[int, str, str | None, bool]]:
    return [(d.status_code, d.event, d.action, d.redelivery) for d in deliveries]


def test_webhook_deliveries_oldest_first_after_an_id(app_world: AppWorld) -> None:
    api = app_world.api
    assert api.hook_deliveries(None) == []
    app_world.deliver("pull_request", "opened", delivered=True)
    app_world.deliver("ping", None, delivered=True)
    app_world.deliver("issue_comment", "created", delivered=False)
    everything = api.hook_deliveries(None)
    assert _seen(everything) == [(202, "pull_request", "opened", False), (202, "ping", None, False), (502, "issue_comment", "created", False)]
    assert len({d.guid for d in everything}) == 3 and [d.id for d in everything] == sorted(d.id for d in everything)
    assert api.hook_deliveries(everything[0].id) == everything[1:]
    assert api.hook_deliveries(everything[-1].id) == []


def test_a_failed_delivery_is_delivered_again_with_its_guid(app_world: AppWorld) -> None:
    api = app_world.api
    app_world.deliver("pull_request", "synchronize", delivered=False)
    (failed,) = api.hook_deliveries(None)
    api.redeliver(failed.id)
    if isinstance(app_world, AppOverHttp):
        app_world.github.hooks.wait()
    (again,) = api.hook_deliveries(failed.id)
    assert (again.guid, again.redelivery, again.status_code, again.event, again.action) == (failed.guid, True, 202, "pull_request", "synchronize")
    with pytest.raises(NotFound):
        api.redeliver(MISSING)


def test_deliveries_are_read_across_pages(app_world: AppWorld) -> None:
    for _ in range(150):
        app_world.deliver("pull_request", "opened", delivered=False)
    everything = app_world.api.hook_deliveries(None)
    assert len(everything) == 150 and len({d.id for d in everything}) == 150
    assert app_world.api.hook_deliveries(everything[119].id) == everything[120:]


def test_installations_and_their_repositories(app_world: AppWorld) -> None:
    app_world.install(8000001, ["acme/notes", "acme/wiki"])
    main = FakeGitHub().installation_id
    assert app_world.api.installations() == [main, 8000001]
    assert app_world.api.installation_repositories(8000001) == ["acme/notes", "acme/wiki"]
    assert app_world.api.installation_repositories(main) == [REPO]


# --- what the bot remembers writing: fewer requests, never a second run or summary ----------------


class _NoRequests:
    """A gateway that must not be asked anything."""

    def __init__(self, gateway: Gateway) -> None:
        self.repo = gateway.repo

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"{name} was called, though everything needed was remembered")


class _AnswerLost:
    """Creates the check run, then fails as if GitHub's answer never arrived."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def __getattr__(self, name: str) -> object:
        return getattr(self._gateway, name)

    def create_check_run(self, *args: object, **kwargs: object) -> int:
        self._gateway.create_check_run(*args, **kwargs)  # type: ignore[arg-type]
        raise TransientError("network error: the connection was closed before the answer came")


class _Unwritable(remote.LocalMemory):
    def remember(self, items: object) -> None:
        raise TransientError("the delivery store is unavailable")


def test_remembered_check_runs_are_made_once_whatever_fails(world: World) -> None:
    gw, cache = world.gateway, remote.Cache()
    _, head = feature_pull(world)
    run = CheckRun("challenge-bot", head, "success", "All clear", "Nothing to say", "")
    first = publish.publish_check_run(gw, run, cache)  # the pull request's first review: its runs are listed
    assert publish.publish_check_run(cast(Gateway, _NoRequests(gw)), run, cache, warm=True) == first  # the same again: no request

    def on(head: str) -> list[CheckRun]:
        return [r for r in world.check_runs().values() if r.head_sha == head]

    # A new head of a pull request reviewed before: made without listing; its answer lost, the next attempt finds it.
    second = run._replace(head_sha=world.push("feature", {"docs/b.md": b"b\n"}))
    with pytest.raises(TransientError):
        publish.publish_check_run(cast(Gateway, _AnswerLost(gw)), second, cache, warm=True)
    publish.publish_check_run(gw, second, cache, warm=True)
    assert on(second.head_sha) == [second]
    # A failure reported on a head, then its review: one run, updated in place.
    third = run._replace(head_sha=world.push("feature", {"docs/c.md": b"c\n"}))
    publish.publish_failure(gw, CheckRun("challenge-bot", third.head_sha, "failure", "The review could not be completed", "Oops", ""), cache)
    publish.publish_check_run(gw, third, cache, warm=True)
    assert on(third.head_sha) == [third]
    # When the intent cannot be remembered, nothing is created (the delivery is retried).
    fourth = run._replace(head_sha=world.push("feature", {"docs/d.md": b"d\n"}))
    with pytest.raises(TransientError):
        publish.publish_check_run(gw, fourth, remote.Cache(memory=_Unwritable()), warm=True)
    assert on(fourth.head_sha) == []


def test_a_remembered_summary_is_edited_by_its_id(world: World) -> None:
    gw, cache = world.gateway, remote.Cache()
    number, _ = feature_pull(world)
    marker = publish.m.SUMMARY_MARKER
    comment = publish.upsert_comment(gw, number, marker, marker + "\nfirst", cache=cache)
    known = publish._recall(cache, publish._pull_key(gw, number))
    assert publish.upsert_comment(cast(Gateway, _NoRequests(gw)), number, marker, marker + "\nfirst", cache=cache, known=known) == comment
    edits = _OnlyUpdates(gw)
    assert publish.upsert_comment(cast(Gateway, edits), number, marker, marker + "\nsecond", cache=cache, known=known) == comment
    assert edits.asked == ["update_comment"]
    assert [c.body for c in gw.issue_comments(number)] == [marker + "\nsecond"]


class _OnlyUpdates:
    def __init__(self, gateway: Gateway) -> None:
        self._gateway, self.repo = gateway, gateway.repo
        self.asked: list[str] = []

    def __getattr__(self, name: str) -> object:
        assert name == "update_comment", f"{name} was called; the comment's id was remembered"
        self.asked.append(name)
        return getattr(self._gateway, name)
