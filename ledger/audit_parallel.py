"""The invariant pass of `ledger verify` in other processes, while the first walks the hash chain.

The passes read the event table independently and are bound by Python, not by the database, so with more cores
they take as long as the longest one instead of as long as all. The invariant pass is split by subscriber: part
i of n checks the subscribers whose aggregate ids fall in the i-th of n equal ranges of the UUID space (the ids
are name-based UUIDs, so the parts come out even), and every invariant is about one subscriber's own events or
its payments' ledger-wide claims, so the parts need nothing from each other. Each part is
`python -m ledger.audit_parallel UPTO PART PARTS` (a plain subprocess, so the caller's main module is never
imported again): it opens the same database from its URL, runs `check_invariants` over its range up to the same
position and prints its counts and findings as JSON; the parent adds them up in range order, as the in-process
pass would have found them.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ledger.processes import PARALLEL_FROM_EVENTS, Part, database_url, id_range, results

Finding = tuple[int | None, str, str]


class InvariantsElsewhere:
    """The invariant pass running in `parts` child processes (ledger/processes.py); `result()` waits for them."""

    def __init__(self, url: str, upto: int | None, parts: int) -> None:
        bound = str(upto if upto is not None else -1)
        self.processes = [Part(url, "ledger.audit_parallel", [bound, str(part), str(parts)]) for part in range(parts)]

    def result(self) -> tuple[dict[str, int], list[Finding]]:
        counts: dict[str, int] = {}
        findings: list[Finding] = []
        for found in results(self.processes):
            for name, count in found["counts"].items():
                counts[name] = counts.get(name, 0) + count
            findings += [tuple(finding) for finding in found["findings"]]  # type: ignore[misc]
        return counts, findings


def start_invariants(app: Any, upto: int | None, workers: int) -> InvariantsElsewhere | None:
    """Start the invariant pass elsewhere, in `workers` parts, when it is worth it; None means: run it here."""
    url = database_url(app)
    if workers < 2 or url is None or (upto or 0) < PARALLEL_FROM_EVENTS:
        return None
    return InvariantsElsewhere(url, upto, workers)


def invariants_of(upto: int | None, part: int, parts: int) -> dict[str, Any]:
    """In the child: the counts and findings of `check_invariants` over one range of subscribers."""
    from ledger.application import LedgerApplication
    from ledger.audit_invariants import check_invariants

    app = LedgerApplication()
    found: list[Finding] = []
    try:
        counts = check_invariants(
            app, upto, lambda position, kind, detail: found.append((position, kind, detail)), ids=id_range(part, parts)
        )
    finally:
        app.close()
    return {"counts": counts, "findings": found}


if __name__ == "__main__":
    bound, part, parts = (int(arg) for arg in sys.argv[1:4])
    print(json.dumps(invariants_of(None if bound < 0 else bound, part, parts)))
