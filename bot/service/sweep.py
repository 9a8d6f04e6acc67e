"""The reconciliation sweep: what no webhook brought, the sweep finds and queues.

GitHub never redelivers a webhook by itself, and a delivery can be lost in many
ways (the App down, a 502 on the way, a crash before the answer). Every
``CHALLENGE_BOT_SWEEP_INTERVAL`` seconds one process of all that share the store
(see ``workers.Service.sweep_if_due``) runs :meth:`Sweeper.run`:

1. It lists the App's webhook deliveries since the last sweep and asks GitHub
   to send again each one that failed and has not since succeeded (no attempt
   answered 2xx and the store never recorded it).
2. For every installation and repository that has the config, it queues a
   review for every open pull request whose head has no completed
   ``challenge-bot`` check run of this App, or only the one saying the review
   could not be finished, or whose last delivery failed; and an index job when
   the default branch moved since the last sweep (or the last index job failed).

Jobs are recorded in the store as deliveries (event ``sweep``) under the same
keys as the webhook's, so a sweep and a webhook never work on one pull request
at once, and the later of two waiting ones supersedes the other. A repository
where nothing changed costs two requests (the default branch's head; the open
pull requests, a conditional request that GitHub answers 304) plus one per open
pull request whose head this process has not yet seen with a finished check run.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Callable

from bot.core import messages as m
from bot.core.config import ConfigError, ConfigMissing
from bot.core.github_data import GatewayError, HookDelivery, RateLimited
from bot.github.gateway import AppApi, Gateway, Gateways
from bot.github.remote import LRU, Cache, load_config
from bot.service.handlers import INDEX, REVIEW, router, sweep_job
from bot.service.store import Store

log = logging.getLogger("challenge_bot")
WAITING = ("pending", "working")


@dataclass
class SweepReport:
    """What one sweep did."""

    redelivered: int = 0
    reviews: int = 0
    indexes: int = 0
    repositories: int = 0
    skipped: list[str] = field(default_factory=list)  # repositories or installations left for the next sweep, with why

    @property
    def queued(self) -> int:
        return self.reviews + self.indexes


@dataclass
class _Seen:
    """What the sweeping process remembers of a repository between sweeps."""

    default_branch: str | None = None
    head: str | None = None
    configured: bool = False


class Sweeper:
    """Compares what GitHub shows with what the bot has done, and queues what is missing."""

    def __init__(self, store: Store, gateways: Gateways, app: AppApi, cache: Cache | None = None,
                 count: Callable[[str, int], None] | None = None) -> None:
        self.store, self.gateways, self.app = store, gateways, app
        self.cache = cache or Cache()
        self.count = count or (lambda kind, n: None)  # metrics: what was repaired, by kind
        self.cursor: int | None = None  # the newest webhook delivery id looked at
        self.repos: dict[str, _Seen] = {}
        self.checked = LRU(50_000)  # (repo, number, head) -> True once a finished check run of ours was seen

    def run(self) -> SweepReport:
        report = SweepReport()
        try:
            self.redeliver(report)
        except GatewayError as exc:  # the deliveries wait for the next sweep; the repositories are looked at now
            report.skipped.append(f"webhook deliveries: {exc}")
            log.warning("sweep: could not look at the webhook deliveries: %s", exc, extra={"outcome": "sweep-skipped", "error": str(exc)})
        for installation in self.app.installations():
            try:
                for repo in self.app.installation_repositories(installation):
                    self._repository(installation, repo, report)
            except RateLimited as exc:  # this installation waits; the others go on
                report.skipped.append(f"installation {installation}: {exc}")
                log.warning("sweep: installation %s is rate limited; its repositories wait for the next sweep: %s", installation, exc,
                            extra={"outcome": "rate-limited", "retry_at": exc.retry_at})
        self.count("review", report.reviews)
        self.count("index", report.indexes)
        self.count("redelivery", report.redelivered)
        log.info("sweep: %d repositories, %d reviews and %d index jobs queued, %d deliveries redelivered",
                 report.repositories, report.reviews, report.indexes, report.redelivered,
                 extra={"outcome": "swept", "queued": report.queued, "redelivered": report.redelivered})
        return report

    # --- 1. deliveries that never arrived -----------------------------------------------------

    def redeliver(self, report: SweepReport) -> None:
        attempts = self.app.hook_deliveries(self.cursor)
        by_guid: dict[str, list[HookDelivery]] = {}
        for attempt in attempts:
            by_guid.setdefault(attempt.guid, []).append(attempt)
        for guid, tries in by_guid.items():
            if any(200 <= t.status_code < 300 for t in tries) or router.route(tries[0].event, tries[0].action) is None:
                continue  # it arrived (or is an event the bot does not handle)
            if self.store.get(guid) is not None:
                continue  # recorded: the App got it, whatever GitHub shows
            latest = max(tries, key=lambda t: t.id)
            self.app.redeliver(latest.id)
            report.redelivered += 1
            log.info("sweep: asked GitHub to redeliver %s (%s)", guid, tries[0].event,
                     extra={"delivery": guid, "event": tries[0].event, "action": tries[0].action, "outcome": "redelivered"})
        if attempts:
            self.cursor = max(a.id for a in attempts)

    # --- 2. pull requests and indexes without the bot's result -----------------------------------

    def _repository(self, installation: int, repo: str, report: SweepReport) -> None:
        try:
            self._converge(installation, repo, self.gateways(installation, repo), report)
        except RateLimited:
            raise
        except GatewayError as exc:  # this repository waits for the next sweep; the others go on
            report.skipped.append(f"{repo}: {exc}")
            log.warning("sweep: %s skipped: %s", repo, exc, extra={"repository": repo, "outcome": "sweep-skipped", "error": str(exc)})

    def _converge(self, installation: int, repo: str, gw: Gateway, report: SweepReport) -> None:
        seen = self.repos.setdefault(repo, _Seen())
        if seen.default_branch is None:
            seen.default_branch = gw.default_branch()
        head = gw.branch_sha(seen.default_branch)
        if head is None:  # the default branch was renamed: look again next time
            self.repos.pop(repo, None)
            return
        report.repositories += 1
        index_key = f"{repo}@index"
        moved = head != seen.head
        if moved:
            seen.configured = self._configured(gw, head)
        states = {}
        pulls = gw.open_pulls() if seen.configured else []
        if seen.configured:
            states = self.store.key_states([index_key] + [f"{repo}#{p.number}" for p in pulls])
            if (moved or states.get(index_key) == "failed") and states.get(index_key) not in WAITING:
                self._queue(INDEX, installation, repo, seen.default_branch, report)
        seen.head = head
        for pr in pulls:
            state = states.get(f"{repo}#{pr.number}")
            if state in WAITING:
                continue  # on its way
            if state != "failed" and self._has_result(gw, repo, pr.number, pr.head_sha):
                continue
            self._queue(REVIEW, installation, repo, seen.default_branch, report, pr.number, pr.head_sha)

    def _configured(self, gw: Gateway, ref: str) -> bool:
        """Whether the repository has adopted the bot at ``ref`` (a broken config counts: reviews report it)."""
        try:
            load_config(gw, ref, self.cache)
        except ConfigMissing:
            return False
        except ConfigError:
            return True
        return True

    def _has_result(self, gw: Gateway, repo: str, number: int, head: str) -> bool:
        """Whether the head has a finished check run of this bot that is not the report of a failed review."""
        if self.checked.get((repo, number, head)):
            return True
        ours = [r for r in gw.check_runs(head, m.CHECK_NAME) if r.external_id.startswith(m.CHECK_RUN_MARKER)]
        newest = max(ours, key=lambda r: r.id, default=None)
        done = newest is not None and newest.status == "completed" and newest.title != m.REVIEW_FAILED_TITLE
        if done:
            self.checked.put((repo, number, head), True)
        return done

    def _queue(self, kind: str, installation: int, repo: str, branch: str, report: SweepReport,
               number: int | None = None, head: str | None = None) -> None:
        event, action, key, payload = sweep_job(kind, installation, repo, branch, number, head)
        if self.store.key_states([key]).get(key) in WAITING:
            # A delivery came in since the states were read, seconds of GitHub requests ago: a job recorded
            # now would supersede it (it would end "done" without doing its own work) and repeat that work.
            return
        self.store.record(f"sweep-{uuid.uuid4()}", event, action, key, json.dumps(payload))
        if kind == REVIEW:
            report.reviews += 1
        else:
            report.indexes += 1
        log.info("sweep: queued %s for %s", "a review" if kind == REVIEW else "the index", key,
                 extra={"repository": repo, "pr": number, "event": event, "action": action, "outcome": "queued"})
