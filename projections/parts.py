"""Work split over child processes: `python -m MODULE ARGS...`, each reporting progress and one result on stdout.

A child prints `read N` after each step of its work (for the parent's progress bar) and, last, one line of JSON:
its result. It gets the database URL in its environment, never on a command line other users can read. A child
that exits non-zero, or without a result, fails the whole job with the end of its stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any


class Part:
    """One child process; `result()` waits for it and returns its JSON result."""

    def __init__(self, url: str, module: str, args: list[str], done: Callable[[int], None] = lambda _n: None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env={**os.environ, "LEDGER_DATABASE_URL": url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.outcome: Any = None
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self._follow, args=(self.process.stdout, done), daemon=True),
            threading.Thread(target=self._collect, args=(self.process.stderr,), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _follow(self, out: IO[str], done: Callable[[int], None]) -> None:
        for line in out:
            if line.startswith("read "):
                done(int(line.split()[1]))
            elif line.strip():
                self.outcome = json.loads(line)

    def _collect(self, err: IO[str]) -> None:
        self.errors += list(err)

    def result(self) -> Any:
        status = self.process.wait()
        for thread in self.threads:
            thread.join()
        if status != 0 or self.outcome is None:
            raise RuntimeError(f"a part in another process failed (exit status {status}): {self._stderr()}")
        return self.outcome

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


def reporter(parent: int) -> Callable[[int], None]:
    """In a child: print a step's count for the parent's progress bar; stop if the parent is gone (its job failed)."""

    def report(read: int) -> None:
        if os.getppid() != parent:
            raise SystemExit("the job that started this part has ended; stopping")
        print(f"read {read}", flush=True)

    return report
