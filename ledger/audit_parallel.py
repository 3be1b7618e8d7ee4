"""The invariant pass of `ledger verify` in a second process, while the first walks the hash chain.

The two passes read the whole event table independently and are bound by Python, not by the database, so on a
machine with two cores or more they take as long as the longer one instead of as long as both. The second process
is `python -m ledger.audit_parallel` (a plain subprocess, so the caller's main module is never imported again): it
opens the same database from its URL, runs `check_invariants` up to the same position and prints its counts and
findings as JSON; the parent adds them to its own report exactly as the in-process pass would have.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

PARALLEL_FROM_EVENTS = 20_000  # below this, starting a Python process costs more than it saves

Finding = tuple[int | None, str, str]


def database_url(app: Any) -> str | None:
    """The URL another process can open the same database with, or None (an in-memory SQLite database)."""
    datastore = app.recorder.datastore
    if datastore.engine is None or getattr(datastore, "is_sqlite_in_memory_db", False):
        return None
    return datastore.engine.url.render_as_string(hide_password=False)


class InvariantsElsewhere:
    """The invariant pass running in a child process; `result()` waits for it."""

    def __init__(self, url: str, upto: int | None) -> None:
        command = [sys.executable, "-m", "ledger.audit_parallel", str(upto if upto is not None else -1)]
        # The URL (it may hold a password) goes in the environment, as for every ledger command, never on the
        # command line other users can read.
        env = {**os.environ, "LEDGER_DATABASE_URL": url}
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def result(self) -> tuple[dict[str, int], list[Finding]]:
        out, err = self.process.communicate()
        if self.process.returncode != 0:
            raise RuntimeError(f"the invariant pass failed in its process: {err.strip()[-2000:]}")
        found = json.loads(out)
        return found["counts"], [tuple(finding) for finding in found["findings"]]  # type: ignore[misc]


def start_invariants(app: Any, upto: int | None, workers: int) -> InvariantsElsewhere | None:
    """Start the invariant pass elsewhere when it is worth it; None means: run it here."""
    url = database_url(app)
    if workers < 2 or url is None or (upto or 0) < PARALLEL_FROM_EVENTS:
        return None
    return InvariantsElsewhere(url, upto)


def invariants_of(upto: int | None) -> dict[str, Any]:
    """In the child: the counts and findings of `check_invariants` on the database at LEDGER_DATABASE_URL."""
    from ledger.application import LedgerApplication
    from ledger.audit_invariants import check_invariants

    app = LedgerApplication()
    found: list[Finding] = []
    try:
        counts = check_invariants(app, upto, lambda position, kind, detail: found.append((position, kind, detail)))
    finally:
        app.close()
    return {"counts": counts, "findings": found}


if __name__ == "__main__":
    bound = int(sys.argv[1])
    print(json.dumps(invariants_of(None if bound < 0 else bound)))
