"""`ledger demo --workers N` on PostgreSQL: the demo's chunks seeded by N processes at once.

Seeding is bound by Python (the aggregates decide every command), so one process keeps one core busy; a million
subscribers take N times less with N processes, up to the point where the appends, serialised by the event
table's lock, fill the database's time. Each part is `python -m api.demo_parts` (a plain subprocess, never a fork
of a process holding connections; ledger/processes.py): it reads the plan and its range of chunks as JSON on stdin,
seeds them through the same commands as a single-process demo, reports subscribers as they are done and its counts
at the end. Only the part with the first chunks refreshes the planner's statistics as it goes: the tables
grow with all parts at once, so its doubling schedule is everyone's. Chunks are independent (see
`api.demo.Plan`), so the ledger is the same as with one process.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from api.demo import Plan, Seeded, demo_ledger, seed_chunks
from ledger.processes import Part, database_url, results

PROGRESS_EVERY = 100  # subscribers per progress line


def seed_in_processes(app: Any, plan: Plan, workers: int, advance: Callable[[int], Any]) -> Seeded:
    """Seed the plan's chunks split into `workers` contiguous ranges, one process each; the summed counts."""
    url = database_url(app)
    if url is None:
        raise RuntimeError("seeding in several processes needs a database other processes can open")
    chunks = plan.chunks
    bounds = [chunks.start + len(chunks) * part // workers for part in range(workers + 1)]
    orders = [
        {"plan": plan.to_json(), "chunks": [bounds[n], bounds[n + 1]], "analyze": bounds[n] == chunks.start}
        for n in range(workers)
        if bounds[n] < bounds[n + 1]
    ]
    result = Seeded()
    for counts in results([Part(url, "api.demo_parts", [], advance, order) for order in orders]):
        result.add(counts)
    return result


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
            print(f"read {self.pending}", flush=True)
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
    print(json.dumps(result.counts()), flush=True)


if __name__ == "__main__":
    _seed_part()
