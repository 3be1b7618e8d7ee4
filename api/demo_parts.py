"""`ledger demo --workers N` on PostgreSQL: the demo's chunks seeded by N processes at once.

Seeding is bound by Python (the aggregates decide every command), so one process keeps one core busy; a million
subscribers take N times less with N processes, up to the point where the appends, serialised by the event
table's lock, fill the database's time. Each part is `python -m api.demo_parts` (a plain subprocess, never a fork
of a process holding connections): it reads the plan and its range of chunks as JSON on stdin, seeds them through
the same commands as a single-process demo, reports `+N` lines as subscribers are done and one `=` line with its
counts at the end. Only the part with the first chunks refreshes the planner's statistics as it goes: the tables
grow with all parts at once, so its doubling schedule is everyone's. Chunks are independent (see
`api.demo.Plan`), so the ledger is the same as with one process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

from api.demo import Plan, Seeded, demo_ledger, seed_chunks
from ledger.audit_parallel import database_url

PROGRESS_EVERY = 100  # subscribers per progress line


def seed_in_processes(app: Any, plan: Plan, workers: int, advance: Callable[[int], Any]) -> Seeded:
    """Seed the plan's chunks split into `workers` contiguous ranges, one process each; the summed counts."""
    url = database_url(app)
    if url is None:
        raise RuntimeError("seeding in several processes needs a database other processes can open")
    chunks = plan.chunks
    bounds = [chunks.start + len(chunks) * part // workers for part in range(workers + 1)]
    parts = [Part(url, plan, bounds[n], bounds[n + 1], advance) for n in range(workers) if bounds[n] < bounds[n + 1]]
    result = Seeded()
    for part in parts:
        result.add(part.wait())
    return result


class Part:
    """One seeding process and the thread that relays its progress."""

    def __init__(self, url: str, plan: Plan, first: int, end: int, advance: Callable[[int], Any]) -> None:
        env = {**os.environ, "LEDGER_DATABASE_URL": url}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.demo_parts"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        order = {"plan": plan.to_json(), "chunks": [first, end], "analyze": first == plan.chunks.start}
        self.process.stdin.write(json.dumps(order))
        self.process.stdin.close()
        self.counts: dict[str, int] | None = None
        self.relay = threading.Thread(target=self._relay, args=(self.process.stdout, advance), daemon=True)
        self.relay.start()

    def _relay(self, out: IO[str], advance: Callable[[int], Any]) -> None:
        for line in out:
            if line.startswith("+"):
                advance(int(line[1:]))
            elif line.startswith("="):
                self.counts = json.loads(line[1:])

    def wait(self) -> dict[str, int]:
        code = self.process.wait()
        self.relay.join()
        if code != 0 or self.counts is None:
            raise RuntimeError(f"a demo seeding process failed (exit status {code}); its error is shown above")
        return self.counts


class _Progress:
    """In the child: report done subscribers every PROGRESS_EVERY, to the parent's bar."""

    def __init__(self) -> None:
        self.pending = 0

    def __call__(self, count: int) -> None:
        self.pending += count
        if self.pending >= PROGRESS_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            print(f"+{self.pending}", flush=True)
            self.pending = 0


def _seed_part() -> None:
    order = json.load(sys.stdin)
    app = demo_ledger(os.environ["LEDGER_DATABASE_URL"])
    progress = _Progress()
    try:
        plan, chunks = Plan.from_json(order["plan"]), range(*order["chunks"])
        result = seed_chunks(app, plan, chunks, progress, analyze=order["analyze"])
    finally:
        app.close()
    progress.flush()
    print("=" + json.dumps(result.counts()), flush=True)


if __name__ == "__main__":
    _seed_part()
