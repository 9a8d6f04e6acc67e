"""Webhook handlers: gather inputs through the gateway, call the pure core, hand the plan back.

Each handler returns a short outcome for the log. Reading payloads goes
through ``bot.core.payload`` so a malformed payload is dropped with a reason.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from bot.core import commands
from bot.core import messages as m
from bot.core import review as review_mod
from bot.core.config import ConfigError, ConfigMissing
from bot.core.github_data import GatewayError
from bot.core.payload import PayloadError, field, optional
from bot.github.publish import finish_review, publish_index
from bot.github.remote import Cache, checked_paths, config_paths, lint_changed, load_config, review_config
from bot.core.review import ReviewInput
from bot.service.routing import Router

router = Router()
REVIEW_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")


class Context(NamedTuple):
    gateway: Any
    cache: Cache


def repo_of(payload: dict) -> str:
    return field(payload, "repository", "full_name")


def pr_key(number_path: tuple[str, ...]):
    return lambda payload: f"{repo_of(payload)}#{field(payload, *number_path, kind=int)}"


def index_key(payload: dict) -> str:
    return f"{repo_of(payload)}@index"


def _check_run_pr(payload: dict) -> int:
    pulls = field(payload, "check_run", "pull_requests", kind=list)
    if not pulls:
        raise PayloadError("check_run.pull_requests is empty")
    return field(pulls[0], "number", kind=int)


# --- pull requests -----------------------------------------------------------------


@router.register("pull_request", *REVIEW_ACTIONS, key=pr_key(("pull_request", "number")))
@router.register(
    "pull_request", "edited", accepts=lambda p: "base" in (optional(p, "changes", kind=dict) or {}), key=pr_key(("pull_request", "number"))
)
def pull_request_changed(ctx: Context, payload: dict) -> str:
    number = field(payload, "pull_request", "number", kind=int)
    head, base = field(payload, "pull_request", "head", "sha"), field(payload, "pull_request", "base", "ref")
    return review(ctx, number, head, base).kind


@router.register(
    "check_run",
    "rerequested",
    accepts=lambda p: optional(p, "check_run", "name") == m.CHECK_NAME,
    key=lambda p: f"{repo_of(p)}#{_check_run_pr(p)}",
)
def check_run_rerequested(ctx: Context, payload: dict) -> str:
    return review(ctx, _check_run_pr(payload)).kind


class Reviewed(NamedTuple):
    kind: str  # reviewed, stale, closed, or "ignored: ..."
    head_sha: str


def review(ctx: Context, number: int, head_sha: str | None = None, base_ref: str | None = None) -> Reviewed:
    """Lint what the pull request changes at ``head_sha`` and publish the result unless the head moved on."""
    gw = ctx.gateway
    if head_sha is None or base_ref is None:
        current = gw.pull_request(number)
        head_sha, base_ref = current.head_sha, current.base_ref
    files = gw.changed_files(number)
    cfg = None
    try:
        cfg = review_config(gw, files, head_sha, base_ref, ctx.cache)
        results = lint_changed(gw, checked_paths(files, cfg), cfg, head_sha)
        plan = review_mod.plan(ReviewInput(head_sha, tuple(files), tuple(results), cfg))
    except ConfigMissing:
        return Reviewed("ignored: no config", head_sha)
    except ConfigError as exc:
        plan = review_mod.plan(ReviewInput(head_sha, tuple(files), (), None, config_error=str(exc)))
    return Reviewed(finish_review(gw, number, head_sha, files, plan, cfg, ctx.cache), head_sha)


def report_failure(ctx: Context, payload: dict, event: str, error: str, attempts: int) -> None:
    """After the last attempt, make the failure visible on the pull request instead of staying silent."""
    head = optional(payload, "check_run", "head_sha") if event == "check_run" else optional(payload, "pull_request", "head", "sha")
    if head is None:
        return  # not about one commit of a pull request: the log line is the report
    text = m.REVIEW_FAILED.format(sha=head[:7], attempts=attempts, error=error)
    ctx.gateway.publish_check_run(review_mod.failure_check_run(head, text))


# --- the index -------------------------------------------------------------------------


def _merged_into_default(payload: dict) -> bool:
    pr = optional(payload, "pull_request", kind=dict) or {}
    return bool(pr.get("merged")) and optional(pr, "base", "ref") == optional(payload, "repository", "default_branch")


@router.register("pull_request", "closed", accepts=_merged_into_default, key=index_key)
def pull_request_merged(ctx: Context, payload: dict) -> str:
    try:
        outcome = publish_index(ctx.gateway, field(payload, "repository", "default_branch"), ctx.cache)
    except ConfigMissing:
        return "ignored: no config"
    return f"index-{outcome.kind}"


def _push_to_default_by_others(payload: dict) -> bool:
    branch = optional(payload, "repository", "default_branch")
    if optional(payload, "ref") != f"refs/heads/{branch}":
        return False
    messages = [optional(c, "message", default="") for c in optional(payload, "commits", kind=list, default=[])]
    # Our own index commits trigger pushes too; answering them would loop.
    return not messages or not all(m.INDEX_COMMIT_MARKER in message for message in messages)


@router.register("push", accepts=_push_to_default_by_others, key=index_key)
def pushed(ctx: Context, payload: dict) -> str:
    branch = field(payload, "repository", "default_branch")
    changed = _pushed_paths(payload)
    if changed is None or changed & config_paths(load_config_or_none(ctx, branch)):
        ctx.cache.forget_config(ctx.gateway.repo)
    try:
        cfg = load_config(ctx.gateway, branch, ctx.cache)
    except ConfigMissing:
        return "ignored: no config"
    watched = (cfg.case_studies_dir + "/", cfg.readme, cfg.index_json, *config_paths(cfg))
    if changed is not None and not any(path.startswith(watched) or path in watched for path in changed):
        return "ignored: no case study changed"
    return "index-" + publish_index(ctx.gateway, branch, ctx.cache).kind


def load_config_or_none(ctx: Context, ref: str):
    try:
        return load_config(ctx.gateway, ref, ctx.cache)
    except ConfigError:
        return None


def _pushed_paths(payload: dict) -> set[str] | None:
    """Paths the push touched, or None when the payload cannot tell (GitHub lists at most 20 commits)."""
    pushed = optional(payload, "commits", kind=list, default=[])
    if len(pushed) >= 20:
        return None
    return {p for c in pushed for key in ("added", "modified", "removed") for p in (optional(c, key, kind=list, default=[]))}


# --- comment commands --------------------------------------------------------------------


def _commands_from_people(payload: dict) -> bool:
    if optional(payload, "sender", "type") == "Bot" or optional(payload, "comment", "user", "type") == "Bot":
        return False  # our own replies quote commands
    return m.COMMAND_PREFIX in (optional(payload, "comment", "body") or "")


@router.register("issue_comment", "created", accepts=_commands_from_people, key=pr_key(("issue", "number")))
def comment_created(ctx: Context, payload: dict) -> str:
    number = field(payload, "issue", "number", kind=int)
    comment_id = field(payload, "comment", "id", kind=int)
    login = field(payload, "comment", "user", "login")
    is_pr = isinstance(optional(payload, "issue", "pull_request", kind=dict), dict)
    found = commands.find_commands(field(payload, "comment", "body"))
    answered = [c.body for c in ctx.gateway.issue_comments(number) if c.author_is_bot]
    for command in found:
        marker = m.REPLY_MARKER.format(comment=comment_id, command=command.name)
        if any(body.startswith(marker) for body in answered):
            continue  # answered before this delivery was retried
        template, values = _run(ctx, command, number, is_pr, login, payload)
        # Values (user-written command names included) are substituted once, never re-parsed.
        ctx.gateway.create_comment(number, template.format(marker=marker, user=login, **values))
    return f"commands: {', '.join(c.name for c in found) or 'none'}"


def _run(ctx: Context, command: commands.Command, number: int, is_pr: bool, login: str, payload: dict) -> tuple[str, dict]:
    if not command.known:
        return m.UNKNOWN_COMMAND, {"command": command.name}
    if command.name == "help":
        return m.HELP, {}
    if command.name == "recheck":
        if not is_pr:
            return m.RECHECK_NOT_A_PR, {}
        done = review(ctx, number)
        return m.RECHECK_REPLIES.get(done.kind, m.RECHECK_NOT_DONE), {"sha": done.head_sha[:7], "outcome": done.kind}
    role = ctx.gateway.permission(login)
    if not commands.may_regenerate(role):
        return m.REFUSED, {"command": command.name, "permission": role}
    branch = field(payload, "repository", "default_branch")
    try:
        outcome = publish_index(ctx.gateway, branch, ctx.cache)
    except (GatewayError, ConfigError) as exc:
        return m.INDEX_FAILED, {"error": str(exc)}
    if outcome.kind == "unchanged":
        return m.INDEX_DONE_UNCHANGED, {"branch": branch}
    if outcome.kind == "pull-request":
        return m.INDEX_DONE_PR, {"branch": branch, "number": outcome.number}
    return m.INDEX_DONE_COMMIT, {"branch": branch, "sha": (outcome.sha or "")[:7]}
