"""Writing through the gateway: a review plan onto a pull request, a regenerated index onto a branch.

Every write here is safe to repeat: the summary comment is found again by its
marker, inline comments by their fingerprints, labels by name, and the index
commit is only made when the generated files differ.
"""

from __future__ import annotations

import logging
import time
from typing import Any, NamedTuple

from bot.core import messages as m
from bot.core.config import Config
from bot.core.github_data import BranchProtected, ChangedFile, Conflict, GatewayError, PullRequest, TransientError
from bot.core.linter import expected_index
from bot.github.remote import Cache, index_sources, load_config
from bot.core.review import LabelPlan, ReviewPlan, new_inline, plan_labels

log = logging.getLogger("challenge_bot")
INDEX_ATTEMPTS = 4


def finish_review(gateway: Any, number: int, head_sha: str, files: list[ChangedFile], plan: ReviewPlan, cfg: Config | None, cache: Cache) -> str:
    """Publish a planned review unless the pull request moved on meanwhile. Shared by the App and Actions."""
    fresh = gateway.pull_request(number)  # right before writing: a late worker must not overwrite a newer result
    if fresh.head_sha != head_sha:
        return "stale"
    if fresh.state != "open":
        return "closed"
    paths = [f.path for f in files] + [f.previous_path for f in files if f.previous_path]
    labels = plan_labels(paths, fresh.labels, cfg) if cfg else LabelPlan((), ())
    publish_review(gateway, fresh, plan, labels, cfg, cache)
    return "reviewed"


def publish_review(gateway: Any, pr: PullRequest, plan: ReviewPlan, labels: LabelPlan, cfg: Config, cache: Cache) -> None:
    gateway.publish_check_run(plan.check_run)
    upsert_comment(gateway, pr.number, m.SUMMARY_MARKER, plan.summary, create=plan.create_summary)
    if plan.inline:
        _publish_inline(gateway, pr, plan, cfg)
    _publish_labels(gateway, pr.number, labels, cache)


def upsert_comment(gateway: Any, number: int, marker: str, body: str, create: bool = True) -> int | None:
    """Edit the bot's comment that starts with ``marker``, or create it (if ``create``). Never two of
    them: a create whose answer was lost is found here on the next attempt instead of repeated."""
    for comment in gateway.issue_comments(number):
        if comment.author_is_bot and comment.body.startswith(marker):
            if comment.body != body:
                gateway.update_comment(comment.id, body)
            return comment.id
    return gateway.create_comment(number, body) if create else None


def _publish_inline(gateway: Any, pr: PullRequest, plan: ReviewPlan, cfg: Config) -> None:
    existing = gateway.review_comments(pr.number)
    if any(c.commit_id == pr.head_sha and m.FINGERPRINT_PREFIX in c.body for c in existing):
        return  # one review per head commit
    comments = new_inline(plan.inline, (c.body for c in existing), cfg.review_max_inline_comments)
    if not comments:
        return
    try:
        gateway.create_review(pr.number, pr.head_sha, plan.review_body, comments)
    except GatewayError as exc:
        if exc.status != 422:
            raise
        # GitHub refused a line as outside the diff; the summary still lists every finding.
        log.warning("inline review refused: %s", exc, extra={"outcome": "review-refused"})


def _publish_labels(gateway: Any, number: int, labels: LabelPlan, cache: Cache) -> None:
    unknown = [spec for spec in labels.add if not cache.labels.get((gateway.repo, spec.name))]
    if unknown:
        gateway.ensure_labels(unknown)
        for spec in unknown:
            cache.labels.put((gateway.repo, spec.name), True)
    if labels.add:
        gateway.add_labels(number, [spec.name for spec in labels.add])
    for name in labels.remove:
        gateway.remove_label(number, name)


class IndexOutcome(NamedTuple):
    kind: str  # unchanged, committed, pull-request
    branch: str
    sha: str | None = None
    number: int | None = None


def publish_index(gateway: Any, branch: str, cache: Cache, sleep: Any = time.sleep) -> IndexOutcome:
    """Regenerate the index from the branch head: no commit if unchanged, a fast-forward commit
    otherwise, or the rolling pull request when the branch is protected. Races are re-read and retried."""
    for attempt in range(INDEX_ATTEMPTS):
        head = gateway.branch_sha(branch)
        if head is None:
            raise GatewayError(f"branch {branch} not found", 404)
        cfg = load_config(gateway, head, cache)
        source = index_sources(gateway, head, cfg, cache)
        state = expected_index(source.records, source.readme, cfg)
        if state.readme is None:
            raise GatewayError(f"cannot regenerate the index: {state.problem}")
        changes = {path: text for path, text, now in ((cfg.readme, state.readme, source.readme), (cfg.index_json, state.json, source.index_json)) if text != now}
        if not changes:
            return IndexOutcome("unchanged", branch, head)
        try:
            return IndexOutcome("committed", branch, gateway.commit_files(branch, head, changes, m.INDEX_COMMIT_MESSAGE))
        except Conflict:
            log.info("branch %s moved while regenerating; re-reading (attempt %d)", branch, attempt + 1)
            sleep(0.2 * 2**attempt)
        except BranchProtected:
            return _rolling_pull_request(gateway, branch, head, changes)
    raise TransientError(f"{branch} kept moving; the index will be regenerated on the next delivery")


def _rolling_pull_request(gateway: Any, branch: str, head: str, changes: dict[str, str]) -> IndexOutcome:
    sha = gateway.commit_on_new_base(m.INDEX_BRANCH, head, changes, m.INDEX_COMMIT_MESSAGE)
    body = m.INDEX_PR_BODY.format(branch=branch, sha=head[:7])
    number = gateway.find_open_pull(m.INDEX_BRANCH, branch)
    if number is None:
        try:
            number = gateway.create_pull(m.INDEX_BRANCH, branch, m.INDEX_PR_TITLE, body)
        except GatewayError as exc:
            number = gateway.find_open_pull(m.INDEX_BRANCH, branch)  # created meanwhile by a retried request
            if number is None:
                raise exc
    else:
        gateway.update_pull(number, m.INDEX_PR_TITLE, body)
    return IndexOutcome("pull-request", branch, sha, number)
