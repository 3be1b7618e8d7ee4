"""The projection runner: catches the read models up with the ledger, follows new events, rebuilds from scratch.

It reads the notification log in batches with `recorder.select_notifications(position, limit,
inclusive_of_start=False)` and applies each batch, together with its new tracking position, in ONE transaction:
a runner killed at any instant leaves the read models exactly at the last committed batch, and the next runner
resumes from there, so no event is applied twice or skipped. Notification ids are not gap-free on PostgreSQL
(a rolled-back insert burns a sequence value), so the runner only ever asks for ids above its position and never
waits for a gap to fill; commit order equals id order there because the event store locks its table on insert.
`recorder.subscribe()` is PostgreSQL-only, so `follow` polls on every backend. Only the holder of the writer lock
(projections/locking.py) may run batches. Money is in new pounds (`SYP`) throughout the read models.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import Notification, Tracking
from sqlalchemy import create_engine, insert, inspect
from sqlalchemy.engine import Engine
from tqdm import tqdm

from ledger.connections import harden
from ledger.read_ahead import read_ahead
from projections import apply, aside, rebuild_parts, tracking
from projections.locking import WriterLock
from projections.tables import READ_MODELS, create_tables, metadata
from projections.tables import governorates as t_governorates
from projections.tables import tracking as t_tracking
from projections.workingset import WorkingSet

log = logging.getLogger(__name__)
BATCH_SIZE = 500
REBUILD_BATCH_SIZE = 5000  # a rebuild reads the whole log: bigger transactions, fewer statements per event
REPORT_EVERY_S = 30.0


def writer_engine(app: Any) -> Engine:
    """An engine for the runner's writes on the ledger's own database.

    On a SQLite file every write transaction starts with `BEGIN IMMEDIATE`, so it takes the database's write lock
    before it reads and cannot fail half-way on a snapshot another writer has moved on from. On PostgreSQL the
    runner has a pool of its own whose many-row UPDATEs and DELETEs go in pages (psycopg2's `execute_batch`)
    rather than one round trip per row, which is what a batch's flush of changed rows mostly is.
    """
    engine: Engine = app.recorder.datastore.engine
    if engine.dialect.name == "postgresql":
        own = create_engine(engine.url, executemany_mode="values_plus_batch")
        harden(own)
        return own
    return sqlite_engine(app, "BEGIN IMMEDIATE")


def sqlite_engine(app: Any, begin: str) -> Engine:
    """The ledger's engine, or for a SQLite file a separate one whose transactions start with `begin`
    (`aside.sqlite_file_engine`)."""
    engine: Engine = app.recorder.datastore.engine
    if engine.dialect.name != "sqlite" or app.recorder.datastore.is_sqlite_in_memory_db:
        return engine
    return aside.sqlite_file_engine(engine, begin)


class ProjectionRunner:
    """Projects one `LedgerApplication`'s events into the `rm_` tables; use it as `with runner.locked(): ...`."""

    def __init__(self, app: Any, engine: Engine | None = None, batch_size: int = BATCH_SIZE) -> None:
        self.app = app
        self.engine = engine or writer_engine(app)
        self.batch_size = batch_size
        self.name = app.name
        self.lock = WriterLock(self.engine)
        self._position: int | None = None
        self._analyzed_at = 0

    # -- lifecycle ------------------------------------------------------------------------------------------------

    @contextmanager
    def locked(self, wait: bool = False, interval: float = 1.0, timeout: float | None = None) -> Iterator[Any]:
        """Hold the single-writer lock (or raise `RunnerBusy`), with the tables created and the position read."""
        self.lock.acquire(wait=wait, interval=interval, timeout=timeout)
        try:
            create_tables(self.engine)
            with self.engine.begin() as conn:
                tracking.ensure(conn, self.name)
            self._position = None
            self._analyzed_at = self.position()  # statistics are refreshed only after catching up as far again
            yield self
        finally:
            self.lock.release()

    def close(self) -> None:
        self.lock.release()
        if self.engine is not self.app.recorder.datastore.engine:
            self.engine.dispose()

    def position(self) -> int:
        """The id of the last notification applied to the read models (0 before the first)."""
        if self._position is None:
            with self.engine.connect() as conn:
                if not inspect(conn).has_table(t_tracking.name):
                    return 0
                self._position = tracking.position(conn, self.name)
        return self._position

    # -- work -----------------------------------------------------------------------------------------------------

    def run_batch(self, size: int | None = None) -> int:
        """Apply the next batch of notifications; returns how many were read (0 when caught up)."""
        start = self.position()
        return self._apply(start, *self._read(start, size or self.batch_size))

    def _read(self, start: int, size: int) -> tuple[list[Notification], list[Any]]:
        """The `size` notifications after `start`, and the domain events of those the read models project."""
        notifications = self.app.recorder.select_notifications(start, size, inclusive_of_start=False)
        return notifications, [self.app.mapper.to_domain_event(n) for n in notifications if apply.is_projected(n.topic)]

    def _batches(self, start: int, size: int) -> Iterator[tuple[list[Notification], list[Any]]]:
        """Batches read after `start`, each from where the last ended, up to the first that is not full."""
        while True:
            notifications, events = self._read(start, size)
            yield notifications, events
            if len(notifications) < size:
                return
            start = notifications[-1].id

    def _apply(self, start: int, notifications: list[Notification], events: list[Any]) -> int:
        if not self.lock.held:
            raise RuntimeError("a projection runner writes only while it holds the writer lock (use .locked())")
        if not notifications:
            return 0
        end = notifications[-1].id
        with self.engine.begin() as conn:
            apply.apply_all(WorkingSet(conn), events)
            tracking.advance(conn, start, Tracking(self.name, end))
        self._position = end
        log.debug("applied notifications %d..%d (%d events projected)", start + 1, end, len(events))
        self._refresh_statistics(end)
        return len(notifications)

    def _refresh_statistics(self, position: int) -> None:
        """ANALYZE the read models each time the position doubles while catching up from far behind (a rebuild, a
        new database); a runner that took the lock at position P first does it at 2P.

        Right after a rebuild recreates them, PostgreSQL knows nothing of the tables' size and plans the batch's
        key lookups as scans of the whole table, so each batch would cost more than the last; autovacuum's own
        ANALYZE comes only later. Doubling keeps it to a few dozen cheap, sampled ANALYZEs for a whole ledger.
        """
        if self.engine.dialect.name != "postgresql" or position < 2 * self._analyzed_at:
            return
        aside.analyze(self.engine)
        self._analyzed_at = max(position, 1)

    def catch_up(
        self, progress: bool = False, should_stop: Callable[[], bool] = lambda: False, batch_size: int | None = None
    ) -> int:
        """Run batches until the log is exhausted; returns the number of notifications read.

        While one batch is applied, a second thread reads and decodes the next one: the writes wait on the
        database, the reading and decoding on Python, so the two overlap. Batches are still applied strictly in
        order, each in its own transaction, and `tracking.advance` refuses one that does not start where the last
        one ended.
        """
        done = 0
        reported = time.monotonic()
        size = batch_size or self.batch_size
        with self._progress_bar(progress) as bar:
            start = self.position()
            for notifications, events in read_ahead(self._batches(start, size), "projection-reader"):
                if should_stop():
                    break
                read = self._apply(start, notifications, events)
                done += read
                bar.update(self.position() - start)
                start = self.position()
                if time.monotonic() - reported > REPORT_EVERY_S:
                    log.info("projected up to notification %d (%d read so far)", self.position(), done)
                    reported = time.monotonic()
        if done:
            log.info("caught up at notification %d (%d read)", self.position(), done)
        return done

    def follow(self, interval: float = 1.0, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Catch up, then poll every `interval` seconds for new notifications until `should_stop()`."""
        while not should_stop():
            if self.catch_up(should_stop=should_stop) < self.batch_size:
                _sleep(interval, should_stop)

    def rebuild(self, progress: bool = True, workers: int = 1) -> int:
        """Replay the whole ledger into fresh read models; returns the number of events read.

        They are built beside the live ones, which keep answering, by whole aggregates up to the current end of the
        log (projections/rebuild.py; on PostgreSQL over `workers` processes when the ledger is large), swapped in
        with one transaction (projections/aside.py), and then caught up in log order. An in-memory SQLite
        database has nothing to build beside: there the tables are emptied and refilled in log order.
        """
        if not self.lock.held:
            raise RuntimeError("a rebuild needs the writer lock (use .locked())")
        size = max(self.batch_size, REBUILD_BATCH_SIZE)
        if getattr(self.app.recorder.datastore, "is_sqlite_in_memory_db", False):
            return self._refill(size, progress)
        built = aside.prepare(self.engine)
        upto = self.app.recorder.max_notification_id() or 0
        log.info("building the read models in %s up to %d; the live ones keep answering", aside.SCHEMA, upto)
        with tqdm(total=upto, disable=not progress, desc="rebuilding", unit="event") as bar:
            read, governorates = rebuild_parts.project(self.app, built, upto, workers, bar.update)
        with built.begin() as conn:
            if governorates:
                conn.execute(insert(t_governorates), governorates)
            tracking.ensure(conn, self.name)
            tracking.advance(conn, 0, Tracking(self.name, upto))
        aside.analyze(built)
        aside.swap_in(self.engine, built)
        self._position = None
        log.info("rebuilt read models swapped in at notification %d (%d events)", upto, read)
        return read + self.catch_up(batch_size=size)

    def _refill(self, size: int, progress: bool) -> int:
        with self.engine.begin() as conn:
            metadata.drop_all(conn, tables=list(READ_MODELS))
            metadata.create_all(conn, tables=list(READ_MODELS))
            tracking.reset(conn, self.name)
        self._position = self._analyzed_at = 0
        log.info("read models emptied; replaying the ledger from position 0")
        return self.catch_up(progress=progress, batch_size=size)

    @contextmanager
    def _progress_bar(self, progress: bool) -> Iterator[Any]:
        total = (self.app.recorder.max_notification_id() or 0) - self.position() if progress else 0
        with tqdm(total=max(total, 0), disable=not progress, desc="projecting", unit="event") as bar:
            yield bar


def _sleep(seconds: float, should_stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not should_stop() and time.monotonic() < deadline:
        time.sleep(min(0.1, seconds))
