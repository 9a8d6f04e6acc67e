"""The delivery store: every verified webhook delivery, recorded durably before it is acknowledged.

One contract (``contract.py``), two backends: SQLite in a file on one host
(``sqlite.py``, the default) and PostgreSQL shared by processes on any number
of hosts (``postgres.py``, the ``postgres`` extra). ``CHALLENGE_BOT_DB`` picks
one: a file path, or a ``postgresql://`` URL. ``migrate.py`` copies waiting
deliveries from one store to another.
"""

from __future__ import annotations

import time
from typing import Callable

from bot.service.store.contract import (
    KEEP_SECONDS,
    LEASE_SECONDS,
    SWEEP_LEASE,
    Delivery,
    Store,
    StoreError,
    StoreUnavailable,
    weak_call,
)
from bot.service.store.sqlite import SQLiteStore

DeliveryStore = SQLiteStore  # the name the store had before it had two backends
URL_SCHEMES = ("postgresql://", "postgres://")

__all__ = [
    "KEEP_SECONDS", "LEASE_SECONDS", "SWEEP_LEASE", "Delivery", "DeliveryStore", "SQLiteStore", "Store",
    "StoreError", "StoreUnavailable", "open_store", "weak_call",
]


def open_store(target: str, *, lease_seconds: float = LEASE_SECONDS, clock: Callable[[], float] | None = None) -> Store:
    """The store at ``target``: a ``postgresql://`` URL, or the path of a SQLite file."""
    if target.startswith(URL_SCHEMES):
        try:
            from bot.service.store.postgres import PostgresStore  # psycopg is the optional `postgres` extra: loaded for a URL only
        except ImportError:
            raise StoreError("a PostgreSQL store needs psycopg: pip install 'challenge-bot[postgres]'") from None
        return PostgresStore(target, clock=clock, lease_seconds=lease_seconds)
    if "://" in target:
        raise StoreError(f"unknown kind of database {target.split('://', 1)[0]!r}: use a file path (SQLite) or a postgresql:// URL")
    return SQLiteStore(target, clock=clock or time.time, lease_seconds=lease_seconds)
