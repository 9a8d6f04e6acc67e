"""Background workers: claim recorded deliveries, run their handler, retry or fail visibly.

The webhook answers as soon as a delivery is stored; these threads do the
GitHub work. Every delivery ends in a log line: done (with the handler's
outcome), superseded (a later delivery of the same work for its pull request
or branch is waiting), dropped (a payload the bot cannot use), retried later,
postponed (GitHub's rate limit: back at the time GitHub gave, not counted as an
attempt), stopped (the lease was lost: another worker has it), or failed.

A maintenance thread frees the leases of this host's dead processes, prunes old
deliveries, and runs the reconciliation sweep (``bot.service.sweep``) in one
process of all that share the store, every ``sweep_interval`` seconds.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping

from bot.core.config import ConfigError
from bot.core.github_data import GatewayError, RateLimited, TransientError
from bot.core.payload import PayloadError, field
from bot.github.gateway import Gateways
from bot.github.remote import Cache
from bot.service.handlers import Context, report_failure, router
from bot.service.lease import Lease, LeaseLost, guarded
from bot.service.memory import StoreMemory
from bot.service.store import SWEEP_LEASE, Delivery, Store, StoreUnavailable, weak_call

if TYPE_CHECKING:
    from bot.service.metrics import Metrics
    from bot.service.sweep import Sweeper

log = logging.getLogger("challenge_bot")
IDLE_POLL = 0.25  # seconds; a store that cannot push (SQLite) is polled this often for other processes' deliveries
PUSHED_POLL = 5.0  # with LISTEN/NOTIFY (PostgreSQL): only a safety net
MAINTAIN_EVERY = 5.0  # how often each process looks for dead processes of its host and tries the sweep leases
PRUNE_EVERY = 3600.0  # pruning runs this often, in one process of all hosts
RECONCILE_LEASE = "reconcile"  # the reconciliation sweep runs in one process of all hosts at a time
ERROR_PAUSE = 5.0  # the first pause after the store could not be reached; doubled up to MAX_ERROR_PAUSE
MAX_ERROR_PAUSE = 60.0


class Service:
    def __init__(self, store: Store, gateways: Gateways, *, workers: int = 4, max_attempts: int = 5, backoff: float = 2.0,
                 metrics: Metrics | None = None, sweeper: Sweeper | None = None, sweep_interval: float = 0.0,
                 budgets: Callable[[], Mapping[str, Any]] | None = None) -> None:
        self.store, self.gateways = store, gateways
        self.workers, self.max_attempts, self.backoff = workers, max_attempts, backoff
        self.metrics, self.sweeper, self.sweep_interval = metrics, sweeper, sweep_interval
        self.budgets = budgets  # GitHub's budget left per credential, for the log line of a rate limit
        self.cache = Cache(memory=StoreMemory(store))  # what the bot wrote and read, kept in the store across restarts
        self._wake = threading.Condition()
        self._wakes = 0  # counts notifications, so a worker never sleeps through one that came while it claimed
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._unwatch: Callable[[], None] | None = None
        self._busy = 0
        self._working: dict[str, Lease] = {}  # what this process holds leases on (the heartbeat renews them)
        self._maintain_lock = threading.Lock()
        self._next_prune = 0.0
        self._next_reconcile = 0.0
        self._outage = 0  # consecutive failures to reach the store, for backoff and one log line per outage
        self._fork_hook = False

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        try:
            released = self.store.release_dead_owners()
        except StoreUnavailable as exc:
            log.warning("the delivery store is unavailable; workers will wait for it: %s", exc, extra={"outcome": "store-unavailable"})
            released = 0
        if released:
            log.info("resuming %d deliveries left unfinished by a stopped process", released, extra={"outcome": "resumed"})
        self._stop.clear()
        self._unwatch = self.store.watch(self.notify)
        self._threads = [threading.Thread(target=self._loop, name=f"challenge-bot-worker-{i}", daemon=True) for i in range(self.workers)]
        self._threads.append(threading.Thread(target=self._heartbeat, name="challenge-bot-heartbeat", daemon=True))
        self._threads.append(threading.Thread(target=self._maintenance, name="challenge-bot-maintenance", daemon=True))
        if self.sweeper is not None and self.sweep_interval > 0:
            self._threads.append(threading.Thread(target=self._sweeps, name="challenge-bot-sweep", daemon=True))
        for thread in self._threads:
            thread.start()
        if not self._fork_hook:
            # gunicorn --preload forks after create_app: threads do not survive a fork, so restart them.
            os.register_at_fork(after_in_child=weak_call(self._restart_in_child))
            self._fork_hook = True

    def _restart_in_child(self) -> None:
        if self._threads:
            self._wake = threading.Condition()
            self._busy, self._working, self._maintain_lock = 0, {}, threading.Lock()
            self.cache = Cache(memory=StoreMemory(self.store))  # its locks may have been held by a thread the fork did not copy
            self.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.notify(everyone=True)
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def notify(self, everyone: bool = False) -> None:
        """A delivery was recorded or freed: wake one idle worker thread (one claim per delivery, not a herd)."""
        with self._wake:
            self._wakes += 1
            if everyone:
                self._wake.notify_all()
            else:
                self._wake.notify()

    def _loop(self) -> None:
        while not self._stop.is_set():
            seen = self._wakes
            try:
                if self.run_once():
                    self._reached()
                    continue
                due = self.store.next_ready_in()
                self._reached()
            except Exception as exc:  # the store is unavailable (database down, disk full): keep the thread alive
                self._stop.wait(self._unreachable(exc))
                continue
            timeout = IDLE_POLL if self._unwatch is None else PUSHED_POLL
            if due is not None:
                timeout = min(timeout, max(due, 0.05))
            with self._wake:
                if self._wakes == seen:
                    self._wake.wait(timeout)

    def _unreachable(self, exc: Exception) -> float:
        """Log the first failure of an outage, and how long to wait before the next try (growing, jittered)."""
        self._outage += 1
        if self._outage == 1:
            log.error("workers cannot reach the delivery store; backing off until it is back: %s", exc,
                      exc_info=not isinstance(exc, StoreUnavailable), extra={"outcome": "store-unavailable", "error": str(exc)})
        pause = min(ERROR_PAUSE * 2 ** min(self._outage - 1, 10), max(MAX_ERROR_PAUSE, ERROR_PAUSE))
        return pause * random.uniform(0.75, 1.0)

    def _reached(self) -> None:
        if self._outage:
            self._outage = 0
            log.info("the delivery store is reachable again; workers resume", extra={"outcome": "store-available"})

    # --- maintenance: dead processes, pruning, the sweep ------------------------------------

    def _maintenance(self) -> None:
        self._every(self.maintain, "maintenance")

    def _sweeps(self) -> None:
        self._every(self.sweep_if_due, "sweep")

    def _every(self, task: Callable[[], object], what: str) -> None:
        """Run ``task`` now and every MAINTAIN_EVERY seconds until stopped; a failure is logged, not fatal."""
        wait = 0.0
        while not self._stop.wait(wait):
            wait = MAINTAIN_EVERY
            try:
                task()
            except Exception as exc:  # the store or GitHub is unavailable: try again at the next round
                log.warning("%s failed: %s", what, exc, exc_info=not isinstance(exc, (StoreUnavailable, GatewayError)),
                            extra={"outcome": f"{what}-failed", "error": str(exc)})

    def maintain(self) -> None:
        """Free the leases of this host's dead processes; prune when due and this process holds the lease."""
        if not self._maintain_lock.acquire(blocking=False):
            return
        try:
            released = self.store.release_dead_owners()
            if released:
                log.info("resuming %d deliveries left unfinished by a stopped process", released, extra={"outcome": "resumed"})
                self.notify(everyone=True)
            if time.monotonic() >= self._next_prune and self.store.acquire_lease(SWEEP_LEASE, PRUNE_EVERY):
                self._next_prune = time.monotonic() + PRUNE_EVERY  # the lease keeps the others off until then
                pruned = self.store.prune()
                log.debug("pruned %d finished deliveries", pruned, extra={"outcome": "pruned"})
        finally:
            self._maintain_lock.release()

    def sweep_if_due(self) -> bool:
        """Sweep when this process takes the sweep's lease: one process of all that share the store, once an interval."""
        if time.monotonic() < self._next_reconcile or not self.store.acquire_lease(RECONCILE_LEASE, self.sweep_interval):
            return False
        self._next_reconcile = time.monotonic() + self.sweep_interval
        try:
            self.sweep()
        finally:
            self.store.acquire_lease(RECONCILE_LEASE, self.sweep_interval)  # the next one is an interval after this one ended
        return True

    def sweep(self) -> None:
        """Run the reconciliation sweep now, in this thread (the maintenance thread, or a test)."""
        if self.sweeper is None:
            return
        try:
            report = self.sweeper.run()
        except Exception:
            if self.metrics:
                self.metrics.sweeps.labels("failed").inc()
            raise
        if self.metrics:
            self.metrics.sweeps.labels("done").inc()
        if report.queued:
            self.notify(everyone=True)

    # --- leases --------------------------------------------------------------------------

    def _heartbeat(self) -> None:
        """Renew the leases of the deliveries this process works on, so a long handler keeps its delivery."""
        while not self._stop.wait(self.store.lease_seconds / 4):
            with self._wake:
                working = list(self._working.values())
            for lease in working:
                try:
                    if not lease.renew(self.store.heartbeat):
                        log.warning("lost the lease: another worker has the delivery; stopping before the next write",
                                    extra={"delivery": lease.delivery.id, "outcome": "lease-lost"})
                except Exception as exc:  # unavailable: the lease still runs; try again next beat (Lease.check stops writes in time)
                    log.debug("heartbeat failed: %s", exc, extra={"delivery": lease.delivery.id})

    def _settle(self, write: Callable[[], bool]) -> bool:
        """A delivery's last write (finish, retry): when the store is briefly unavailable, keep trying while the
        lease runs (the work is done; doing it again is what this avoids), then let the lease run out."""
        deadline = time.monotonic() + self.store.lease_seconds
        pause = 0.1
        while True:
            try:
                return write()
            except StoreUnavailable:
                if time.monotonic() + pause > deadline or self._stop.is_set():
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def _release(self, extra: dict, write: Callable[[], bool]) -> bool:
        """The write that gives the delivery back (finished, or to retry): its key is free once it commits."""
        log.debug("finishing", extra=extra)  # before the write: a log of who held a key when stays in order
        return self._settle(write)

    # --- processing -----------------------------------------------------------------------

    def run_once(self) -> bool:
        """Claim and process one delivery; False when none is ready."""
        delivery = self.store.claim()
        if delivery is None:
            return False
        lease = Lease(delivery, self.store.lease_seconds)
        with self._wake:
            self._busy += 1
            self._working[delivery.id] = lease
        try:
            self.process(delivery, lease)
        finally:
            with self._wake:
                self._busy -= 1
                self._working.pop(delivery.id, None)
        return True

    def drain(self) -> int:
        """Process ready deliveries in this thread until none is left (for tests and one-shot use)."""
        done = 0
        while self.run_once():
            done += 1
        return done

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is pending, being worked on, or due for a retry soon."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = self.store.counts()
            if not counts.get("pending") and not counts.get("working") and not self._busy:
                return True
            with self._wake:
                self._wake.wait(0.05)
        return False

    def _count(self, delivery: Delivery, outcome: str) -> None:
        if self.metrics:
            self.metrics.deliveries.labels(delivery.event, outcome).inc()

    def superseded(self, delivery: Delivery) -> bool:
        """Whether a later delivery of the same work for the same key is waiting: it covers this one."""
        work = router.work(delivery.event, delivery.action)
        if work is None:
            return False
        later = [w for w in self.store.pending(delivery.key) if router.work(w.event, w.action) == work]
        if not later:
            return False
        row = self.store.get(delivery.id)
        mine = (row["received_at"], delivery.id) if row else (0.0, delivery.id)
        return any((w.received_at, w.id) > mine for w in later)

    def process(self, delivery: Delivery, lease: Lease | None = None) -> None:
        payload = delivery.payload
        lease = lease or Lease(delivery, self.store.lease_seconds)
        extra = {
            "delivery": delivery.id,
            "event": delivery.event,
            "action": delivery.action,
            "repository": (payload.get("repository") or {}).get("full_name"),
            "pr": delivery.key.rpartition("#")[2] if "#" in delivery.key else None,
            "attempt": delivery.attempts,
            "key": delivery.key,
        }
        log.debug("working", extra=extra)
        if self.superseded(delivery):
            self._release(extra, lambda: self.store.finish(delivery, "done", "superseded"))
            self._count(delivery, "superseded")
            log.info("superseded by a later delivery of the same work", extra=extra | {"outcome": "superseded"})
            return
        route = router.route(delivery.event, delivery.action)
        ctx = None
        try:
            if route is None:
                raise PayloadError("no handler for this event any more")
            gateway = self.gateways(field(payload, "installation", "id", kind=int) if "installation" in payload else None, field(payload, "repository", "full_name"))
            ctx = Context(guarded(gateway, lease.check), self.cache, lease.check)
            outcome = route.handler(ctx, payload)
        except LeaseLost as exc:
            self._count(delivery, "lease-lost")
            log.warning("stopped before writing: %s", exc, extra=extra | {"outcome": "lease-lost", "error": str(exc)})
        except PayloadError as exc:
            self._release(extra, lambda: self.store.finish(delivery, "dropped", "dropped", str(exc)))
            self._count(delivery, "dropped")
            log.warning("dropped: %s", exc, extra=extra | {"outcome": "dropped"})
        except RateLimited as exc:
            self._postpone(delivery, exc, extra)
        except (ConfigError, GatewayError) as exc:
            self._retry_or_fail(delivery, ctx, exc, extra)
        except Exception as exc:  # a bug: keep the worker alive, record and show the failure
            self._retry_or_fail(delivery, ctx, exc, extra, bug=True)
        else:
            self._count(delivery, "done")
            if self._release(extra, lambda: self.store.finish(delivery, "done", outcome)):
                log.info("done", extra=extra | {"outcome": outcome})
            else:
                log.warning("done, but the lease had run out and another attempt owns the delivery", extra=extra | {"outcome": outcome})

    def _postpone(self, delivery: Delivery, exc: RateLimited, extra: dict) -> None:
        """GitHub asked this installation to wait: back at ``retry_at``, the attempt not counted; no sleeping here."""
        delay = max(exc.retry_at - time.time(), 0.0) + random.uniform(0, 1)  # not all at the same instant
        left = {key: getattr(budget, "remaining", budget) for key, budget in self.budgets().items()} if self.budgets else {}
        self._release(extra, lambda: self.store.postpone(delivery, delay, f"{type(exc).__name__}: {exc}"))
        self._count(delivery, "rate-limited")
        log.warning("rate limited: postponed by %.0f s: %s", delay, exc,
                    extra=extra | {"outcome": "rate-limited", "error": str(exc), "retry_at": exc.retry_at, "remaining": left})

    def _retry_or_fail(self, delivery: Delivery, ctx: Context | None, exc: Exception, extra: dict, bug: bool = False) -> None:
        error = f"{type(exc).__name__}: {exc}"
        transient = isinstance(exc, TransientError) or (isinstance(exc, GatewayError) and (exc.status or 0) >= 500)
        if transient and delivery.attempts < self.max_attempts:
            delay = self.backoff * 2 ** (delivery.attempts - 1)
            self._release(extra, lambda: self.store.retry_later(delivery, delay, error))
            self._count(delivery, "retry")
            log.warning("will retry in %.0f s: %s", delay, error, extra=extra | {"outcome": "retry", "error": error})
            return
        log.error("failed: %s", error, exc_info=bug, extra=extra | {"outcome": "failed", "error": error})
        if ctx is not None:  # reported while the lease holds: nobody else writes for this key meanwhile
            try:
                report_failure(ctx, delivery.payload, delivery.event, str(exc), delivery.attempts)
            except Exception as report_exc:  # the failure is logged above; the sweep writes the check later
                log.error("could not report the failure on GitHub: %s", report_exc, extra=extra | {"outcome": "report-failed"})
        self._release(extra, lambda: self.store.fail(delivery, error))
        self._count(delivery, "failed")
