"""Writing through the gateway: a review plan onto a pull request, a regenerated index onto a branch.

Every write here is safe to repeat, and survives a crash at any point: the
check run is found again by its name and ``external_id`` (and resumed where its
annotations stopped), the summary comment by its marker, the review by its
comments on the head commit, labels by name; the index commit is only made when
the generated files differ. One review makes at most ``MAX_REVIEW_WRITES``
writes, however many findings there are (``bot.core.review`` caps the plan).

What the bot wrote is also remembered (``Cache.memory``, the store for the service), so a
review of a pull request the bot has reviewed before asks GitHub nothing it already knows:
the summary comment is edited by its id (or left alone when its text is the same), and the
check run of a new head is created without listing the head's runs first. That is safe because
the intent to create a run is remembered before the request is sent: a head whose run may exist
without the memory knowing its id (a crash, a lost answer, a failure report) is listed as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Callable, NamedTuple, Sequence

from bot.core import footer
from bot.core import messages as m
from bot.core.config_model import Config
from bot.core.github_data import Annotation, BranchProtected, ChangedFile, CheckRun, CheckRunInfo, Conflict, GatewayError, NotFound, PullRequest, TransientError
from bot.core.linter import plan_index
from bot.github.gateway import ANNOTATION_BATCH, Gateway
from bot.github.remote import Cache, index_sources, load_config, read_blobs, remember_written
from bot.core.review import MAX_ANNOTATIONS, LabelPlan, ReviewPlan, inline_limit, new_inline, plan_labels

log = logging.getLogger("challenge_bot")
INDEX_ATTEMPTS = 4
MAX_NEW_LABELS = 3  # labels added by one review (each may need creating): at most 3 + 1 writes
MAX_REMOVED_LABELS = 4  # one write each; the rest go on the next push (labels are level-triggered)
# The check run's batches, the summary comment, the review, label creations, one add, removals: 20.
MAX_REVIEW_WRITES = -(-MAX_ANNOTATIONS // ANNOTATION_BATCH) + 1 + 1 + MAX_NEW_LABELS + 1 + MAX_REMOVED_LABELS


def finish_review(gateway: Gateway, number: int, head_sha: str, files: list[ChangedFile], plan: ReviewPlan, cfg: Config | None, cache: Cache,
                  fresh: PullRequest | None = None) -> str:
    """Publish a planned review unless the pull request moved on meanwhile (``fresh``: as read just now,
    else read here). Shared by the App and Actions."""
    if fresh is None:
        fresh = gateway.pull_request(number)  # right before writing: a late worker must not overwrite a newer result
    if fresh.head_sha != head_sha:
        return "stale"
    if fresh.state != "open":
        return "closed"
    paths = [f.path for f in files] + [f.previous_path for f in files if f.previous_path]
    labels = plan_labels(paths, fresh.labels, cfg) if cfg else LabelPlan((), ())
    publish_review(gateway, fresh, plan, labels, cfg, cache)
    return "reviewed"


def publish_review(gateway: Gateway, pr: PullRequest, plan: ReviewPlan, labels: LabelPlan, cfg: Config | None, cache: Cache) -> None:
    pull = _recall(cache, _pull_key(gateway, pr.number))
    publish_check_run(gateway, plan.check_run, cache, warm=pull is not None)
    upsert_comment(gateway, pr.number, m.SUMMARY_MARKER, plan.summary, create=plan.create_summary, cache=cache, known=pull)
    if plan.inline and cfg is not None:  # a plan for a broken config has no inline comments
        _publish_inline(gateway, pr, plan, cfg)
    _publish_labels(gateway, pr.number, labels, cache)


def publish_check_run(gateway: Gateway, run: CheckRun, cache: Cache | None = None, warm: bool = False) -> int:
    """The check run for ``run.head_sha``, made once whatever crashes or retries come between.

    Its ``external_id`` names its annotations (a digest), so the run this bot made for the commit
    is found again: completed and the same, nothing is written; the same but cut short (a crash
    between batches, a lost answer), the missing batches are sent; a run without annotations (a
    failure report) is updated in place. GitHub never removes an annotation, so a run holding
    other annotations is left as it is and a new one made: the newest is the one GitHub shows.

    With ``cache``, what was written is remembered per head: the same run again costs nothing, and
    when ``warm`` (the bot remembers reviewing this pull request) a head it never made a run for
    gets one without listing first (the intent is remembered before the run is created)."""
    external_id = external_id_for(run.annotations)
    key, digest = _run_key(gateway, run), _run_digest(run, external_id)
    known = _recall(cache, key) if cache is not None else None
    if known is not None and known.get("digest") == digest:
        return int(known["id"])
    if cache is not None and warm and known is None:
        _remember(cache, {key: {"id": 0}}, required=True)  # from here on a run may exist: an attempt after this one lists
        return _new_run(gateway, run, external_id, cache, key, digest)
    existing = _ours(gateway.check_runs(run.head_sha, run.name))
    if existing is not None and (existing.external_id == external_id or not existing.annotations_count) and existing.annotations_count <= len(run.annotations):
        sent = existing.annotations_count
        same = (existing.status, existing.conclusion, existing.title, existing.summary, existing.external_id) == ("completed", run.conclusion, run.title, run.summary, external_id)
        if not (same and sent == len(run.annotations)):
            _send(gateway, existing.id, run, external_id, run.annotations[sent:])
        if cache is not None:
            _remember(cache, {key: {"id": existing.id, "digest": digest}})
        return existing.id
    if cache is not None:
        _remember(cache, {key: {"id": 0}}, required=True)
    return _new_run(gateway, run, external_id, cache, key, digest)


def _new_run(gateway: Gateway, run: CheckRun, external_id: str, cache: Cache | None, key: str, digest: str) -> int:
    batches = _batches(run.annotations)
    check_run_id = gateway.create_check_run(run, external_id, batches[0], completed=len(batches) == 1)
    if len(batches) > 1:
        _send(gateway, check_run_id, run, external_id, run.annotations[ANNOTATION_BATCH:])
    if cache is not None:  # complete: the same run again needs no request (until then, the next attempt lists)
        _remember(cache, {key: {"id": check_run_id, "digest": digest}})
    return check_run_id


def publish_failure(gateway: Gateway, run: CheckRun, cache: Cache | None = None) -> int:
    """A failed review on the commit's check run: the one this bot made, updated in place (its
    annotations and ``external_id`` kept, so a later review completes it), else a new one."""
    if cache is not None:  # a run of the head is about to change or appear: the next review lists them
        _remember(cache, {_run_key(gateway, run): {"id": 0}}, required=True)
    existing = _ours(gateway.check_runs(run.head_sha, run.name))
    if existing is None:
        return gateway.create_check_run(run, external_id_for(()), (), completed=True)
    gateway.update_check_run(existing.id, run, existing.external_id, (), completed=True)
    return existing.id


# --- what the bot remembers writing (see the module's docstring) ---------------------------------------


def _pull_key(gateway: Gateway, number: int) -> str:
    return f"pull:{gateway.repo}#{number}"


def _run_key(gateway: Gateway, run: CheckRun) -> str:
    return f"run:{gateway.repo}@{run.head_sha}:{run.name}"


def _run_digest(run: CheckRun, external_id: str) -> str:
    state = ("completed", run.conclusion, run.title, run.summary, run.text, external_id, len(run.annotations))
    return hashlib.sha1(repr(state).encode()).hexdigest()


def _recall(cache: Cache, key: str) -> dict | None:
    found = cache.memory.recall([key]).get(key)
    try:
        value = json.loads(found) if found is not None else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _remember(cache: Cache, items: dict[str, dict], required: bool = False) -> None:
    """Remember ``items``. An intent is ``required``: when it cannot be written the review stops
    (``TransientError``, retried later) rather than create a run a later review would not list."""
    try:
        cache.memory.remember({key: json.dumps(value, sort_keys=True) for key, value in items.items()})
    except Exception as exc:
        if required:
            raise TransientError(f"could not remember a check run about to be written: {exc}") from exc
        log.warning("could not remember what was written: %s", exc, extra={"outcome": "remember-failed", "error": str(exc)})


def _ours(runs: list[CheckRunInfo]) -> CheckRunInfo | None:
    """The newest of the runs this bot made (another App may use the same name)."""
    return next((r for r in sorted(runs, key=lambda r: r.id, reverse=True) if r.external_id.startswith(m.CHECK_RUN_MARKER)), None)


def external_id_for(annotations: Sequence[Annotation]) -> str:
    """What a check run of the bot carries as ``external_id``: its marker and a digest of its annotations."""
    return m.CHECK_RUN_MARKER + hashlib.sha1(repr(tuple(annotations)).encode()).hexdigest()[:16]


def _batches(annotations: Sequence[Annotation]) -> list[Sequence[Annotation]]:
    return [annotations[i : i + ANNOTATION_BATCH] for i in range(0, len(annotations), ANNOTATION_BATCH)] or [()]


def _send(gateway: Gateway, check_run_id: int, run: CheckRun, external_id: str, annotations: Sequence[Annotation]) -> None:
    """The rest of a run's annotations, batch by batch; the last request completes the run."""
    batches = _batches(annotations)
    for i, batch in enumerate(batches, start=1):
        gateway.update_check_run(check_run_id, run, external_id, batch, completed=i == len(batches))


def upsert_comment(gateway: Gateway, number: int, marker: str, body: str, create: bool = True, cache: Cache | None = None,
                   known: dict | None = None) -> int | None:
    """Edit the bot's comment that starts with ``marker``, or create it (if ``create``). Never two of
    them: a create whose answer was lost is found here on the next attempt instead of repeated.
    With ``cache`` and ``known`` (what the memory holds of the pull request), the summary is edited
    by the id remembered, or left alone when its text is the same, without listing the comments."""
    digest = hashlib.sha1(body.encode()).hexdigest()
    if known is not None and known.get("comment") and known.get("marker") == marker:
        if known.get("digest") == digest:
            return int(known["comment"])
        try:
            gateway.update_comment(int(known["comment"]), body)
        except NotFound:  # deleted by someone: find or make it again
            pass
        else:
            _remember_comment(cache, gateway, number, marker, int(known["comment"]), digest)
            return int(known["comment"])
    found = None
    for comment in gateway.issue_comments(number):
        if comment.author_is_bot and comment.body.startswith(marker):
            if comment.body != body:
                gateway.update_comment(comment.id, body)
            found = comment.id
            break
    if found is None and create:
        found = gateway.create_comment(number, body)
    if found is not None:
        _remember_comment(cache, gateway, number, marker, found, digest)
    return found


def _remember_comment(cache: Cache | None, gateway: Gateway, number: int, marker: str, comment_id: int, digest: str) -> None:
    if cache is not None and marker == m.SUMMARY_MARKER:  # the one comment per pull request the memory keeps
        _remember(cache, {_pull_key(gateway, number): {"comment": comment_id, "marker": marker, "digest": digest}})


def _publish_inline(gateway: Gateway, pr: PullRequest, plan: ReviewPlan, cfg: Config) -> None:
    existing = gateway.review_comments(pr.number)
    if any(c.commit_id == pr.head_sha and m.FINGERPRINT_PREFIX in c.body for c in existing):
        return  # one review per head commit
    comments = new_inline(plan.inline, (c.body for c in existing), inline_limit(cfg))
    if not comments:
        return
    try:
        gateway.create_review(pr.number, pr.head_sha, plan.review_body, comments)
    except GatewayError as exc:
        if exc.status != 422:
            raise
        # GitHub refused a line as outside the diff; the summary still lists every finding.
        log.warning("inline review refused: %s", exc, extra={"outcome": "review-refused"})


def _publish_labels(gateway: Gateway, number: int, labels: LabelPlan, cache: Cache) -> None:
    if len(labels.add) > MAX_NEW_LABELS or len(labels.remove) > MAX_REMOVED_LABELS:
        log.info("labels: %d to add, %d to remove; the rest on the next push", len(labels.add), len(labels.remove), extra={"outcome": "labels-capped"})
        labels = LabelPlan(labels.add[:MAX_NEW_LABELS], labels.remove[:MAX_REMOVED_LABELS])
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


def publish_index(gateway: Gateway, branch: str, cache: Cache, sleep: Callable[[float], None] = time.sleep) -> IndexOutcome:
    """Regenerate the index from the branch head: no commit if unchanged, a fast-forward commit
    otherwise, or the rolling pull request when the branch is protected. Races are re-read and retried."""
    for attempt in range(INDEX_ATTEMPTS):
        head = gateway.branch_sha(branch)
        if head is None:
            raise GatewayError(f"branch {branch} not found", 404)
        cfg = load_config(gateway, head, cache)
        source = index_sources(gateway, head, cfg, cache)
        plan = plan_index(source.records, source.readme, source.index_json, source.index_csv, source.redirects, cfg)
        if plan.blocked:
            raise GatewayError("cannot regenerate the index: " + "; ".join(f"{f.path}:{f.line}: {f.code} {f.message}" for f in plan.blocked))
        changes = dict(plan.files)
        shas = [source.blobs[record.path] for record, _ in plan.footers]
        texts = dict(source.texts) | read_blobs(gateway, [sha for sha in shas if sha not in source.texts])  # the rest in batches
        for record, block in plan.footers:
            changes[record.path] = footer.replace(texts[source.blobs[record.path]].decode("utf-8"), block)
        if not changes:
            return IndexOutcome("unchanged", branch, head)
        try:
            committed = IndexOutcome("committed", branch, gateway.commit_files(branch, head, changes, m.INDEX_COMMIT_MESSAGE))
            remember_written(cache, cfg, changes)
            return committed
        except Conflict:
            log.info("branch %s moved while regenerating; re-reading (attempt %d)", branch, attempt + 1)
            sleep(0.2 * 2**attempt)
        except BranchProtected:
            return _rolling_pull_request(gateway, branch, head, changes)
    raise TransientError(f"{branch} kept moving; the index will be regenerated on the next delivery")


def _rolling_pull_request(gateway: Gateway, branch: str, head: str, changes: dict[str, str]) -> IndexOutcome:
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
