"""Peak memory of a billing run and a projection rebuild, each in a fresh process, at two sizes.

Both stream their work (billing 200 subscribers at a time, a rebuild 5,000 events at a time), so peak RSS should
not grow with the number of subscribers. Each job runs as `python -m benchmarks.memory JOB URL` and prints its own
peak resident set as JSON, so nothing the benchmark itself holds is counted.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from typing import Any

from benchmarks.databases import Scratch, scratch
from benchmarks.ledger_scenarios import ledger_app, seed_subscribers


def _peak_mib() -> float:
    """This process's peak resident set (VmHWM). Not `ru_maxrss`: Linux carries that over from the parent that
    started this process, so a large benchmark process would hide a small job."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _job(name: str, url: str) -> dict[str, Any]:
    from ledger import LedgerApplication
    from projections.runner import ProjectionRunner

    app = LedgerApplication(env={"LEDGER_DATABASE_URL": url})
    started = time.perf_counter()
    if name == "billing":
        done = app.billing_run("2026-C5")["issued"]
    else:
        runner = ProjectionRunner(app)
        with runner.locked():
            done = runner.rebuild(progress=False)
        runner.close()
    seconds = time.perf_counter() - started
    app.close()
    return {"job": name, "done": done, "seconds": round(seconds, 2), "peak_rss_mib": round(_peak_mib(), 1)}


def run_job(db: Scratch, name: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.memory", name, db.url]
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(finished.stdout.strip().splitlines()[-1])


def peak_rss(backend: str, sizes: tuple[int, ...]) -> dict[str, dict[str, Any]]:
    """For each size, a fresh database of that many subscribers: billing run, then rebuild, each measured."""
    found: dict[str, dict[str, Any]] = {}
    for size in sizes:
        with scratch(backend) as db:
            app = ledger_app(db)
            seed_subscribers(app, size, "M", enrol=False)
            app.close()
            found[f"billing_{size}"] = run_job(db, "billing")
            found[f"rebuild_{size}"] = run_job(db, "rebuild")
    return found


if __name__ == "__main__":
    print(json.dumps(_job(sys.argv[1], sys.argv[2])))
