"""Work split over child processes: `python -m MODULE ARGS...`, each reporting progress and one result on stdout.

Used by `ledger verify` (the invariant pass), the projections' rebuild and check, and `ledger demo --workers`. A
child is a plain subprocess, never a fork of a process holding connections, so the caller's main module is never
imported again. It gets the database URL in its environment, never on a command line other users can read, and
optionally an order as JSON on stdin. It prints `read N` after each step of its work (for the parent's progress
bar) and, last, one line of JSON: its result. A child that exits non-zero, or without a result, fails the whole job
with the end of its stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any
from uuid import UUID

PARALLEL_FROM_EVENTS = 40_000  # below this, starting Python processes costs more than they save (measured)


class Part:
    """One child process; `result()` waits for it and returns its JSON result."""

    def __init__(
        self,
        url: str,
        module: str,
        args: list[str],
        done: Callable[[int], Any] = lambda _n: None,
        order: Any = None,
    ) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env={**os.environ, "LEDGER_DATABASE_URL": url},
            stdin=subprocess.DEVNULL if order is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if order is not None:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(order))
            self.process.stdin.close()
        self.last = ""
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self._follow, args=(self.process.stdout, done), daemon=True),
            threading.Thread(target=self._collect, args=(self.process.stderr,), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _follow(self, out: IO[str], done: Callable[[int], Any]) -> None:
        for line in out:
            if line.startswith("read "):
                done(int(line.split()[1]))
            elif line.strip():
                self.last = line  # the result is the last line; anything printed before it is not

    def _collect(self, err: IO[str]) -> None:
        self.errors += list(err)

    def result(self) -> Any:
        status = self.process.wait()
        for thread in self.threads:
            thread.join()
        if status != 0 or not self.last:
            raise RuntimeError(f"a part in another process failed (exit status {status}): {self._stderr()}")
        return json.loads(self.last)

    def _stderr(self) -> str:
        return "".join(self.errors).strip()[-2000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def results(parts: list[Part]) -> list[Any]:
    """Every part's result, in order; if one fails, the others are stopped."""
    try:
        return [part.result() for part in parts]
    finally:
        for part in parts:
            part.stop()


def database_url(app: Any) -> str | None:
    """The URL another process can open the same database with, or None (an in-memory SQLite database)."""
    datastore = app.recorder.datastore
    if datastore.engine is None or getattr(datastore, "is_sqlite_in_memory_db", False):
        return None
    return datastore.engine.url.render_as_string(hide_password=False)


def id_range(part: int, parts: int) -> tuple[UUID | None, UUID | None]:
    """The `part`-th of `parts` equal ranges of aggregate ids, as (lowest included, first excluded); the ids are
    name-based UUIDs, so the ranges hold about as many aggregates each."""
    low = None if part == 0 else UUID(int=part * 2**128 // parts)
    high = None if part == parts - 1 else UUID(int=(part + 1) * 2**128 // parts)
    return low, high


def reporter(parent: int) -> Callable[[int], None]:
    """In a child: print a step's count for the parent's progress bar; stop if the parent is gone (its job failed)."""

    def report(read: int) -> None:
        if os.getppid() != parent:
            raise SystemExit("the job that started this part has ended; stopping")
        print(f"read {read}", flush=True)

    return report
