"""The documented scale run (not in CI): seed a demo ledger of N subscribers on PostgreSQL, then time a billing
run, a projection rebuild and an audit verification at that size, and report the database size per event.

    python -m benchmarks.scale_run --subscribers 1000000 [--workers 2] [--database-url postgresql://...]

Each step runs as the `ledger` command an operator would use, on a fresh database (created, and dropped unless
--keep), so the timings include process start-up. The demo seeds with `--workers` processes and leaves the last
cycle's bills to the billing step, which runs one `ledger bill-run --governorate G` per governorate, `--workers` at
a time, as a national run would be split. The summary is printed as JSON; docs/PERFORMANCE.md keeps the last
figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import psycopg2

from api.demo import recent_cycles
from benchmarks.databases import admin_url

LEDGER = str(Path(sys.executable).with_name("ledger"))


def _step(url: str, *args: str) -> float:
    started = time.perf_counter()
    env = {**os.environ, "LEDGER_DATABASE_URL": url}
    subprocess.run([LEDGER, *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return round(time.perf_counter() - started, 1)


def _billing(url: str, cycle: str, workers: int) -> dict[str, Any]:
    """Bill `cycle` with one `ledger bill-run --governorate G` per governorate, `workers` at a time."""
    from ledger.governorate import codes

    env = {**os.environ, "LEDGER_DATABASE_URL": url}
    command = [LEDGER, "bill-run", "--cycle", cycle, "--governorate"]
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        runs = pool.map(
            lambda code: subprocess.run([*command, code], env=env, check=True, capture_output=True, text=True).stdout,
            codes(),
        )
        issued = sum(json.loads(out)["issued"] for out in runs)
    seconds = round(time.perf_counter() - started, 1)
    return {"billing_seconds": seconds, "bills_issued": issued, "bills_per_second": round(issued / seconds)}


def _sizes(dsn: str) -> dict[str, Any]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), pg_total_relation_size('ledger_events') FROM ledger_events")
        events, table_bytes = cur.fetchone()
        cur.execute("SELECT pg_database_size(current_database())")
        database_bytes = cur.fetchone()[0]
    return {
        "events": events,
        "events_table_mib": round(table_bytes / 2**20, 1),
        "database_mib": round(database_bytes / 2**20, 1),
        "bytes_per_event_events_table": round(table_bytes / max(events, 1)),
        "bytes_per_event_database": round(database_bytes / max(events, 1)),
    }


@click.command()
@click.option("--subscribers", default=100_000, show_default=True, type=click.IntRange(1, 5_000_000))
@click.option("--cycles", default=3, show_default=True, type=click.IntRange(1, 36))
@click.option("--database-url", default=None, help="An admin URL of the server (default: the benchmark's).")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Processes per step.")
@click.option("--keep", is_flag=True, help="Keep the database afterwards.")
def main(subscribers: int, cycles: int, database_url: str | None, workers: int, keep: bool) -> None:
    admin = (database_url or admin_url()).replace("postgresql+psycopg2://", "postgresql://", 1)
    name = f"ledger_scale_{uuid.uuid4().hex[:8]}"
    server = psycopg2.connect(admin)
    server.autocommit = True
    server.cursor().execute(f'CREATE DATABASE "{name}"')
    dsn = f"{admin.rsplit('/', 1)[0]}/{name}"
    url = "postgresql+psycopg2://" + dsn.split("://", 1)[1]
    try:
        summary: dict[str, Any] = {"subscribers": subscribers, "cycles": cycles, "workers": workers}
        demo = ["demo", "--subscribers", str(subscribers), "--cycles", str(cycles), "--workers", str(workers)]
        summary["demo_seconds"] = _step(url, *demo, "--leave-last-cycle-unbilled")
        last_cycle = recent_cycles(datetime.now(UTC).date(), cycles)[-1].name
        summary.update(_billing(url, last_cycle, workers))
        summary.update(_sizes(dsn))
        summary["rebuild_seconds"] = _step(url, "project", "--rebuild", "--once", "--workers", str(workers))
        summary["verify_seconds"] = _step(url, "verify", "--no-progress", "--workers", str(workers))
        for step in ("rebuild", "verify"):
            summary[f"{step}_events_per_second"] = round(summary["events"] / summary[f"{step}_seconds"])
        summary["demo_events_per_second"] = round(summary["events"] / summary["demo_seconds"])
        print(json.dumps(summary, indent=2))
    finally:
        if not keep:
            server.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.close()


if __name__ == "__main__":
    main()
