"""JSON representations of the state, complete enough for both of GitHub's descriptions.

The same objects appear in REST responses (checked against openapi.json, which tolerates extra
keys) and in webhook payloads (checked against webhooks.json, which forbids them), so each
builder emits exactly the keys both accept, and the REST-only extras are added on top
(``full_repository``). Every URL is built from the fake's own address: PyGithub follows
``url``/``issue_url``/``Link`` values and refuses foreign hosts.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from .diffs import FileDiff
from .gitobjects import Commit, Entry, Person
from .state import (
    CheckRun,
    GitHubState,
    IssueComment,
    Label,
    PullRequest,
    Reaction,
    Repo,
    Review,
    ReviewComment,
    NOREPLY,
    iso,
)

REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")
# GitHub stops returning content inline above 1 MB (encoding "none", empty content).
INLINE_CONTENT_LIMIT = 1024 * 1024
# repository-lite keeps these plus every *_url key except the clone and mirror URLs.
REPOSITORY_LITE_NAMES = frozenset({"id", "node_id", "name", "full_name", "private", "owner", "description", "fork"})
NOT_LITE_URLS = frozenset({"git_url", "ssh_url", "clone_url", "svn_url", "mirror_url"})


def _lite_url(key: str) -> bool:
    return key.endswith("url") and key not in NOT_LITE_URLS


@dataclass(frozen=True)
class App:
    id: int
    slug: str
    name: str
    owner: str
    permissions: dict[str, str]
    events: tuple[str, ...]


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0:{kind}{number}".encode()).decode()


def base64_lines(data: bytes) -> str:
    """Base64 wrapped every 60 characters, each line ending in ``\\n``, as GitHub sends blobs."""
    text = base64.b64encode(data).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


class Renderer:
    def __init__(self, state: GitHubState, apps: dict[str, App], api_root: str) -> None:
        self.state = state
        self.apps = apps
        self.api = api_root.rstrip("/")
        parts = urlsplit(self.api)
        self.host = parts.netloc
        self.html = f"{parts.scheme}://{parts.netloc}"  # GHES serves pages at the root, the API under /api/v3

    # -- URLs ----------------------------------------------------------------------------------

    def repo_api(self, repo: Repo) -> str:
        return f"{self.api}/repos/{repo.full_name}"

    def repo_html(self, repo: Repo) -> str:
        return f"{self.html}/{repo.full_name}"

    # -- people and apps -----------------------------------------------------------------------

    def user(self, login: str) -> dict[str, Any]:
        uid = self.state.user_id(login)
        if login.endswith("[bot]"):
            kind, html = "Bot", f"{self.html}/apps/{login.removesuffix('[bot]')}"
        else:
            kind = "Organization" if login in self.state.organizations else "User"
            html = f"{self.html}/{login}"
        url = f"{self.api}/users/{quote(login)}"
        return {
            "login": login,
            "id": uid,
            "node_id": node_id(kind, uid),
            "avatar_url": f"{self.html}/avatars/u/{uid}",
            "gravatar_id": "",
            "url": url,
            "html_url": html,
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": kind,
            "site_admin": False,
        }

    def app(self, slug: str) -> dict[str, Any]:
        app = self.apps[slug]
        stamp = "2024-01-01T00:00:00Z"
        return {
            "id": app.id,
            "slug": app.slug,
            "node_id": node_id("Integration", app.id),
            "owner": self.user(app.owner),
            "name": app.name,
            "description": "",
            "external_url": f"{self.html}/apps/{app.slug}",
            "html_url": f"{self.html}/apps/{app.slug}",
            "created_at": stamp,
            "updated_at": stamp,
            "permissions": dict(app.permissions),
            "events": list(app.events),
        }

    # -- repositories --------------------------------------------------------------------------

    def repository(self, repo: Repo) -> dict[str, Any]:
        api, html = self.repo_api(repo), self.repo_html(repo)
        open_issues = sum(1 for p in repo.pulls.values() if p.state == "open")
        templated = {
            "keys_url": "/keys{/key_id}",
            "collaborators_url": "/collaborators{/collaborator}",
            "issue_events_url": "/issues/events{/number}",
            "assignees_url": "/assignees{/user}",
            "branches_url": "/branches{/branch}",
            "blobs_url": "/git/blobs{/sha}",
            "git_tags_url": "/git/tags{/sha}",
            "git_refs_url": "/git/refs{/sha}",
            "trees_url": "/git/trees{/sha}",
            "statuses_url": "/statuses/{sha}",
            "commits_url": "/commits{/sha}",
            "git_commits_url": "/git/commits{/sha}",
            "comments_url": "/comments{/number}",
            "issue_comment_url": "/issues/comments{/number}",
            "contents_url": "/contents/{+path}",
            "compare_url": "/compare/{base}...{head}",
            "archive_url": "/{archive_format}{/ref}",
            "issues_url": "/issues{/number}",
            "pulls_url": "/pulls{/number}",
            "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}",
            "labels_url": "/labels{/name}",
            "releases_url": "/releases{/id}",
        }
        plain = "forks teams hooks events tags languages stargazers contributors subscribers subscription merges"
        plain += " downloads deployments"
        return {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": self.user(repo.owner),
            "html_url": html,
            "description": None,
            "fork": False,
            "url": api,
            **{f"{name}_url": f"{api}/{name}" for name in plain.split()},
            **{key: api + suffix for key, suffix in templated.items()},
            "created_at": iso(repo.created_at),
            "updated_at": iso(repo.pushed_at),
            "pushed_at": iso(repo.pushed_at),
            "git_url": f"git://{self.host}/{repo.full_name}.git",
            "ssh_url": f"git@{self.host}:{repo.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if repo.private else "public",
            "forks": 0,
            "open_issues": open_issues,
            "watchers": 0,
            "default_branch": repo.default_branch,
            "custom_properties": {},
        }

    def full_repository(self, repo: Repo) -> dict[str, Any]:
        return {
            **self.repository(repo),
            "network_count": 0,
            "subscribers_count": 0,
            # What an App installation with contents:write sees.
            "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
            "allow_merge_commit": True,
            "allow_squash_merge": True,
            "allow_rebase_merge": True,
            "allow_auto_merge": False,
            "delete_branch_on_merge": False,
        }

    def repository_lite(self, repo: Repo, fork_owner: str | None = None) -> dict[str, Any]:
        """``repository-lite`` (workflow runs): identity and API URLs, no counts, dates or clone
        URLs. ``fork_owner`` gives that account's fork of ``repo``, which the fake does not
        store: the same name under another owner, with its own id and URLs."""
        full = self.repository(repo)
        lite = {key: value for key, value in full.items() if key in REPOSITORY_LITE_NAMES or _lite_url(key)}
        if fork_owner is None:
            return lite
        fork_name = f"{fork_owner}/{repo.name}"
        fork_id = zlib.crc32(fork_name.encode())  # stable, and far from the state's id sequence
        for key, value in lite.items():
            if isinstance(value, str) and value.startswith(self.html):
                lite[key] = value.replace(f"/{repo.full_name}", f"/{fork_name}", 1)
        lite.update(id=fork_id, node_id=node_id("Repository", fork_id), full_name=fork_name, fork=True)
        lite["owner"] = self.user(fork_owner)
        return lite

    def installation(self, installation_id: int, account: str, app: App) -> dict[str, Any]:
        stamp = "2024-01-01T00:00:00Z"
        return {
            "id": installation_id,
            "account": self.user(account),
            "access_tokens_url": f"{self.api}/app/installations/{installation_id}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{self.html}/organizations/{account}/settings/installations/{installation_id}",
            "app_id": app.id,
            "app_slug": app.slug,
            "target_id": self.state.user_id(account),
            "target_type": "Organization",
            "permissions": dict(app.permissions),
            "events": list(app.events),
            "created_at": stamp,
            "updated_at": stamp,
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "repository_selection": "all",
            "suspended_at": None,
            "suspended_by": None,
        }

    def branch(self, repo: Repo, name: str) -> dict[str, Any]:
        sha = repo.branch_sha(name)
        assert sha
        protected = name in repo.protected
        api = f"{self.repo_api(repo)}/branches/{quote(name)}"
        return {
            "name": name,
            "commit": self.commit(repo, sha),
            "_links": {"self": api, "html": f"{self.repo_html(repo)}/tree/{quote(name)}"},
            "protected": protected,
            "protection": {
                "enabled": protected,
                "required_status_checks": {
                    "enforcement_level": "non_admins" if protected else "off",
                    "contexts": [],
                    "checks": [],
                },
            },
            "protection_url": f"{api}/protection",
        }

    def collaborator_permission(self, repo: Repo, login: str) -> dict[str, Any]:
        permission, role = repo.permission(login)
        user = self.user(login)
        user["role_name"] = role
        user["permissions"] = {
            "admin": permission == "admin",
            "maintain": role in ("admin", "maintain"),
            "push": permission in ("admin", "write"),
            "triage": permission in ("admin", "write") or role == "triage",
            "pull": permission != "none",
        }
        return {"permission": permission, "role_name": role, "user": user}

    # -- git database --------------------------------------------------------------------------

    def account(self, who: Person) -> dict[str, Any] | None:
        """The GitHub account behind a git identity: GitHub maps it by email, null when unknown."""
        return self.user(who.name) if who.email.endswith(NOREPLY) else None

    def git_person(self, who: Person) -> dict[str, str]:
        return {"name": who.name, "email": who.email, "date": iso(who.date)}

    def commit_parents(self, repo: Repo, commit: Commit, api: str) -> list[dict[str, str]]:
        """Parent links; ``api`` is "commits" (commit schema) or "git/commits" (git-commit schema)."""
        return [
            {"sha": p, "url": f"{self.repo_api(repo)}/{api}/{p}", "html_url": f"{self.repo_html(repo)}/commit/{p}"}
            for p in commit.parents
        ]

    def verification(self) -> dict[str, Any]:
        return {"verified": False, "reason": "unsigned", "signature": None, "payload": None, "verified_at": None}

    def git_commit(self, repo: Repo, sha: str) -> dict[str, Any]:
        commit = repo.objects.commit(sha)
        api = self.repo_api(repo)
        return {
            "sha": sha,
            "node_id": node_id("Commit", repo.commit_order.get(sha, 0)),
            "url": f"{api}/git/commits/{sha}",
            "html_url": f"{self.repo_html(repo)}/commit/{sha}",
            "author": self.git_person(commit.author),
            "committer": self.git_person(commit.committer),
            "tree": {"sha": commit.tree, "url": f"{api}/git/trees/{commit.tree}"},
            "message": commit.message,
            "parents": self.commit_parents(repo, commit, "git/commits"),
            "verification": self.verification(),
        }

    def commit(self, repo: Repo, sha: str) -> dict[str, Any]:
        """The ``commit`` schema (repos/get-branch embeds it)."""
        commit = repo.objects.commit(sha)
        api = self.repo_api(repo)
        return {
            "sha": sha,
            "node_id": node_id("Commit", repo.commit_order.get(sha, 0)),
            "url": f"{api}/commits/{sha}",
            "html_url": f"{self.repo_html(repo)}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": {
                "url": f"{api}/git/commits/{sha}",
                "author": self.git_person(commit.author),
                "committer": self.git_person(commit.committer),
                "message": commit.message,
                "comment_count": 0,
                "tree": {"sha": commit.tree, "url": f"{api}/git/trees/{commit.tree}"},
                "verification": self.verification(),
            },
            "author": self.account(commit.author),
            "committer": self.account(commit.committer),
            "parents": self.commit_parents(repo, commit, "commits"),
        }

    def git_ref(self, repo: Repo, ref: str) -> dict[str, Any]:
        sha = repo.refs[ref]
        api = self.repo_api(repo)
        return {
            "ref": ref,
            "node_id": node_id("Ref", zlib.crc32(f"{repo.id}:{ref}".encode())),
            "url": f"{api}/git/{quote(ref)}",
            "object": {"type": "commit", "sha": sha, "url": f"{api}/git/commits/{sha}"},
        }

    def tree_entry(self, repo: Repo, path: str, entry: Entry) -> dict[str, Any]:
        kind = entry.type + "s" if entry.type != "commit" else "commits"
        item: dict[str, Any] = {"path": path, "mode": entry.mode, "type": entry.type, "sha": entry.sha}
        if entry.type == "blob":
            item["size"] = len(repo.objects.blob(entry.sha))
        item["url"] = f"{self.repo_api(repo)}/git/{kind}/{entry.sha}"
        return item

    def git_tree(self, repo: Repo, sha: str, recursive: bool) -> dict[str, Any]:
        return {
            "sha": sha,
            "url": f"{self.repo_api(repo)}/git/trees/{sha}",
            "tree": [self.tree_entry(repo, path, e) for path, e in repo.objects.walk(sha, recursive)],
            "truncated": False,
        }

    def blob(self, repo: Repo, sha: str) -> dict[str, Any]:
        data = repo.objects.blob(sha)
        return {
            "sha": sha,
            "node_id": node_id("Blob", len(data)),
            "size": len(data),
            "url": f"{self.repo_api(repo)}/git/blobs/{sha}",
            "content": base64_lines(data),
            "encoding": "base64",
        }

    def short_blob(self, repo: Repo, sha: str) -> dict[str, str]:
        return {"sha": sha, "url": f"{self.repo_api(repo)}/git/blobs/{sha}"}

    def content(self, repo: Repo, path: str, entry: Entry, ref: str, inline: bool) -> dict[str, Any]:
        """A contents entry; ``inline`` adds the base64 body (a file fetched by itself)."""
        api = f"{self.repo_api(repo)}/contents/{quote(path)}?ref={quote(ref)}"
        html = f"{self.repo_html(repo)}/{'tree' if entry.type == 'tree' else 'blob'}/{quote(ref)}/{quote(path)}"
        git = self.tree_entry(repo, path, entry)["url"]
        is_file = entry.type == "blob"
        item: dict[str, Any] = {
            "type": "file" if is_file else "dir",
            "size": len(repo.objects.blob(entry.sha)) if is_file else 0,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": entry.sha,
            "url": api,
            "git_url": git,
            "html_url": html,
            "download_url": f"{self.repo_html(repo)}/raw/{quote(ref)}/{quote(path)}" if is_file else None,
            "_links": {"self": api, "git": git, "html": html},
        }
        if inline and is_file:
            data = repo.objects.blob(entry.sha)
            small = len(data) <= INLINE_CONTENT_LIMIT
            item["content"] = base64_lines(data) if small else ""
            item["encoding"] = "base64" if small else "none"
        return item

    # -- pull requests and issues --------------------------------------------------------------

    def label(self, repo: Repo, label: Label) -> dict[str, Any]:
        return {
            "id": label.id,
            "node_id": node_id("Label", label.id),
            "url": f"{self.repo_api(repo)}/labels/{quote(label.name, safe='')}",
            "name": label.name,
            "color": label.color,
            "default": False,
            "description": label.description,
        }

    def branch_end(self, repo: Repo, branch: str, sha: str) -> dict[str, Any]:
        return {
            "label": f"{repo.owner}:{branch}",
            "ref": branch,
            "sha": sha,
            "user": self.user(repo.owner),
            "repo": self.repository(repo),
        }

    def pull_request(self, repo: Repo, pr: PullRequest) -> dict[str, Any]:
        api = self.repo_api(repo)
        url = f"{api}/pulls/{pr.number}"
        html = f"{self.repo_html(repo)}/pull/{pr.number}"
        head_sha = repo.head_sha(pr)
        files = repo.pull_files(pr)
        is_open = pr.state == "open"
        links = {
            "self": url,
            "html": html,
            "issue": f"{api}/issues/{pr.number}",
            "comments": f"{api}/issues/{pr.number}/comments",
            "review_comments": f"{url}/comments",
            "review_comment": f"{api}/pulls/comments{{/number}}",
            "commits": f"{url}/commits",
            "statuses": f"{api}/statuses/{head_sha}",
        }
        return {
            "url": url,
            "id": pr.id,
            "node_id": node_id("PullRequest", pr.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": links["issue"],
            "number": pr.number,
            "state": pr.state,
            "locked": False,
            "title": pr.title,
            "user": self.user(pr.user),
            "body": pr.body,
            "created_at": iso(pr.created_at),
            "updated_at": iso(pr.updated_at),
            "closed_at": iso(pr.closed_at),
            "merged_at": iso(pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": [self.label(repo, label) for label in pr.labels],
            "milestone": None,
            "draft": pr.draft,
            "commits_url": links["commits"],
            "review_comments_url": links["review_comments"],
            "review_comment_url": links["review_comment"],
            "comments_url": links["comments"],
            "statuses_url": links["statuses"],
            "head": self.branch_end(repo, pr.head, head_sha),
            "base": self.branch_end(repo, pr.base, repo.base_sha(pr)),
            "_links": {key: {"href": value} for key, value in links.items()},
            "author_association": repo.association(pr.user),
            "auto_merge": None,
            "active_lock_reason": None,
            "merged": pr.merged,
            # GitHub computes mergeability lazily and reports null once a pull request is closed.
            "mergeable": True if is_open else None,
            "rebaseable": True if is_open else None,
            "mergeable_state": ("draft" if pr.draft else "clean") if is_open else "unknown",
            "merged_by": self.user(pr.merged_by) if pr.merged_by else None,
            "comments": sum(1 for c in repo.comments.values() if c.number == pr.number),
            "review_comments": sum(1 for c in repo.review_comments if c.number == pr.number),
            "maintainer_can_modify": False,
            "commits": repo.pull_commit_count(pr),
            "additions": sum(f.additions for f in files),
            "deletions": sum(f.deletions for f in files),
            "changed_files": len(files),
        }

    def pull_request_minimal(self, repo: Repo, pr: PullRequest) -> dict[str, Any]:
        ref = {"id": repo.id, "url": self.repo_api(repo), "name": repo.name}
        return {
            "url": f"{self.repo_api(repo)}/pulls/{pr.number}",
            "id": pr.id,
            "number": pr.number,
            "head": {"ref": pr.head, "sha": repo.head_sha(pr), "repo": ref},
            "base": {"ref": pr.base, "sha": repo.base_sha(pr), "repo": ref},
        }

    def diff_entry(self, repo: Repo, head_sha: str, diff: FileDiff) -> dict[str, Any]:
        path = quote(diff.filename)
        entry: dict[str, Any] = {
            "sha": diff.sha,
            "filename": diff.filename,
            "status": diff.status,
            "additions": diff.additions,
            "deletions": diff.deletions,
            "changes": diff.changes,
            "blob_url": f"{self.repo_html(repo)}/blob/{head_sha}/{path}",
            "raw_url": f"{self.repo_html(repo)}/raw/{head_sha}/{path}",
            "contents_url": f"{self.repo_api(repo)}/contents/{path}?ref={head_sha}",
        }
        if diff.patch is not None:
            entry["patch"] = diff.patch
        if diff.previous_filename:
            entry["previous_filename"] = diff.previous_filename
        return entry

    def reaction_rollup(self, url: str, reactions: list[Reaction]) -> dict[str, Any]:
        counts = {name: sum(1 for r in reactions if r.content == name) for name in REACTIONS}
        return {"url": f"{url}/reactions", "total_count": len(reactions), **counts}

    def issue(self, repo: Repo, pr: PullRequest) -> dict[str, Any]:
        """The issue side of a pull request (every issue in the fake is a pull request)."""
        api = self.repo_api(repo)
        url = f"{api}/issues/{pr.number}"
        html = f"{self.repo_html(repo)}/pull/{pr.number}"
        return {
            "url": url,
            "repository_url": api,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": html,
            "timeline_url": f"{url}/timeline",
            "id": pr.issue_id,
            "node_id": node_id("Issue", pr.issue_id),
            "number": pr.number,
            "title": pr.title,
            "user": self.user(pr.user),
            "labels": [self.label(repo, label) for label in pr.labels],
            "state": pr.state,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": sum(1 for c in repo.comments.values() if c.number == pr.number),
            "created_at": iso(pr.created_at),
            "updated_at": iso(pr.updated_at),
            "closed_at": iso(pr.closed_at),
            "author_association": repo.association(pr.user),
            "active_lock_reason": None,
            "draft": pr.draft,
            "body": pr.body,
            "reactions": self.reaction_rollup(url, []),
            "pull_request": {
                "url": f"{api}/pulls/{pr.number}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": iso(pr.merged_at),
            },
        }

    def issue_comment(self, repo: Repo, comment: IssueComment) -> dict[str, Any]:
        api = self.repo_api(repo)
        url = f"{api}/issues/comments/{comment.id}"
        return {
            "url": url,
            "html_url": f"{self.repo_html(repo)}/pull/{comment.number}#issuecomment-{comment.id}",
            "issue_url": f"{api}/issues/{comment.number}",
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "user": self.user(comment.user),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "author_association": repo.association(comment.user),
            "body": comment.body,
            "reactions": self.reaction_rollup(url, comment.reactions),
            "performed_via_github_app": self.app(comment.via_app) if comment.via_app else None,
        }

    def reaction(self, reaction: Reaction) -> dict[str, Any]:
        return {
            "id": reaction.id,
            "node_id": node_id("Reaction", reaction.id),
            "user": self.user(reaction.user),
            "content": reaction.content,
            "created_at": iso(reaction.created_at),
        }

    def review(self, repo: Repo, review: Review) -> dict[str, Any]:
        pr_url = f"{self.repo_api(repo)}/pulls/{review.number}"
        html = f"{self.repo_html(repo)}/pull/{review.number}#pullrequestreview-{review.id}"
        out = {
            "id": review.id,
            "node_id": node_id("PullRequestReview", review.id),
            "user": self.user(review.user),
            "body": review.body,
            "state": review.state,
            "html_url": html,
            "pull_request_url": pr_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pr_url}},
            "commit_id": review.commit_id,
            "author_association": repo.association(review.user),
        }
        if review.submitted_at:
            out["submitted_at"] = iso(review.submitted_at)
        return out

    def review_comment(self, repo: Repo, comment: ReviewComment) -> dict[str, Any]:
        api = self.repo_api(repo)
        url = f"{api}/pulls/comments/{comment.id}"
        pr_url = f"{api}/pulls/{comment.number}"
        html = f"{self.repo_html(repo)}/pull/{comment.number}#discussion_r{comment.id}"
        out = {
            "url": url,
            "pull_request_review_id": comment.review_id,
            "id": comment.id,
            "node_id": node_id("PullRequestReviewComment", comment.id),
            "diff_hunk": comment.diff_hunk,
            "path": comment.path,
            "position": comment.position,
            "original_position": comment.position,
            "commit_id": comment.commit_id,
            "original_commit_id": comment.commit_id,
            "user": self.user(comment.user),
            "body": comment.body,
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.created_at),
            "html_url": html,
            "pull_request_url": pr_url,
            "author_association": repo.association(comment.user),
            "_links": {"self": {"href": url}, "html": {"href": html}, "pull_request": {"href": pr_url}},
            "start_line": comment.start_line,
            "original_start_line": comment.start_line,
            "line": comment.line,
            "original_line": comment.line,
            "side": comment.side,
            "subject_type": "line",
            "reactions": self.reaction_rollup(url, []),
        }
        if comment.start_side:  # the description's enum lacks null, so leave it out rather than send null
            out["start_side"] = comment.start_side
        return out

    # -- checks --------------------------------------------------------------------------------

    def check_run(self, repo: Repo, run: CheckRun) -> dict[str, Any]:
        url = f"{self.repo_api(repo)}/check-runs/{run.id}"
        return {
            "id": run.id,
            "head_sha": run.head_sha,
            "node_id": node_id("CheckRun", run.id),
            "external_id": run.external_id,
            "url": url,
            "html_url": f"{self.repo_html(repo)}/runs/{run.id}",
            "details_url": run.details_url or f"{self.repo_html(repo)}/runs/{run.id}",
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso(run.started_at),
            "completed_at": iso(run.completed_at),
            "output": {
                "title": run.output.title,
                "summary": run.output.summary,
                "text": run.output.text,
                "annotations_count": len(run.annotations),
                "annotations_url": f"{url}/annotations",
            },
            "name": run.name,
            "check_suite": {"id": run.suite_id},
            "app": self.app(run.app),
            "pull_requests": [
                self.pull_request_minimal(repo, pr)
                for pr in repo.pulls.values()
                if pr.state == "open" and repo.head_sha(pr) == run.head_sha
            ],
        }

