"""Move deliveries from one store to another: ``challenge-bot store migrate FROM TO``.

Made for the move from SQLite on one host to PostgreSQL on several: stop the
processes using FROM, copy, start them on TO. Waiting deliveries (pending, or
left ``working`` by a stopped process) are copied as pending, keeping their
attempts; with ``finished=True`` the finished ones come along too, so a
redelivery of one of them is still recognised. Ids already in TO are left as
they are, so running it twice copies nothing twice.
"""

from __future__ import annotations

from typing import NamedTuple

from bot.service.store.contract import FINISHED, WAITING, Store


class Moved(NamedTuple):
    waiting: int  # copied, of those waiting
    finished: int  # copied, of those finished
    skipped: int  # already in the target


def migrate(source: Store, target: Store, finished: bool = False) -> Moved:
    waiting_rows = source.export(WAITING)
    finished_rows = source.export(FINISHED) if finished else []
    copied_waiting = target.import_rows(waiting_rows)
    copied_finished = target.import_rows(finished_rows)
    skipped = len(waiting_rows) + len(finished_rows) - copied_waiting - copied_finished
    return Moved(copied_waiting, copied_finished, skipped)
