"""A national billing run as the operator splits it: one process per governorate, running at once.

Each part is `python -m benchmarks.billing_parallel URL GOVERNORATE CYCLE`: it opens the ledger, says it is ready,
waits for the word to start (so that interpreter start-up is not timed), bills its governorate and prints its report
with the wall-clock instants it started and finished. The scenario's rate is all bills issued over the span from
the first start to the last finish.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from benchmarks.databases import Scratch
from benchmarks.ledger_scenarios import ledger_app, seed_subscribers

GOVERNORATES = ("SY-HL", "SY-HM")  # no other scenario's subscribers are there


def billing_per_governorate(db: Scratch, subscribers: int, cycle: str = "2026-C5") -> float:
    """Bills per second of one billing process per governorate in GOVERNORATES, `subscribers` in each."""
    app = ledger_app(db)
    for code in GOVERNORATES:
        seed_subscribers(app, subscribers, f"G{code[3:]}", enrol=False, governorate=code)
    app.close()
    parts = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.billing_parallel", db.url, code, cycle],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for code in GOVERNORATES
    ]
    for part in parts:
        assert part.stdout is not None and part.stdout.readline().strip() == "ready"
    for part in parts:
        assert part.stdin is not None
        part.stdin.write("go\n")
        part.stdin.flush()
    reports = [json.loads(part.communicate()[0]) for part in parts]
    if any(part.returncode for part in parts):
        raise RuntimeError("a billing process failed")
    issued = sum(report["issued"] for report in reports)
    assert issued == subscribers * len(GOVERNORATES), reports
    span = max(report["finished"] for report in reports) - min(report["started"] for report in reports)
    return issued / span


def _part(url: str, governorate: str, cycle: str) -> dict[str, Any]:
    from ledger import LedgerApplication

    app = LedgerApplication(env={"LEDGER_DATABASE_URL": url})
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    report = app.billing_run(cycle, governorate)
    finished = time.time()
    app.close()
    return {"issued": report["issued"], "started": started, "finished": finished}


if __name__ == "__main__":
    print(json.dumps(_part(*sys.argv[1:4])))
