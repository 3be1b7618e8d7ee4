"""Read-your-writes for the API: bring the read models up to the end of the log before answering a query.

A staff member who registers a subscriber and then lists balances must see that subscriber, whether or not a
`ledger project` follower is running. Before a read, `ReadSide.ensure_fresh()` compares the projection's position
with the last notification id. If it lags, this process tries the single-writer lock and catches up itself; if
another runner holds the lock, it waits for that runner to pass the target (bounded by `timeout`), then answers
with what is there. Either way the read models are written only under the writer lock, so nothing is applied twice.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy.engine import Engine

from projections.locking import RunnerBusy
from projections.runner import ProjectionRunner
from projections.tables import create_tables

log = logging.getLogger(__name__)
WAIT_STEP_S = 0.05


class ReadSide:
    """The read models of one LedgerApplication, kept fresh on demand; share one per process."""

    def __init__(self, app: Any, timeout: float = 10.0) -> None:
        self.app = app
        self.timeout = timeout
        self.runner = ProjectionRunner(app)
        self._mutex = threading.Lock()
        create_tables(self.runner.engine)

    @property
    def engine(self) -> Engine:
        return self.runner.engine

    def ensure_fresh(self) -> int:
        """Catch up to the notification that was last when called; returns the projection's position."""
        target = self.app.recorder.max_notification_id() or 0
        deadline = time.monotonic() + self.timeout
        while True:
            position = self._fresh_position()
            if position >= target:
                return position
            if self._catch_up_here():
                continue
            if time.monotonic() >= deadline:
                log.warning("read models lag: at %d, wanted %d; answering with what is there", position, target)
                return position
            time.sleep(WAIT_STEP_S)

    def _fresh_position(self) -> int:
        self.runner._position = None  # another process may have moved it
        return self.runner.position()

    def _catch_up_here(self) -> bool:
        """Catch up under the writer lock if it is free; False when another runner holds it."""
        with self._mutex:
            try:
                with self.runner.locked(wait=False):
                    self.runner.catch_up()
                return True
            except RunnerBusy:
                return False

    def close(self) -> None:
        self.runner.close()
