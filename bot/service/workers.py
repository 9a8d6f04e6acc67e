"""Background workers: claim recorded deliveries, run their handler, retry or fail visibly.

The webhook answers as soon as a delivery is stored; these threads do the
GitHub work. Every delivery ends in a log line: done (with the handler's
outcome), dropped (a payload the bot cannot use), retried later, or failed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import Any, Callable

from bot.core.config import ConfigError
from bot.core.github_data import GatewayError, TransientError
from bot.service.handlers import Context, report_failure, router
from bot.core.payload import PayloadError, field
from bot.github.remote import Cache
from bot.service.store import Delivery, DeliveryStore

log = logging.getLogger("challenge_bot")
IDLE_POLL = 0.25  # seconds; deliveries recorded by other processes (gunicorn workers) are picked up this often
PRUNE_EVERY = 3600.0
ERROR_PAUSE = 5.0


class Service:
    def __init__(self, store: DeliveryStore, gateways: Callable[[int, str], Any], *, workers: int = 4, max_attempts: int = 5, backoff: float = 2.0) -> None:
        self.store, self.gateways = store, gateways
        self.workers, self.max_attempts, self.backoff = workers, max_attempts, backoff
        self.cache = Cache()
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._fork_hook = False

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        released = self.store.release_dead_owners()
        if released:
            log.info("resuming %d deliveries left unfinished by a stopped process", released, extra={"outcome": "resumed"})
        self._stop.clear()
        self._threads = [threading.Thread(target=self._loop, name=f"challenge-bot-worker-{i}", daemon=True) for i in range(self.workers)]
        for thread in self._threads:
            thread.start()
        if not self._fork_hook:
            # gunicorn --preload forks after create_app: threads do not survive a fork, so restart them.
            ref = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: (service := ref()) and service._restart_in_child())
            self._fork_hook = True

    def _restart_in_child(self) -> None:
        if self._threads:
            self._wake = threading.Condition()
            self._busy = 0
            self.cache = Cache()  # its locks may have been held by a thread the fork did not copy
            self.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.notify()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def notify(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def _loop(self) -> None:
        next_prune = 0.0
        while not self._stop.is_set():
            try:
                if self.run_once():
                    continue
                if time.monotonic() > next_prune:
                    next_prune = time.monotonic() + PRUNE_EVERY
                    self.store.prune()
            except Exception:  # the store is unavailable (disk full, locked too long): keep the thread alive
                log.exception("worker could not reach the delivery store; trying again", extra={"outcome": "store-error"})
                self._stop.wait(ERROR_PAUSE)
                continue
            with self._wake:
                self._wake.wait(IDLE_POLL)

    # --- processing -----------------------------------------------------------------------

    def run_once(self) -> bool:
        """Claim and process one delivery; False when none is ready."""
        delivery = self.store.claim()
        if delivery is None:
            return False
        with self._wake:
            self._busy += 1
        try:
            self.process(delivery)
        finally:
            with self._wake:
                self._busy -= 1
                self._wake.notify_all()
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

    def process(self, delivery: Delivery) -> None:
        payload = delivery.payload
        extra = {
            "delivery": delivery.id,
            "event": delivery.event,
            "action": delivery.action,
            "repository": (payload.get("repository") or {}).get("full_name"),
            "pr": delivery.key.rpartition("#")[2] if "#" in delivery.key else None,
            "attempt": delivery.attempts,
        }
        route = router.route(delivery.event, delivery.action)
        ctx = None
        try:
            if route is None:
                raise PayloadError("no handler for this event any more")
            gateway = self.gateways(field(payload, "installation", "id", kind=int) if "installation" in payload else None, field(payload, "repository", "full_name"))
            ctx = Context(gateway, self.cache)
            outcome = route.handler(ctx, payload)
        except PayloadError as exc:
            self.store.finish(delivery, "dropped", "dropped", str(exc))
            log.warning("dropped: %s", exc, extra=extra | {"outcome": "dropped"})
        except (ConfigError, GatewayError) as exc:
            self._retry_or_fail(delivery, ctx, exc, extra)
        except Exception as exc:  # a bug: keep the worker alive, record and show the failure
            self._retry_or_fail(delivery, ctx, exc, extra, bug=True)
        else:
            if self.store.finish(delivery, "done", outcome):
                log.info("done", extra=extra | {"outcome": outcome})
            else:
                log.warning("done, but the lease had run out and another attempt owns the delivery", extra=extra | {"outcome": outcome})

    def _retry_or_fail(self, delivery: Delivery, ctx: Context | None, exc: Exception, extra: dict, bug: bool = False) -> None:
        error = f"{type(exc).__name__}: {exc}"
        transient = isinstance(exc, TransientError) or (isinstance(exc, GatewayError) and (exc.status or 0) >= 500)
        if transient and delivery.attempts < self.max_attempts:
            delay = self.backoff * 2 ** (delivery.attempts - 1)
            self.store.retry_later(delivery, delay, error)
            log.warning("will retry in %.0f s: %s", delay, error, extra=extra | {"outcome": "retry", "error": error})
            return
        self.store.finish(delivery, "failed", "failed", error)
        log.error("failed: %s", error, exc_info=bug, extra=extra | {"outcome": "failed", "error": error})
        if ctx is not None:
            try:
                report_failure(ctx, delivery.payload, delivery.event, str(exc), delivery.attempts)
            except Exception as report_exc:  # the failure is logged above; reporting it is best effort
                log.error("could not report the failure on GitHub: %s", report_exc, extra=extra | {"outcome": "report-failed"})
