"""``GET /metrics``: Prometheus text through ``prometheus-client``.

Counters (webhook answers, deliveries worked on, GitHub answers by status, sweeps and what they repaired)
and the rate-limit gauge live in this process. Under gunicorn, or with ``challenge-bot worker``
processes next to it, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder shared by the processes of the
host (prometheus-client's multi-process mode, chosen when it is first imported): every process then
writes its counts there and any of them answers the scrape with the sum. The queue gauges (deliveries
waiting and being worked on, how long the oldest has been ready, since when nothing finished) are read
from the delivery store at each scrape, so they are the same whichever process answers, on every host.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from bot.github.ratelimit import Budget, RateGate, RateGates
from bot.service.store import Store, StoreUnavailable

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """The App's metrics; one per app (tests build many apps in one process)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.registry = CollectorRegistry()
        r = self.registry
        self.webhook = Counter("challenge_bot_webhook_deliveries", "Webhook deliveries answered, by event and answer "
                               "(queued, duplicate, ignored, dropped, refused, unavailable)", ["event", "outcome"], registry=r)
        self.deliveries = Counter("challenge_bot_deliveries", "Deliveries worked on, by event and outcome (done, superseded, "
                                  "dropped, retry, rate-limited, failed, lease-lost)", ["event", "outcome"], registry=r)
        self.github = Counter("challenge_bot_github_requests", "Answers from the GitHub API, by HTTP status", ["status"], registry=r)
        self.rate_remaining = Gauge("challenge_bot_github_rate_limit_remaining", "Requests left of the hour's budget, by "
                                    "credential, as GitHub last said", ["credential"], multiprocess_mode="mostrecent", registry=r)
        self.sweeps = Counter("challenge_bot_sweeps", "Reconciliation sweeps, by outcome (done, failed)", ["outcome"], registry=r)
        self.repairs = Counter("challenge_bot_sweep_repairs", "Work the sweep queued or asked GitHub for, by kind "
                               "(review, index, redelivery)", ["kind"], registry=r)
        r.register(StoreCollector(store))

    def budget(self, credential: str, budget: Budget) -> None:
        if budget.remaining is not None:
            self.rate_remaining.labels(credential).set(budget.remaining)

    def answered(self, status: int) -> None:
        self.github.labels(str(status)).inc()

    def exposition(self) -> bytes:
        if not os.environ.get(MULTIPROCESS_ENV):
            return generate_latest(self.registry)
        registry = CollectorRegistry()  # every process's counts from the shared folder, plus the store's gauges
        MultiProcessCollector(registry)
        registry.register(StoreCollector(self.store))
        return generate_latest(registry)


class StoreCollector:
    """Queue gauges read from the delivery store when scraped."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def describe(self) -> list[Metric]:
        return []  # collected only at scrape time: no store query when registered

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("challenge_bot_store_up", "1 when the delivery store answered this scrape, else 0")
        try:
            counts, backlog = self.store.counts(), self.store.backlog()
        except StoreUnavailable:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        depth = GaugeMetricFamily("challenge_bot_queue_deliveries", "Deliveries waiting (pending) and being worked on (working)", labels=["status"])
        for status in ("pending", "working"):
            depth.add_metric([status], counts.get(status, 0))
        yield depth
        yield _gauge("challenge_bot_queue_oldest_ready_seconds", "How long the oldest delivery a worker could take has waited (0: none)", backlog.oldest_ready)
        yield _gauge("challenge_bot_queue_seconds_since_progress", "Seconds since a delivery was last finished (absent: none yet)", backlog.since_progress, absent=True)


def _gauge(name: str, text: str, value: float | None, absent: bool = False) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, text)
    if value is not None or not absent:
        gauge.add_metric([], value or 0.0)
    return gauge


class _CountingGate(RateGate):
    """A rate gate that also counts every answer GitHub gives by its status."""

    def __init__(self, key: str, metrics: Metrics, **options: Any) -> None:
        super().__init__(key, **options)
        self._metrics = metrics

    def after(self, status: int, headers: Any, body: bytes = b"") -> bool:
        self._metrics.answered(status)
        return super().after(status, headers, body)


class MeteredGates(RateGates):
    """``RateGates`` whose gates count GitHub's answers and report each credential's budget to ``metrics``."""

    def __init__(self, metrics: Metrics, *, max_wait: float) -> None:
        super().__init__(max_wait=max_wait)
        self._metrics = metrics
        self._made: dict[str, RateGate] = {}
        self._made_lock = threading.Lock()
        self.subscribe(metrics.budget)

    def gate(self, key: str) -> RateGate:
        with self._made_lock:
            found = self._made.get(key)
            if found is None:
                found = self._made[key] = _CountingGate(key, self._metrics, max_wait=self.max_wait, on_budget=self._notify)
            return found

    def budgets(self) -> dict[str, Budget]:
        with self._made_lock:
            gates = dict(self._made)
        return {key: gate.budget() for key, gate in sorted(gates.items())}
