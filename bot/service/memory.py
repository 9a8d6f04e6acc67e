"""The delivery store as the bot's memory (``bot.github.remote.Memory``): what outlives a process.

Index records by blob and what the bot wrote on each pull request are kept in the store's
``memo`` table, so a restarted service, or another process or host sharing the store, does
not read from GitHub what one of them already knows.
"""

from __future__ import annotations

import logging
from typing import Mapping, Sequence

from bot.core.github_data import TransientError
from bot.service.store import Store, StoreUnavailable

log = logging.getLogger("challenge_bot")


class StoreMemory:
    def __init__(self, store: Store) -> None:
        self.store = store

    def recall(self, keys: Sequence[str]) -> dict[str, str]:
        """What the store has of ``keys``; nothing when it cannot be reached (the caller then asks GitHub)."""
        try:
            return self.store.recall(keys)
        except StoreUnavailable as exc:
            log.warning("the delivery store is unavailable; reading from GitHub instead: %s", exc, extra={"outcome": "recall-failed", "error": str(exc)})
            return {}

    def remember(self, items: Mapping[str, str]) -> None:
        try:
            self.store.remember(dict(items))
        except StoreUnavailable as exc:
            raise TransientError(f"the delivery store is unavailable: {exc}") from exc
