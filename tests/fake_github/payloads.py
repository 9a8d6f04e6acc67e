"""Webhook deliveries built from the fake's current state, each checked against webhooks.json.

Builders return ``(event_name, payload)``; ``delivery()`` turns one into the body and headers
GitHub would POST, signed like GitHub signs them. The webhook schemas forbid unknown keys, so
the objects come from the same ``Renderer`` the REST responses use (see ``render.py``).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jsonschema import Draft7Validator

from .gitobjects import ZERO_SHA, Commit
from .render import node_id
from .state import NOREPLY, Repo, iso, now

WEBHOOKS_PATH = Path(__file__).resolve().parent.parent / "github_spec" / "webhooks.json"
PUSH_COMMIT_LIMIT = 20  # GitHub lists at most 20 commits in a push payload
ACTIONS_SLUG = "github-actions"  # the App that owns workflow runs' check suites
FORK_OWNER = "fork-owner"
Event = tuple[str, dict[str, Any]]


class InvalidPayload(AssertionError):
    pass


@functools.cache
def _validator(definition: str) -> Draft7Validator:
    definitions = json.loads(WEBHOOKS_PATH.read_text())["definitions"]
    schema = {"$ref": f"#/definitions/{definition}", "definitions": definitions}
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def validate(definition: str, payload: dict[str, Any]) -> None:
    errors = sorted(_validator(definition).iter_errors(payload), key=lambda e: e.json_path)
    if errors:
        details = "\n".join(f"  {e.json_path}: {e.message[:300]}" for e in errors)
        raise InvalidPayload(f"payload does not match {definition}:\n{details}")


def sign(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256``: HMAC-SHA256 of the raw body, hex, prefixed ``sha256=``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery(
    event: Event, secret: str, delivery_id: str | None = None, app_id: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of GitHub's POST for ``event``; redeliveries reuse ``delivery_id``."""
    name, payload = event
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/fake",
        "X-GitHub-Event": name,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
    }
    if app_id is not None:  # App webhooks name the App they were sent for
        headers["X-GitHub-Hook-Installation-Target-Type"] = "integration"
        headers["X-GitHub-Hook-Installation-Target-ID"] = str(app_id)
    return body, headers


class Payloads:
    """Builders bound to one FakeGitHub (``fake.payloads``)."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self._workflows: dict[tuple[int, str], int] = {}  # (repository id, path) -> workflow id
        self._run_numbers: dict[int, int] = {}  # workflow id -> last run number

    def delivery(self, event: Event, secret: str, delivery_id: str | None = None) -> tuple[bytes, dict[str, str]]:
        return delivery(event, secret, delivery_id, self.fake.app_id)

    def _envelope(self, repo: Repo, sender: str) -> dict[str, Any]:
        r, installation = self.fake.render, self.fake.installation_id
        return {
            "repository": r.repository(repo),
            "sender": r.user(sender),
            "installation": {"id": installation, "node_id": node_id("Installation", installation)},
        }

    def _event(self, name: str, definition: str, payload: dict[str, Any]) -> Event:
        validate(definition, payload)
        return name, payload

    def pull_request_event(
        self,
        repo: str,
        number: int,
        action: str,
        changes: dict[str, Any] | None = None,
        *,
        sender: str | None = None,
        before: str | None = None,
        label: str | None = None,
    ) -> Event:
        """``pull_request`` with ``action``; the pull request as it is now (a ``closed`` one
        says whether it was merged). ``synchronize`` takes ``before`` (default: the head's
        parent); ``labeled`` takes ``label`` (default: the last label); ``edited`` ``changes``."""
        with self.fake.lock:
            r = self.fake.repo(repo)
            pr = r.pull(number)
            who = sender or (pr.merged_by if action == "closed" and pr.merged_by else pr.user)
            payload: dict[str, Any] = {"action": action, "number": number}
            payload["pull_request"] = self.fake.render.pull_request(r, pr)
            if action == "synchronize":
                head = r.head_sha(pr)
                payload["before"] = before or r.objects.commit(head).parents[0]
                payload["after"] = head
            if action == "edited":
                payload["changes"] = changes or {}
            if action == "labeled":
                chosen = r.label(label) if label else (pr.labels[-1] if pr.labels else None)
                if chosen is None:
                    raise ValueError(f"pull request #{number} has no label to report")
                payload["label"] = self.fake.render.label(r, chosen)
            payload.update(self._envelope(r, who))
        return self._event("pull_request", f"pull_request${action}", payload)

    def issue_comment_event(
        self, repo: str, number: int, body: str, login: str, action: str = "created", comment_id: int | None = None
    ) -> Event:
        """Someone comments on pull request ``number``: the comment is stored, so the bot can
        react to it or edit around it. ``edited`` changes comment ``comment_id`` to ``body``."""
        with self.fake.lock:
            r = self.fake.repo(repo)
            pr = r.pull(number)
            payload: dict[str, Any] = {"action": action}
            if action == "edited":
                comment = r.comment(comment_id) if comment_id is not None else None
                if comment is None:
                    raise ValueError("an edited comment needs comment_id")
                payload["changes"] = {"body": {"from": comment.body}}
                comment.body, comment.updated_at = body, now()
            else:
                comment = r.add_comment(number, body, login)
            payload["issue"] = self.fake.render.issue(r, pr)
            payload["comment"] = self.fake.render.issue_comment(r, comment)
            payload.update(self._envelope(r, login))
        return self._event("issue_comment", f"issue_comment${action}", payload)

    def _push_commit(self, r: Repo, sha: str) -> dict[str, Any]:
        commit: Commit = r.objects.commit(sha)
        after = r.snapshot(sha)
        before = r.snapshot(commit.parents[0]) if commit.parents else {}
        return {
            "id": sha,
            "tree_id": commit.tree,
            "distinct": True,
            "message": commit.message,
            "timestamp": iso(commit.author.date),
            "url": f"{self.fake.render.repo_html(r)}/commit/{sha}",
            "author": {"name": commit.author.name, "email": commit.author.email, "username": commit.author.name},
            "committer": {
                "name": commit.committer.name,
                "email": commit.committer.email,
                "username": commit.committer.name,
            },
            # git's view, not GitHub's PR view: a rename is a removal plus an addition.
            "added": sorted(p for p in after if p not in before),
            "removed": sorted(p for p in before if p not in after),
            "modified": sorted(p for p in after if p in before and after[p] != before[p]),
        }

    def push_event(self, repo: str, branch: str, before: str, after: str, pusher: str = "someone") -> Event:
        """A push moving ``branch`` from ``before`` to ``after`` (either may be all zeros)."""
        with self.fake.lock:
            r = self.fake.repo(repo)
            created, deleted = before == ZERO_SHA, after == ZERO_SHA
            old = set() if created else r.objects.ancestors(before)
            new = [] if deleted else sorted(r.objects.ancestors(after) - old, key=lambda s: r.commit_order.get(s, 0))
            payload = {
                "ref": f"refs/heads/{branch}",
                "before": before,
                "after": after,
                "created": created,
                "deleted": deleted,
                "forced": not (created or deleted) and not r.objects.is_ancestor(before, after),
                "base_ref": None,
                "compare": f"{self.fake.render.repo_html(r)}/compare/{before[:12]}...{after[:12]}",
                "commits": [self._push_commit(r, sha) for sha in new[-PUSH_COMMIT_LIMIT:]],
                "head_commit": None if deleted else self._push_commit(r, after),
                "pusher": {"name": pusher, "email": f"{pusher}{NOREPLY}"},
                **self._envelope(r, pusher),
            }
        return self._event("push", "push$event", payload)

    def check_run_rerequested_event(self, repo: str, check_run_id: int, sender: str = "maintainer") -> Event:
        """Someone clicks "Re-run" on a completed check run."""
        with self.fake.lock:
            r = self.fake.repo(repo)
            run = r.check_runs[check_run_id]
            render = self.fake.render
            check_run = render.check_run(r, run)
            stamp = iso(run.started_at)
            check_run["check_suite"] = {
                "id": run.suite_id,
                "node_id": node_id("CheckSuite", run.suite_id),
                "head_branch": next((ref[11:] for ref, sha in r.refs.items() if sha == run.head_sha), None),
                "head_sha": run.head_sha,
                "status": "completed",
                "conclusion": run.conclusion,
                "url": f"{render.repo_api(r)}/check-suites/{run.suite_id}",
                "before": None,
                "after": run.head_sha,
                "pull_requests": check_run["pull_requests"],
                "app": check_run["app"],
                "created_at": stamp,
                "updated_at": iso(run.completed_at) or stamp,
            }
            payload = {"action": "rerequested", "check_run": check_run, **self._envelope(r, sender)}
        return self._event("check_run", "check_run$rerequested", payload)

    def ping_event(self, url: str = "http://127.0.0.1/webhook") -> Event:
        """The ping GitHub sends when the App's webhook is set up (it carries no installation)."""
        render = self.fake.render
        app = self.fake.apps[self.fake.app_slug]
        stamp = iso(now())
        payload = {
            "zen": "Keep it logically awesome.",
            "hook_id": 1,
            "hook": {
                "type": "App",
                "id": 1,
                "name": "web",
                "active": True,
                "events": list(app.events),
                "config": {"content_type": "json", "insecure_ssl": "0", "url": url},
                "updated_at": stamp,
                "created_at": stamp,
                "app_id": app.id,
                "url": f"{render.api}/app/hook/config",
                "ping_url": f"{render.api}/app/hook/pings",
                "deliveries_url": f"{render.api}/app/hook/deliveries",
            },
            "sender": render.user(app.owner),
        }
        return self._event("ping", "ping$event", payload)

    def _workflow(self, r: Repo, name: str, path: str) -> dict[str, Any]:
        render = self.fake.render
        workflow_id = self._workflows.setdefault((r.id, path), self.fake.next_id())
        html = f"{render.repo_html(r)}/blob/{r.default_branch}/{path}"
        stamp = iso(r.created_at)
        return {
            "id": workflow_id,
            "node_id": node_id("Workflow", workflow_id),
            "name": name,
            "path": path,
            "state": "active",
            "created_at": stamp,
            "updated_at": stamp,
            "url": f"{render.repo_api(r)}/actions/workflows/{workflow_id}",
            "html_url": html,
            "badge_url": f"{render.repo_html(r)}/workflows/{quote(name)}/badge.svg",
        }

    def workflow_run_completed_event(
        self,
        repo: str,
        number: int,
        *,
        workflow_name: str = "Case studies",
        conclusion: str = "success",
        run_id: int | None = None,
        from_fork: bool = False,
    ) -> Event:
        """``workflow_run`` ``completed``: workflow ``workflow_name`` (file: its name in
        kebab case) ran for pull request ``number``'s current head and ended in ``conclusion``.
        ``from_fork`` reports the head as the fork of ``fork-owner`` and, as GitHub does for
        forks, leaves ``pull_requests`` empty (the fake still keeps the branch in ``repo``)."""
        with self.fake.lock:
            r = self.fake.repo(repo)
            pr = r.pull(number)
            render = self.fake.render
            head_sha = r.head_sha(pr)
            path = f".github/workflows/{workflow_name.lower().replace(' ', '-')}.yml"
            workflow = self._workflow(r, workflow_name, path)
            run = run_id if run_id is not None else self.fake.next_id()
            run_number = self._run_numbers[workflow["id"]] = self._run_numbers.get(workflow["id"], 0) + 1
            suite = r.check_suites.setdefault((ACTIONS_SLUG, head_sha), self.fake.next_id())
            head: Commit = r.objects.commit(head_sha)
            api, stamp = f"{render.repo_api(r)}/actions/runs/{run}", iso(now())
            workflow_run = {
                "id": run,
                "node_id": node_id("WorkflowRun", run),
                "name": workflow_name,
                "display_title": pr.title,
                "path": path,
                "head_branch": pr.head,
                "head_sha": head_sha,
                "run_number": run_number,
                "run_attempt": 1,
                "event": "pull_request",
                "status": "completed",
                "conclusion": conclusion,
                "workflow_id": workflow["id"],
                "check_suite_id": suite,
                "check_suite_node_id": node_id("CheckSuite", suite),
                "url": api,
                "html_url": f"{render.repo_html(r)}/actions/runs/{run}",
                "pull_requests": [] if from_fork else [render.pull_request_minimal(r, pr)],
                "created_at": iso(pr.updated_at),
                "updated_at": stamp,
                "run_started_at": iso(pr.updated_at),
                "actor": render.user(pr.user),
                "triggering_actor": render.user(pr.user),
                "jobs_url": f"{api}/jobs",
                "logs_url": f"{api}/logs",
                "check_suite_url": f"{render.repo_api(r)}/check-suites/{suite}",
                "artifacts_url": f"{api}/artifacts",
                "cancel_url": f"{api}/cancel",
                "rerun_url": f"{api}/rerun",
                "previous_attempt_url": None,
                "workflow_url": workflow["url"],
                "head_commit": {
                    "id": head_sha,
                    "tree_id": head.tree,
                    "message": head.message,
                    "timestamp": iso(head.committer.date),
                    "author": {"name": head.author.name, "email": head.author.email},
                    "committer": {"name": head.committer.name, "email": head.committer.email},
                },
                "repository": render.repository_lite(r),
                "head_repository": render.repository_lite(r, FORK_OWNER if from_fork else None),
            }
            payload = {
                "action": "completed",
                "workflow_run": workflow_run,
                "workflow": workflow,
                **self._envelope(r, pr.user),
            }
        return self._event("workflow_run", "workflow_run$completed", payload)

    def workflow_dispatch_event(
        self,
        repo: str,
        ref: str = "refs/heads/main",
        sender: str = "maintainer",
        inputs: dict[str, Any] | None = None,
        *,
        workflow: str = ".github/workflows/index.yml",
    ) -> Event:
        """Someone presses "Run workflow" for ``workflow`` (its path) on ``ref``; GitHub sends
        ``inputs`` null when the workflow declares none."""
        with self.fake.lock:
            r = self.fake.repo(repo)
            if r.resolve(ref) is None:
                raise ValueError(f"{repo} has no ref {ref!r}")  # GitHub refuses the dispatch (422)
            payload = {"ref": ref, "workflow": workflow, "inputs": inputs, **self._envelope(r, sender)}
        return self._event("workflow_dispatch", "workflow_dispatch$event", payload)
