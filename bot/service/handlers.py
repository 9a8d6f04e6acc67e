"""Webhook handlers: gather inputs through the gateway, call the pure core, hand the plan back.

Each handler returns a short outcome for the log. Reading payloads goes
through ``bot.core.payload`` so a malformed payload is dropped with a reason.
An event is a hint: a review reads the pull request and its files from GitHub
when it runs, so a later delivery of the same work supersedes a waiting one
(``routing.Route.work``), and the sweep queues the same jobs (``sweep`` event)
for what no delivery brought.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from bot.core import commands
from bot.core import messages as m
from bot.core import review as review_mod
from bot.core.config import Config, ConfigError, ConfigMissing
from bot.core.github_data import GatewayError
from bot.core.payload import PayloadError, field, optional
from bot.github.gateway import Gateway
from bot.github.publish import finish_review, publish_failure, publish_index
from bot.github.remote import Cache, checked_paths, config_paths, lint_changed, load_config, review_config
from bot.core.review import ReviewInput
from bot.service.routing import Router

router = Router()
REVIEW_ACTIONS = ("opened", "synchronize", "reopened", "ready_for_review")
REVIEW, INDEX = "review", "index"  # the kinds of work that coalesce
SWEEP_EVENT = "sweep"  # jobs the service queues itself; the webhook never takes this event


def _carry_on() -> None:
    """The default ``Context.check``: nothing stops a handler run outside a worker (the CLI, tests)."""


class Context(NamedTuple):
    gateway: Gateway
    cache: Cache
    # Raises when the work must stop before its next write (the worker lost its lease). The worker's
    # gateway calls it before every write; long handlers may call it between steps too.
    check: Callable[[], None] = _carry_on


def repo_of(payload: dict) -> str:
    return field(payload, "repository", "full_name")


def pr_key(number_path: tuple[str, ...]) -> Callable[[dict], str]:
    return lambda payload: f"{repo_of(payload)}#{field(payload, *number_path, kind=int)}"


def index_key(payload: dict) -> str:
    return f"{repo_of(payload)}@index"


def _check_run_pr(payload: dict) -> int:
    pulls = field(payload, "check_run", "pull_requests", kind=list)
    if not pulls:
        raise PayloadError("check_run.pull_requests is empty")
    return field(pulls[0], "number", kind=int)


# --- pull requests -----------------------------------------------------------------


@router.register("pull_request", *REVIEW_ACTIONS, key=pr_key(("pull_request", "number")), work=REVIEW)
@router.register(
    "pull_request", "edited", accepts=lambda p: "base" in (optional(p, "changes", kind=dict) or {}), key=pr_key(("pull_request", "number")),
    work=REVIEW,
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
    work=REVIEW,
)
def check_run_rerequested(ctx: Context, payload: dict) -> str:
    return review(ctx, _check_run_pr(payload)).kind


class Reviewed(NamedTuple):
    kind: str  # reviewed, stale, closed, or "ignored: ..."
    head_sha: str


def review(ctx: Context, number: int, head_sha: str | None = None, base_ref: str | None = None) -> Reviewed:
    """Review the pull request at ``head_sha`` (default: its head now). A delivery is a hint that the pull
    request needs a review: when the head moved on while it was being linted, that result is dropped and
    the new head reviewed instead (once; after a second move the newer delivery, or the sweep, takes over)."""
    done = _review_at(ctx, number, head_sha, base_ref)
    return _review_at(ctx, number) if done.kind == "stale" else done


def _review_at(ctx: Context, number: int, head_sha: str | None = None, base_ref: str | None = None) -> Reviewed:
    """Lint what the pull request changes at ``head_sha`` and publish the result unless the head moved on."""
    gw = ctx.gateway
    if head_sha is None or base_ref is None:
        current = gw.pull_request(number)
        head_sha, base_ref = current.head_sha, current.base_ref
    files = gw.changed_files(number)
    cfg = None
    try:
        cfg = review_config(gw, files, head_sha, base_ref, ctx.cache)
        linted = lint_changed(gw, checked_paths(files, cfg), cfg, head_sha, number)
        plan = review_mod.plan(ReviewInput(head_sha, tuple(files), tuple(linted.results), cfg))
    except ConfigMissing:
        return Reviewed("ignored: no config", head_sha)
    except ConfigError as exc:
        plan, linted = review_mod.plan_config_error(head_sha, str(exc)), None
    # A pull request read with the blobs is as fresh as one read now: only the lint, milliseconds, came between.
    fresh = linted.pull if linted is not None else None
    return Reviewed(finish_review(gw, number, head_sha, files, plan, cfg, ctx.cache, fresh=fresh), head_sha)


@router.register(SWEEP_EVENT, REVIEW, key=pr_key(("pull_request", "number")), work=REVIEW, internal=True)
def sweep_review(ctx: Context, payload: dict) -> str:
    """A review the sweep queued (no check run on the head, or the last attempt failed): of the current head."""
    return review(ctx, field(payload, "pull_request", "number", kind=int)).kind


def report_failure(ctx: Context, payload: dict, event: str, error: str, attempts: int) -> None:
    """After the last attempt, make the failure visible on the pull request instead of staying silent."""
    head = optional(payload, "check_run", "head_sha") if event == "check_run" else optional(payload, "pull_request", "head", "sha")
    if head is None or event == "issue_comment":
        return  # not about one commit of a pull request: the log line is the report (the sweep sees a head without a check)
    text = m.REVIEW_FAILED.format(sha=head[:7], attempts=attempts, error=error)
    publish_failure(ctx.gateway, review_mod.failure_check_run(head, text), ctx.cache)  # the commit's check run, updated in place


# --- the index -------------------------------------------------------------------------


def _merged_into_default(payload: dict) -> bool:
    pr = optional(payload, "pull_request", kind=dict) or {}
    return bool(pr.get("merged")) and optional(pr, "base", "ref") == optional(payload, "repository", "default_branch")


@router.register("pull_request", "closed", accepts=_merged_into_default, key=index_key, work=INDEX)
@router.register(SWEEP_EVENT, INDEX, key=index_key, work=INDEX, internal=True)
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


@router.register("push", accepts=_push_to_default_by_others, key=index_key, work=INDEX)
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


def load_config_or_none(ctx: Context, ref: str) -> Config | None:
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


def sweep_job(kind: str, installation_id: int | None, repo: str, default_branch: str, number: int | None = None,
              head_sha: str | None = None) -> tuple[str, str, str, dict]:
    """A job for the sweep to queue, as a delivery: (event, action, key, payload). The payload carries what
    the handler and a failure report read, in the shape of GitHub's events."""
    payload: dict = {"repository": {"full_name": repo, "default_branch": default_branch}}
    if installation_id is not None:
        payload["installation"] = {"id": installation_id}
    if kind == REVIEW:
        payload["pull_request"] = {"number": number, "head": {"sha": head_sha}}
    route = router.route(SWEEP_EVENT, kind)
    assert route is not None, kind
    return SWEEP_EVENT, kind, route.key(payload), payload


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
