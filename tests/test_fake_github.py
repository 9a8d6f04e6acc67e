"""The fake GitHub itself, exercised through PyGithub over real HTTP."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from datetime import timedelta
from typing import Callable, Iterator

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import (
    Auth,
    BadCredentialsException,
    Github,
    GithubException,
    GithubIntegration,
    InputGitTreeElement,
    UnknownObjectException,
)

from fake_github import FakeGitHub, gitobjects, graphql, payloads
from fake_github.fixture import assert_no_unexpected_violations, fake_github  # noqa: F401

REPO = "org/kb"
NO_THROTTLE = dict(seconds_between_requests=None, seconds_between_writes=None)
TEN_LINES = "".join(f"line {i}\n" for i in range(1, 11))


@pytest.fixture
def fake(fake_github: FakeGitHub) -> FakeGitHub:  # noqa: F811
    fake_github.create_repo(REPO, files={"README.md": "# KB\n", "case_studies/meta/a.md": TEN_LINES})
    return fake_github


@pytest.fixture
def client(fake: FakeGitHub) -> Iterator[Callable[..., Github]]:
    """Clients closed at teardown; a fresh installation token unless ``token`` is given, and
    ``retry`` None (no retries) outside retry tests."""
    made: list[Github] = []

    def make(token: str | None = None, **kwargs) -> Github:
        options = {"retry": None, **NO_THROTTLE, **kwargs}
        gh = Github(auth=Auth.Token(token or fake.installation_token()), base_url=fake.base_url, **options)
        made.append(gh)
        return gh

    yield make
    for gh in made:
        gh.close()


@pytest.fixture
def gh(client: Callable[..., Github]) -> Github:
    return client()


def open_pr(fake: FakeGitHub, files: dict, branch: str = "feature") -> int:
    fake.create_branch(REPO, branch)
    fake.commit(REPO, branch, files, message="Change things", author="contributor")
    return fake.open_pull_request(REPO, branch)


def files_of(gh: Github, number: int) -> dict:
    return {f.filename: f for f in gh.get_repo(REPO).get_pull(number).get_files()}


# -- authentication ------------------------------------------------------------------------------


def test_app_jwt_then_installation_token_then_repo_call(fake: FakeGitHub) -> None:
    auth = Auth.AppAuth(fake.app_id, fake.private_key_pem)
    with GithubIntegration(auth=auth, base_url=fake.base_url, **NO_THROTTLE) as integration:
        assert integration.get_repo_installation("org", "kb").id == fake.installation_id
        with integration.get_github_for_installation(fake.installation_id) as gh:
            assert gh.get_repo(REPO).default_branch == "main"
    assert fake.count("apps/create-installation-access-token") == 1
    assert fake.requests[-1].operation_id == "repos/get"
    assert fake.requests[-1].actor == "challenge-bot[bot]"


def raw_jwt(key_pem: str, claims: dict) -> str:
    """Sign claims as-is: PyJWT's encode refuses an integer ``iss``, which GitHub accepts."""
    return jwt.api_jws.PyJWS().encode(json.dumps(claims).encode(), key_pem, algorithm="RS256")


def access_token_status(fake: FakeGitHub, token: str) -> tuple[int, dict]:
    url = f"{fake.base_url}/app/installations/{fake.installation_id}/access_tokens"
    with requests.Session() as session:
        response = session.post(url, headers={"Authorization": f"Bearer {token}"}, json={})
        return response.status_code, response.json()


def test_jwt_checks_signature_issuer_and_lifetime(fake: FakeGitHub) -> None:
    now = int(time.time())
    good = {"iat": now - 60, "exp": now + 300}
    assert access_token_status(fake, raw_jwt(fake.private_key_pem, {**good, "iss": fake.app_id}))[0] == 201
    assert access_token_status(fake, raw_jwt(fake.private_key_pem, {**good, "iss": str(fake.app_id)}))[0] == 201

    too_long = {"iat": now, "exp": now + 601, "iss": fake.app_id}
    status, body = access_token_status(fake, raw_jwt(fake.private_key_pem, too_long))
    assert (status, body["message"]) == (401, "'Expiration time' claim ('exp') is too far in the future")
    assert access_token_status(fake, raw_jwt(fake.private_key_pem, {**good, "iss": 1}))[0] == 401
    expired = {"iat": now - 700, "exp": now - 100, "iss": fake.app_id}
    assert access_token_status(fake, raw_jwt(fake.private_key_pem, expired))[0] == 401

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    integration = GithubIntegration(auth=Auth.AppAuth(fake.app_id, other_key), base_url=fake.base_url, **NO_THROTTLE)
    with integration, pytest.raises(GithubException) as caught:
        integration.get_access_token(fake.installation_id)
    assert caught.value.status == 401
    assert caught.value.data["documentation_url"] == "https://docs.github.com/rest"


def test_repository_calls_need_a_valid_unexpired_token(fake: FakeGitHub, client) -> None:
    with pytest.raises(BadCredentialsException) as caught:
        client("ghs_not_issued").get_repo(REPO)
    assert caught.value.data == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    }
    fake.auth.token_ttl = timedelta(0)
    with pytest.raises(BadCredentialsException):
        client(fake.installation_token()).get_repo(REPO)


def test_writes_are_attributed_to_the_token_owner(fake: FakeGitHub, gh: Github, client) -> None:
    number = open_pr(fake, {"x.md": "x\n"})
    gh.get_repo(REPO).get_pull(number).create_issue_comment("from the App")
    actions = client(fake.add_token("ghs_actions"))
    comment = actions.get_repo(REPO).get_pull(number).create_issue_comment("from Actions")
    assert comment.user.login == "github-actions[bot]"
    assert [(c.user, c.via_app) for c in fake.issue_comments(REPO, number)] == [
        ("challenge-bot[bot]", "challenge-bot"),
        ("github-actions[bot]", "github-actions"),
    ]
    assert [r.actor for r in fake.requests if r.operation_id == "issues/create-comment"] == [
        "challenge-bot[bot]",
        "github-actions[bot]",
    ]


# -- git objects ---------------------------------------------------------------------------------


def test_object_shas_are_gits(fake: FakeGitHub, gh: Github, tmp_path) -> None:
    data = "héllo\r\nworld\n".encode()
    blob = gh.get_repo(REPO).create_git_blob(base64.b64encode(data).decode(), "base64")
    git = subprocess.run(["git", "hash-object", "--stdin"], input=data, capture_output=True, check=True)
    assert blob.sha == git.stdout.decode().strip()
    assert gh.get_repo(REPO).get_git_blob(blob.sha).content.replace("\n", "") == base64.b64encode(data).decode()

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    tree = gh.get_repo(REPO).get_git_tree(fake.branch_sha(REPO, "main"), recursive=False)
    listing = "".join(f"{e.mode} {e.type} {e.sha}\t{e.path}\n" for e in tree.tree)
    mktree = subprocess.run(
        ["git", "-C", str(tmp_path), "mktree", "--missing"], input=listing.encode(), capture_output=True, check=True
    )
    assert tree.sha == mktree.stdout.decode().strip()


def test_create_tree_with_base_tree_content_and_deletion(fake: FakeGitHub, gh: Github) -> None:
    repo = gh.get_repo(REPO)
    head = repo.get_git_commit(fake.branch_sha(REPO, "main"))
    tree = repo.create_git_tree(
        [
            InputGitTreeElement("docs/new.md", "100644", "blob", content="new\n"),
            InputGitTreeElement("README.md", "100644", "blob", sha=None),
        ],
        base_tree=head.tree,
    )
    commit = repo.create_git_commit("Add docs, drop README", tree, [head])
    assert repo.get_git_ref("heads/main").object.sha == head.sha
    repo.get_git_ref("heads/main").edit(commit.sha)
    assert fake.file_at(REPO, "main", "docs/new.md") == b"new\n"
    assert fake.file_at(REPO, "main", "README.md") is None
    paths = [e.path for e in repo.get_git_tree(commit.sha, recursive=True).tree]
    assert paths == ["case_studies", "case_studies/meta", "case_studies/meta/a.md", "docs", "docs/new.md"]
    assert fake.commits(REPO, "main")[0]["author"] == "challenge-bot[bot]"


# -- pull request files --------------------------------------------------------------------------


def test_patches_are_real_unified_diffs(fake: FakeGitHub, gh: Github) -> None:
    changed = TEN_LINES.replace("line 5\n", "line five\n")
    number = open_pr(fake, {"case_studies/meta/a.md": changed, "b.md": "one\ntwo", "README.md": "# KB\nmore\n"})
    files = files_of(gh, number)
    assert files["case_studies/meta/a.md"].patch == (
        "@@ -2,7 +2,7 @@ line 1\n line 2\n line 3\n line 4\n-line 5\n+line five\n line 6\n line 7\n line 8"
    )
    assert (files["case_studies/meta/a.md"].additions, files["case_studies/meta/a.md"].deletions) == (1, 1)
    assert files["b.md"].status == "added"
    assert files["b.md"].patch == "@@ -0,0 +1,2 @@\n+one\n+two\n\\ No newline at end of file"
    assert files["README.md"].patch == "@@ -1 +1,2 @@\n # KB\n+more"
    assert gh.get_repo(REPO).get_pull(number).changed_files == 3


def test_patch_matches_git_diff(fake: FakeGitHub, gh: Github, tmp_path) -> None:
    old = "".join(f"paragraph {i}\n" for i in range(40))
    new = old.replace("paragraph 3\n", "").replace("paragraph 20\n", "paragraph twenty\nadded\n") + "tail"
    (tmp_path / "old").write_text(old)
    (tmp_path / "new").write_text(new)
    git = subprocess.run(["git", "diff", "--no-index", "-U3", "old", "new"], cwd=tmp_path, capture_output=True, text=True)
    expected = git.stdout[git.stdout.index("@@") :].rstrip("\n")
    fake.commit(REPO, "main", {"essay.md": old})
    number = open_pr(fake, {"essay.md": new})
    assert files_of(gh, number)["essay.md"].patch == expected
    assert expected.count("@@ -") == 3 and expected.endswith("\\ No newline at end of file")


def test_renamed_removed_binary_and_oversized_files(fake: FakeGitHub, gh: Github) -> None:
    fake.patch_limit = 200
    number = open_pr(
        fake,
        {
            "case_studies/meta/a.md": None,
            "case_studies/meta/renamed.md": TEN_LINES,
            "README.md": None,
            "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00",
            "big.md": "x" * 300 + "\n",
        },
    )
    files = files_of(gh, number)
    renamed = files["case_studies/meta/renamed.md"]
    assert (renamed.status, renamed.previous_filename, renamed.patch) == ("renamed", "case_studies/meta/a.md", None)
    assert "case_studies/meta/a.md" not in files
    assert (files["README.md"].status, files["README.md"].patch) == ("removed", "@@ -1 +0,0 @@\n-# KB")
    assert (files["logo.png"].status, files["logo.png"].patch, files["logo.png"].changes) == ("added", None, 0)
    assert (files["big.md"].patch, files["big.md"].additions) == (None, 1)


def test_list_files_paginates_with_link_headers(fake: FakeGitHub, client) -> None:
    number = open_pr(fake, {f"case_studies/many/{i:03}.md": f"{i}\n" for i in range(250)})
    gh = client(per_page=100)
    assert len(list(gh.get_repo(REPO).get_pull(number).get_files())) == 250
    assert fake.count("pulls/list-files") == 3

    url = f"{fake.base_url}/repos/{REPO}/pulls/{number}/files?per_page=100&page=2"
    with requests.Session() as session:
        response = session.get(url, headers={"Authorization": f"token {fake.installation_token()}"})
    base = f"{fake.base_url}/repos/{REPO}/pulls/{number}/files?per_page=100"
    assert response.headers["Link"] == (
        f'<{base}&page=1>; rel="prev", <{base}&page=3>; rel="next", '
        f'<{base}&page=3>; rel="last", <{base}&page=1>; rel="first"'
    )


def test_contents_at_a_ref(fake: FakeGitHub, gh: Github) -> None:
    fake.create_branch(REPO, "draft")
    fake.commit(REPO, "draft", {"case_studies/meta/a.md": "draft\n"})
    repo = gh.get_repo(REPO)
    main = repo.get_contents("case_studies/meta/a.md")
    draft = repo.get_contents("case_studies/meta/a.md", ref="draft")
    assert (main.decoded_content, draft.decoded_content) == (TEN_LINES.encode(), b"draft\n")
    assert draft.sha == repo.get_contents("case_studies/meta/a.md", ref=fake.branch_sha(REPO, "draft")).sha
    assert [c.path for c in repo.get_contents("case_studies/meta")] == ["case_studies/meta/a.md"]
    with pytest.raises(UnknownObjectException):
        repo.get_contents("missing.md")
    assert main.url.startswith(fake.base_url)


# -- checks, reviews, labels ---------------------------------------------------------------------


def annotations(n: int) -> list[dict]:
    return [
        {"path": "README.md", "start_line": 1, "end_line": 1, "annotation_level": "warning", "message": f"m{i}"}
        for i in range(n)
    ]


def test_check_run_annotations_limit_and_append(fake: FakeGitHub, gh: Github) -> None:
    repo = gh.get_repo(REPO)
    sha = fake.branch_sha(REPO, "main")
    output = {"title": "t", "summary": "s", "annotations": annotations(50)}
    run = repo.create_check_run("lint", sha, status="in_progress", output=output)
    run.edit(conclusion="failure", output={**output, "summary": "done"})
    [state] = fake.check_runs(REPO, sha)
    assert (state.status, state.conclusion, state.output.summary) == ("completed", "failure", "done")
    assert len(state.annotations) == 100
    assert run.output.annotations_count == 100  # PyGithub refreshed ``run`` from the PATCH response

    with pytest.raises(GithubException) as caught:
        repo.create_check_run("lint", sha, output={"title": "t", "summary": "s", "annotations": annotations(51)})
    assert caught.value.status == 422
    assert len(fake.check_runs(REPO)) == 1
    [violation] = fake.unexpected_violations()
    assert (violation.operation_id, violation.direction, violation.keyword) == ("checks/create", "request", "maxItems")
    fake.clear_violations()


def test_review_comments_must_land_on_diff_lines(fake: FakeGitHub, gh: Github) -> None:
    number = open_pr(fake, {"case_studies/meta/a.md": TEN_LINES.replace("line 5\n", "line five\n")})
    pr = gh.get_repo(REPO).get_pull(number)
    pr.create_review(
        body="Looks off",
        event="COMMENT",
        comments=[
            {"path": "case_studies/meta/a.md", "line": 5, "side": "RIGHT", "body": "new"},
            {"path": "case_studies/meta/a.md", "line": 5, "side": "LEFT", "body": "old"},
            {"path": "case_studies/meta/a.md", "start_line": 3, "line": 6, "side": "RIGHT", "body": "range"},
        ],
    )
    stored = fake.review_comments(REPO, number)
    assert [(c.line, c.side, c.start_line, c.position) for c in stored] == [
        (5, "RIGHT", None, 5),
        (5, "LEFT", None, 4),
        (6, "RIGHT", 3, 6),
    ]
    assert stored[0].diff_hunk == "@@ -2,7 +2,7 @@ line 1\n line 2\n line 3\n line 4\n-line 5\n+line five"
    assert [c.body for c in pr.get_review_comments()] == ["new", "old", "range"]

    for bad in ({"line": 1, "side": "RIGHT"}, {"line": 10, "side": "LEFT"}, {"position": 4}):
        with pytest.raises(GithubException) as caught:
            pr.create_review(event="COMMENT", comments=[{"path": "case_studies/meta/a.md", "body": "x", **bad}])
        assert caught.value.status == 422
    assert caught.value.data["errors"] and len(fake.reviews(REPO, number)) == 1


def add_labels(gh: Github, number: int, names: list[str]) -> list[str]:
    """The object form the description allows (PyGithub's add_to_labels sends a bare array)."""
    url = gh.get_repo(REPO).get_pull(number).issue_url + "/labels"
    _, data = gh.requester.requestJsonAndCheck("POST", url, input={"labels": names})
    return [label["name"] for label in data]


def test_labels_add_auto_create_remove(fake: FakeGitHub, gh: Github) -> None:
    number = open_pr(fake, {"x.md": "x\n"})
    repo = gh.get_repo(REPO)
    repo.create_label("needs-review", "fbca04", "Waiting for a maintainer")
    with pytest.raises(GithubException) as caught:
        repo.create_label("Needs-Review", "fbca04")
    assert caught.value.status == 422 and caught.value.data["errors"][0]["code"] == "already_exists"

    assert add_labels(gh, number, ["needs-review", "area/meta"]) == ["needs-review", "area/meta"]
    assert fake.labels(REPO)["area/meta"] == {"color": "ededed", "description": None}
    assert repo.get_label("area/meta").color == "ededed"
    pr = repo.get_pull(number)
    pr.remove_from_labels("needs-review")
    assert fake.pr_labels(REPO, number) == ["area/meta"]
    with pytest.raises(GithubException) as caught:
        pr.remove_from_labels("needs-review")
    assert (caught.value.status, caught.value.data["message"]) == (404, "Label does not exist")
    with pytest.raises(UnknownObjectException):
        repo.get_label("nope")


def test_bare_array_label_bodies_are_violations(fake: FakeGitHub, gh: Github) -> None:
    number = open_pr(fake, {"x.md": "x\n"})
    gh.get_repo(REPO).get_pull(number).add_to_labels("accepted")
    assert fake.pr_labels(REPO, number) == ["accepted"]  # GitHub accepts it; its description does not
    [violation] = fake.unexpected_violations()
    assert (violation.operation_id, violation.direction) == ("issues/add-labels", "request")
    with pytest.raises(pytest.fail.Exception, match="issues/add-labels"):
        assert_no_unexpected_violations(fake)
    fake.clear_violations()


# -- refs ----------------------------------------------------------------------------------------


def child_commit(gh: Github, parent_sha: str, path: str, text: str):
    repo = gh.get_repo(REPO)
    parent = repo.get_git_commit(parent_sha)
    tree = repo.create_git_tree([InputGitTreeElement(path, "100644", "blob", content=text)], base_tree=parent.tree)
    return repo.create_git_commit(f"Update {path}", tree, [parent])


def test_update_ref_fast_forward_rules(fake: FakeGitHub, gh: Github) -> None:
    start = fake.branch_sha(REPO, "main")
    first = child_commit(gh, start, "a.md", "a\n")
    sibling = child_commit(gh, start, "b.md", "b\n")
    ref = gh.get_repo(REPO).get_git_ref("heads/main")
    ref.edit(first.sha)
    with pytest.raises(GithubException) as caught:
        ref.edit(sibling.sha)
    assert (caught.value.status, caught.value.data["message"]) == (422, "Update is not a fast forward")
    ref.edit(sibling.sha, force=True)
    assert fake.branch_sha(REPO, "main") == sibling.sha

    fake.protect_branch(REPO, "main")
    with pytest.raises(GithubException) as caught:
        ref.edit(child_commit(gh, sibling.sha, "c.md", "c\n").sha)
    assert caught.value.data["message"] == "Protected branch update failed for refs/heads/main."
    assert gh.get_repo(REPO).get_branch("main").protected


def test_injected_race_on_update_ref(fake: FakeGitHub, gh: Github) -> None:
    ref = gh.get_repo(REPO).get_git_ref("heads/main")
    mine = child_commit(gh, ref.object.sha, "index.md", "index\n")
    fake.inject_conflict_on_next_update_ref(REPO, "main")
    with pytest.raises(GithubException) as caught:
        ref.edit(mine.sha)
    assert caught.value.data["message"] == "Update is not a fast forward"
    ref = gh.get_repo(REPO).get_git_ref("heads/main")  # re-read, rebuild on the new tip, retry
    ref.edit(child_commit(gh, ref.object.sha, "index.md", "index\n").sha)
    assert fake.file_at(REPO, "main", "CONCURRENT_CHANGE.md") == b"landed first\n"
    assert fake.file_at(REPO, "main", "index.md") == b"index\n"
    assert [c["author"] for c in fake.commits(REPO, "main")[:2]] == ["challenge-bot[bot]", "someone-else"]


# -- faults --------------------------------------------------------------------------------------


def test_5xx_is_retried_by_pygithubs_default_retry(fake: FakeGitHub, client) -> None:
    number = open_pr(fake, {"x.md": "x\n"})
    gh = client(retry=Github.default_retry)
    fake.inject("pulls/get", status=502, times=2)
    assert gh.get_repo(REPO).get_pull(number).number == number
    assert fake.count("pulls/get") == 3

    # A lost response: the comment is stored, the 502 makes PyGithub post it again. (The bot
    # must look for its marker before creating, not rely on the POST.)
    fake.inject("issues/create-comment", status=502, after_apply=True)
    gh.get_repo(REPO).get_pull(number).create_issue_comment("sticky")
    assert fake.count("issues/create-comment") == 2
    assert [c.body for c in fake.issue_comments(REPO, number)] == ["sticky", "sticky"]


def test_secondary_rate_limit_with_retry_after(fake: FakeGitHub, client) -> None:
    gh = client(retry=Github.default_retry)
    fake.inject("repos/get", status=403, retry_after=1)
    started = time.monotonic()
    assert gh.get_repo(REPO).name == "kb"
    assert time.monotonic() - started >= 1
    assert [r.status for r in fake.requests] == [403, 200]

    fake.inject("repos/get", status=403, retry_after=1)
    with pytest.raises(GithubException) as caught:
        client().get_repo(REPO)  # without retries the caller sees GitHub's body
    assert caught.value.status == 403 and "secondary rate limit" in caught.value.data["message"]


def test_slow_response(fake: FakeGitHub, gh: Github) -> None:
    fake.inject("repos/get", status=None, delay=0.3)
    started = time.monotonic()
    gh.get_repo(REPO)
    assert time.monotonic() - started >= 0.3


# -- transport -----------------------------------------------------------------------------------


def test_enterprise_prefix() -> None:
    with FakeGitHub(prefix="/api/v3") as ghes:
        ghes.create_repo(REPO, files={f"f{i}.md": f"{i}\n" for i in range(3)})
        ghes.create_branch(REPO, "more")
        ghes.commit(REPO, "more", {f"g{i}.md": "g\n" for i in range(40)})
        number = ghes.open_pull_request(REPO, "more")
        assert ghes.base_url.endswith("/api/v3")
        token = Auth.Token(ghes.installation_token())
        with Github(auth=token, base_url=ghes.base_url, retry=None, **NO_THROTTLE) as gh:
            pr = gh.get_repo(REPO).get_pull(number)
            assert pr.url.startswith(ghes.base_url)
            assert len(list(pr.get_files())) == 40  # two pages: follows Link headers under the prefix
            pr.create_issue_comment("on GHES")
        assert ghes.count("pulls/list-files") == 2
        with requests.Session() as session:
            assert session.get(f"{ghes.url_root}/repos/{REPO}").status_code == 404
        [violation] = ghes.unexpected_violations()
        assert violation.kind == "unknown-route"
        ghes.clear_violations()
        assert_no_unexpected_violations(ghes)


def test_routes_outside_the_description_are_violations(fake: FakeGitHub) -> None:
    with requests.Session() as session:
        response = session.get(f"{fake.base_url}/user", headers={"Authorization": f"token {fake.installation_token()}"})
    assert (response.status_code, response.json()["message"]) == (404, "Not Found")
    assert [v.kind for v in fake.unexpected_violations()] == ["unknown-route"]
    fake.clear_violations()


def test_collaborator_permissions(fake: FakeGitHub, gh: Github) -> None:
    for login, role in (("ada", "admin"), ("mai", "maintain"), ("wes", "write"), ("tri", "triage")):
        fake.add_collaborator(REPO, login, role)
    repo = gh.get_repo(REPO)
    got = {login: repo.get_collaborator_permission(login) for login in ("org", "ada", "mai", "wes", "tri", "stranger")}
    assert got == {"org": "admin", "ada": "admin", "mai": "write", "wes": "write", "tri": "read", "stranger": "read"}
    fake.create_repo("org/private", private=True)
    assert gh.get_repo("org/private").get_collaborator_permission("stranger") == "none"


def test_pull_requests_create_list_update(fake: FakeGitHub, gh: Github) -> None:
    fake.create_branch(REPO, "topic")
    repo = gh.get_repo(REPO)
    with pytest.raises(GithubException) as caught:
        repo.create_pull(base="main", head="topic", title="Nothing yet")
    assert caught.value.data["errors"][0]["message"] == "No commits between main and topic"
    fake.commit(REPO, "topic", {"t.md": "t\n"})
    pr = repo.create_pull(base="main", head="topic", title="Topic", body="Adds t")
    assert pr.user.login == "challenge-bot[bot]"
    with pytest.raises(GithubException) as caught:
        repo.create_pull(base="main", head="topic", title="Again")
    assert caught.value.data["errors"][0]["message"] == "A pull request already exists for org:topic."
    assert [p.number for p in repo.get_pulls(head="org:topic")] == [pr.number]
    pr.edit(state="closed")
    assert list(repo.get_pulls()) == []
    assert [p.state for p in repo.get_pulls(state="closed")] == ["closed"]


# -- webhook payloads ----------------------------------------------------------------------------


def test_signature_test_vector() -> None:
    assert payloads.sign("It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_payload_builders_are_schema_valid(fake: FakeGitHub, gh: Github) -> None:
    build = fake.payloads
    before = fake.branch_sha(REPO, "main")
    number = open_pr(fake, {"case_studies/meta/a.md": None, "case_studies/meta/b.md": "b\n", "README.md": "# KB!\n"})
    name, opened = build.pull_request_event(REPO, number, "opened")
    assert (name, opened["installation"]["id"]) == ("pull_request", fake.installation_id)
    assert opened["pull_request"]["changed_files"] == 3
    synced = fake.commit(REPO, "feature", {"c.md": "c\n"})
    assert build.pull_request_event(REPO, number, "synchronize")[1]["after"] == synced
    build.pull_request_event(REPO, number, "edited", {"base": {"ref": {"from": "old"}, "sha": {"from": before}}})
    add_labels(gh, number, ["accepted"])
    assert build.pull_request_event(REPO, number, "labeled")[1]["label"]["name"] == "accepted"
    fake.set_draft(REPO, number, True)
    fake.set_draft(REPO, number, False)
    build.pull_request_event(REPO, number, "ready_for_review")

    _, comment = build.issue_comment_event(REPO, number, "/recheck", "maintainer")
    assert comment["issue"]["pull_request"]["url"].endswith(f"/pulls/{number}")
    assert fake.issue_comments(REPO, number)[0].body == "/recheck"

    run = gh.get_repo(REPO).create_check_run("lint", fake.branch_sha(REPO, "feature"), conclusion="success")
    _, rerun = build.check_run_rerequested_event(REPO, run.id)
    assert rerun["check_run"]["pull_requests"][0]["number"] == number

    merge = fake.merge_pull_request(REPO, number)
    _, closed = build.pull_request_event(REPO, number, "closed")
    assert closed["pull_request"]["merged"] is True and closed["pull_request"]["merge_commit_sha"] == merge
    _, push = build.push_event(REPO, "main", before, merge, pusher="maintainer")
    assert (push["head_commit"]["id"], len(push["commits"])) == (merge, 3)
    assert push["commits"][0]["removed"] == ["case_studies/meta/a.md"]
    assert push["commits"][0]["added"] == ["case_studies/meta/b.md"]
    assert push["commits"][0]["modified"] == ["README.md"]

    _, ping = build.ping_event()
    assert "installation" not in ping
    body, headers = payloads.delivery(("ping", ping), "s3cret", delivery_id="d-1")
    assert headers["X-Hub-Signature-256"] == payloads.sign("s3cret", body) and headers["X-GitHub-Delivery"] == "d-1"


def test_workflow_run_completed_is_schema_valid_and_about_the_pull_requests_head(fake: FakeGitHub) -> None:
    number = open_pr(fake, {"x.md": "x\n"})
    head = fake.commit(REPO, "feature", {"y.md": "y\n"})  # the run is for the current head
    name, event = fake.payloads.workflow_run_completed_event(REPO, number, conclusion="failure", run_id=99)
    run = event["workflow_run"]
    assert (name, event["action"], event["installation"]["id"]) == ("workflow_run", "completed", fake.installation_id)
    assert (run["id"], run["head_sha"], run["head_branch"], run["event"]) == (99, head, "feature", "pull_request")
    assert (run["status"], run["conclusion"], run["name"]) == ("completed", "failure", "Case studies")
    assert run["path"] == event["workflow"]["path"] == ".github/workflows/case-studies.yml"
    pulls = [(p["number"], p["head"]["sha"], p["head"]["ref"]) for p in run["pull_requests"]]
    assert pulls == [(number, head, "feature")]
    assert run["head_repository"] == run["repository"] and run["repository"]["full_name"] == REPO
    assert run["url"].startswith(fake.base_url) and run["html_url"].startswith(fake.url_root)
    again = fake.payloads.workflow_run_completed_event(REPO, number)[1]["workflow_run"]
    assert (again["workflow_id"], again["run_number"]) == (run["workflow_id"], run["run_number"] + 1)
    assert again["id"] != run["id"] and again["check_suite_id"] == run["check_suite_id"]


def test_workflow_run_from_a_fork_has_no_pull_requests(fake: FakeGitHub) -> None:
    number = open_pr(fake, {"x.md": "x\n"})
    run = fake.payloads.workflow_run_completed_event(REPO, number, from_fork=True)[1]["workflow_run"]
    fork, base = run["head_repository"], run["repository"]
    assert run["pull_requests"] == [] and run["head_sha"] == fake.branch_sha(REPO, "feature")
    assert (fork["full_name"], fork["owner"]["login"], fork["fork"]) == ("fork-owner/kb", "fork-owner", True)
    assert (base["full_name"], base["fork"]) == (REPO, False) and fork["id"] != base["id"]
    assert fork["url"] == f"{fake.base_url}/repos/fork-owner/kb"
    assert fork["html_url"] == f"{fake.url_root}/fork-owner/kb"


def test_workflow_dispatch_is_schema_valid(fake: FakeGitHub) -> None:
    name, event = fake.payloads.workflow_dispatch_event(REPO)
    assert (name, event["ref"], event["inputs"], event["sender"]["login"]) == (
        "workflow_dispatch",
        "refs/heads/main",
        None,
        "maintainer",
    )
    assert event["workflow"] == ".github/workflows/index.yml" and event["repository"]["full_name"] == REPO
    with_inputs = fake.payloads.workflow_dispatch_event(REPO, "refs/heads/main", "someone", {"full": "true"})[1]
    assert with_inputs["inputs"] == {"full": "true"}
    with pytest.raises(ValueError, match="no ref"):
        fake.payloads.workflow_dispatch_event(REPO, "refs/heads/nope")


def test_invalid_payloads_are_refused(fake: FakeGitHub) -> None:
    number = open_pr(fake, {"x.md": "x\n"})
    with pytest.raises(payloads.InvalidPayload, match="pull_request\\$closed"):
        fake.payloads.pull_request_event(REPO, number, "closed")  # still open


def test_every_other_operation_answers_per_the_description(fake: FakeGitHub, gh: Github) -> None:
    """Issue side, reactions, reviews list, check-run listing and ref creation: the fixture
    fails this test if any answer strays from openapi.json."""
    number = open_pr(fake, {"x.md": "x\n"})
    repo = gh.get_repo(REPO)
    issue = repo.get_issue(number)
    assert issue.pull_request is not None and issue.user.login == "contributor"
    comment = issue.create_comment("first")
    comment.edit("first, edited")
    assert comment.create_reaction("eyes").content == "eyes"
    comment.create_reaction("eyes")  # the same reaction again: 200, not a second one
    assert [len(c.reactions) for c in fake.issue_comments(REPO, number)] == [1]
    assert [c.body for c in issue.get_comments(since=comment.created_at)] == ["first, edited"]

    url = f"{issue.url}/labels"
    gh.requester.requestJsonAndCheck("PUT", url, input={"labels": ["b", "a"]})
    assert [label.name for label in issue.get_labels()] == ["b", "a"]

    pr = repo.get_pull(number)
    pr.create_review(event="APPROVE")
    assert [r.state for r in pr.get_reviews()] == ["APPROVED"]

    head = pr.head.sha
    for conclusion in ("failure", "success"):
        repo.create_check_run("lint", head, conclusion=conclusion)
    repo.create_check_run("docs", head, status="queued")
    # Raw call: PyGithub lists check runs from a Commit, and commits/get is not in the description.
    listed = gh.requester.requestJsonAndCheck("GET", f"{repo.url}/commits/feature/check-runs")[1]
    assert (listed["total_count"], [r["conclusion"] for r in listed["check_runs"]]) == (2, [None, "success"])

    ref = repo.create_git_ref("refs/heads/copy", head)
    assert ref.ref == "refs/heads/copy" and fake.branch_sha(REPO, "copy") == head
    with pytest.raises(GithubException) as caught:
        repo.create_git_ref("refs/heads/copy", head)
    assert caught.value.data["message"] == "Reference already exists"


# --- the App's webhook and its delivery log; conditional reads; rate-limit headers; dropped answers -----


def _app_headers(fake: FakeGitHub) -> dict[str, str]:
    now = int(time.time())
    return {"Authorization": f"Bearer {raw_jwt(fake.private_key_pem, {'iat': now - 60, 'exp': now + 500, 'iss': fake.app_id})}"}


def test_the_delivery_log_pages_by_cursor_newest_first_and_filters_by_status(fake: FakeGitHub) -> None:
    sent = [fake.hooks.send(fake.payloads.ping_event(), fail=502 if i % 2 else None) for i in range(5)]  # no URL: answered 0
    url = f"{fake.base_url}/app/hook/deliveries?per_page=2"
    ids, statuses = [], []
    while url:
        page = requests.get(url, headers=_app_headers(fake), timeout=10)
        assert page.status_code == 200
        ids += [d["id"] for d in page.json()]
        statuses += [d["status"] for d in page.json()]
        url = page.links.get("next", {}).get("url")
    assert ids == [d.id for d in reversed(sent)]
    assert statuses == ["timed out", "Invalid HTTP Response: 502", "timed out", "Invalid HTTP Response: 502", "timed out"]
    failed = requests.get(f"{fake.base_url}/app/hook/deliveries", params={"status": "success"}, headers=_app_headers(fake), timeout=10)
    assert failed.json() == []
    one = requests.get(f"{fake.base_url}/app/hook/deliveries/{sent[1].id}", headers=_app_headers(fake), timeout=10).json()
    assert (one["guid"], one["status_code"], one["request"]["payload"]["zen"]) == (sent[1].guid, 502, "Keep it logically awesome.")
    token = requests.get(f"{fake.base_url}/app/hook/deliveries", headers={"Authorization": f"token {fake.installation_token()}"}, timeout=10)
    assert token.status_code == 401  # the App's JWT only


def test_a_delivery_is_posted_signed_to_the_apps_webhook(fake: FakeGitHub) -> None:
    received: list[tuple[dict, bytes]] = []

    def receiver(environ: dict, start_response: Callable) -> list[bytes]:
        received.append(({k: v for k, v in environ.items() if k.startswith("HTTP_X_")}, environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))))
        start_response("202 Accepted", [])
        return [b""]

    from fake_github.loopback import LoopbackServer

    with LoopbackServer(receiver) as server:
        fake.hooks.configure(server.url + "/webhook", "s3cret")
        first = fake.hooks.send(fake.payloads.ping_event())
        requests.post(f"{fake.base_url}/app/hook/deliveries/{first.id}/attempts", headers=_app_headers(fake), timeout=10).raise_for_status()
        fake.hooks.wait()
    (headers, body), (again, body_again) = received
    assert headers["HTTP_X_HUB_SIGNATURE_256"] == payloads.sign("s3cret", body) and body_again == body
    assert headers["HTTP_X_GITHUB_DELIVERY"] == again["HTTP_X_GITHUB_DELIVERY"] == first.guid
    assert [(d.status_code, d.redelivery) for d in fake.hooks.newest_first()] == [(202, True), (202, False)]


def test_conditional_reads_answer_304_without_spending_budget(fake: FakeGitHub) -> None:
    headers = {"Authorization": f"token {fake.installation_token()}"}
    first = requests.get(f"{fake.base_url}/repos/{REPO}/pulls", headers=headers, timeout=10)
    again = requests.get(f"{fake.base_url}/repos/{REPO}/pulls", headers=headers | {"If-None-Match": first.headers["ETag"]}, timeout=10)
    blob = requests.get(f"{fake.base_url}/repos/{REPO}/git/ref/heads/main", headers=headers, timeout=10)
    assert (first.status_code, again.status_code, again.content, "ETag" in blob.headers) == (200, 304, b"", False)
    assert [r.headers["X-RateLimit-Remaining"] for r in (first, again, blob)] == ["4999", "4999", "4998"]


def test_every_installation_has_its_own_budget_and_an_exhausted_one_is_refused(fake: FakeGitHub) -> None:
    fake.create_repo("acme/notes")
    fake.add_installation(8000001, ["acme/notes"])
    ours, theirs = ({"Authorization": f"token {fake.installation_token(i)}"} for i in (fake.installation_id, 8000001))
    reset = fake.exhaust_rate_limit(fake.installation_id, reset_in=60)
    refused = requests.get(f"{fake.base_url}/repos/{REPO}", headers=ours, timeout=10)
    fine = requests.get(f"{fake.base_url}/repos/acme/notes", headers=theirs, timeout=10)
    assert (refused.status_code, refused.headers["X-RateLimit-Remaining"], refused.headers["X-RateLimit-Reset"]) == (403, "0", str(reset))
    assert refused.json()["message"].startswith("API rate limit exceeded")
    assert (fine.status_code, fine.headers["X-RateLimit-Remaining"]) == (200, "4999")
    repos = requests.get(f"{fake.base_url}/installation/repositories", headers=theirs, timeout=10).json()
    assert (repos["total_count"], [r["full_name"] for r in repos["repositories"]], repos["repository_selection"]) == (1, ["acme/notes"], "selected")


def test_a_lost_answer_applies_the_write_and_drops_the_connection(fake: FakeGitHub, gh: Github) -> None:
    fake.lose_response("issues/create-label")
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{fake.base_url}/repos/{REPO}/labels", json={"name": "x"}, headers={"Authorization": f"token {fake.installation_token()}"}, timeout=10)
    assert "x" in fake.labels(REPO) and [r.status for r in fake.requests_of("issues/create-label")] == [0]


def test_an_outage_answers_everything_until_it_ends(fake: FakeGitHub, gh: Github) -> None:
    fake.outage(503)
    headers = {"Authorization": f"token {fake.installation_token()}"}
    assert [requests.get(f"{fake.base_url}/repos/{REPO}{p}", headers=headers, timeout=10).status_code for p in ("", "/pulls")] == [503, 503]
    fake.outage(None)
    assert requests.get(f"{fake.base_url}/repos/{REPO}", headers=headers, timeout=10).status_code == 200


# -- GraphQL: the blob reads, checked against GitHub's schema ------------------------------------------


def test_graphql_answers_blob_reads_as_github_does(fake: FakeGitHub) -> None:
    fake.commit(REPO, "main", {"big.md": "x" * (graphql.TEXT_LIMIT + 1), "bin.png": b"\x89PNG\0", "latin1.md": b"caf\xe9\n"}, author="contributor")
    shas = {p: _blob_sha(fake.file_at(REPO, "main", p) or b"") for p in ("case_studies/meta/a.md", "big.md", "bin.png", "latin1.md")}
    query = ("query($o: String!, $n: String!, $a: GitObjectID!, $b: GitObjectID!, $c: GitObjectID!, $d: GitObjectID!, $e: GitObjectID!) "
             "{ repository(owner: $o, name: $n) { a: object(oid: $a) { ... on Blob { byteSize isBinary isTruncated text } } "
             "b: object(oid: $b) { ... on Blob { byteSize isTruncated } } c: object(oid: $c) { ... on Blob { isBinary text } } "
             "d: object(oid: $d) { ... on Blob { text } } e: object(oid: $e) { oid } } }")
    answer = _graphql(fake, query, {"o": "org", "n": "kb", "a": shas["case_studies/meta/a.md"], "b": shas["big.md"], "c": shas["bin.png"],
                                    "d": shas["latin1.md"], "e": "0" * 40})
    assert answer == {"data": {"repository": {
        "a": {"byteSize": len(TEN_LINES), "isBinary": False, "isTruncated": False, "text": TEN_LINES},
        "b": {"byteSize": graphql.TEXT_LIMIT + 1, "isTruncated": True},
        "c": {"isBinary": True, "text": None},
        "d": {"text": "caf\ufffd\n"},
        "e": None,
    }}}
    assert fake.unexpected_violations() == []
    missing = _graphql(fake, "{ repository(owner: \"org\", name: \"nope\") { object(oid: \"00\") { oid } } }", {})
    assert missing["data"] == {"repository": None} and missing["errors"][0]["type"] == "NOT_FOUND"
    assert [r.operation_id for r in fake.requests_of("graphql")] == ["graphql", "graphql"]


def test_a_graphql_query_outside_the_schema_is_a_violation(fake: FakeGitHub) -> None:
    answer = _graphql(fake, "{ repository(owner: \"org\", name: \"kb\") { object(oid: \"00\") { ... on Blob { size } } } }", {})
    assert "Cannot query field 'size' on type 'Blob'" in answer["errors"][0]["message"]
    assert [(v.operation_id, v.kind) for v in fake.unexpected_violations()] == [("graphql", "graphql")]
    fake.clear_violations()


def _graphql(fake: FakeGitHub, query: str, variables: dict) -> dict:
    answer = requests.post(fake.base_url + "/graphql", json={"query": query, "variables": variables},
                           headers={"Authorization": f"token {fake.installation_token()}"}, timeout=10)
    assert answer.status_code == 200 and answer.headers["X-RateLimit-Resource"] == "graphql"
    return answer.json()


def _blob_sha(data: bytes) -> str:
    return gitobjects.blob_sha(data)
