"""Only one projection runner writes the read models of a database at a time.

The rule: a runner must hold the writer lock for as long as it writes, and it releases it by exiting, however it
exits (a SIGKILLed runner never leaves a stale lock behind):
- PostgreSQL: the session-level advisory lock `pg_try_advisory_lock(WRITER_LOCK_KEY)`, taken on a dedicated
  autocommit connection kept open for the runner's life; the server drops it when that connection ends.
- SQLite file: an exclusive `flock` on the sidecar file `<database file>.projections.lock`; the kernel drops it when
  the process ends. (A lock row in the database would outlive a killed runner; `BEGIN IMMEDIATE` held for the
  runner's life would block the ledger's own writers.)
- SQLite in memory: a lock inside the process, which is the only one that can see that database.
A second runner either exits at once with `RunnerBusy` (the default) or waits, polling, until the lock is free.
The compare-and-set on the tracking position (projections/tracking.py) is the second line of defence.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)
WRITER_LOCK_KEY = int.from_bytes(hashlib.sha256(b"ledger projections writer").digest()[:8], "big", signed=True)
_MEMORY_LOCKS: dict[str, threading.Lock] = {}


class RunnerBusy(RuntimeError):
    """Another projection runner holds the writer lock."""


class WriterLock:
    """The single-writer lock of the read models in the database behind `engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.held = False
        self._conn: Connection | None = None
        self._file: Any = None
        self._memory: threading.Lock | None = None

    @property
    def where(self) -> str:
        if self.engine.dialect.name == "postgresql":
            return f"PostgreSQL advisory lock {WRITER_LOCK_KEY} on database {self.engine.url.database}"
        if self._is_memory():
            return "the in-memory SQLite database of this process"
        return f"file lock {self._lock_path()}"

    def _is_memory(self) -> bool:
        database = self.engine.url.database or ""
        return database in ("", ":memory:") or "mode=memory" in str(self.engine.url)

    def _lock_path(self) -> str:
        return os.path.abspath(self.engine.url.database or "") + ".projections.lock"

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if self.engine.dialect.name == "postgresql":
            self.held = self._try_postgres()
        elif self._is_memory():
            self._memory = _MEMORY_LOCKS.setdefault(str(id(self.engine)), threading.Lock())
            self.held = self._memory.acquire(blocking=False)
        else:
            self.held = self._try_file()
        return self.held

    def _try_postgres(self) -> bool:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": WRITER_LOCK_KEY}).scalar():
            self._conn = conn
            return True
        conn.close()
        return False

    def _try_file(self) -> bool:
        handle = open(self._lock_path(), "a+")  # noqa: SIM115 - kept open for as long as the lock is held
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def holder(self) -> str:
        """Who holds the lock, as far as can be told (the pid recorded in the SQLite lock file)."""
        if self.engine.dialect.name == "postgresql" or self._is_memory():
            return "another runner"
        try:
            with open(self._lock_path()) as handle:
                pid = handle.read().strip()
        except OSError:
            pid = ""
        return f"process {pid}" if pid else "another runner"

    def acquire(self, wait: bool = False, interval: float = 1.0, timeout: float | None = None) -> None:
        """Take the lock, or raise `RunnerBusy` (at once, or after `timeout` seconds of waiting)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        logged = False
        while not self.try_acquire():
            message = f"another projection runner ({self.holder()}) is writing the read models: {self.where} is held"
            if not wait or (deadline is not None and time.monotonic() >= deadline):
                raise RunnerBusy(message)
            if not logged:
                log.info("%s; waiting for it", message)
                logged = True
            time.sleep(interval)
        log.debug("holding %s", self.where)

    def release(self) -> None:
        if not self.held:
            return
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": WRITER_LOCK_KEY})
            finally:
                self._conn.close()
                self._conn = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._memory is not None:
            self._memory.release()
            self._memory = None
        self.held = False
