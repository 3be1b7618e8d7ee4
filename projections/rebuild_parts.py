"""A rebuild split over processes by ranges of aggregate ids, as `ledger verify` splits its invariant pass.

A rebuild is bound by Python (decoding events, building rows), so one process uses one core however many the
machine has. Part i of n rebuilds the aggregates whose ids fall in the i-th of n equal ranges of the UUID space
(`ledger.audit_parallel.id_range`; the ids are name-based, so the parts come out even) into the same tables
aside: their rows never overlap (projections/rebuild.py). Each part is `python -m projections.rebuild_parts UPTO
PART PARTS` (a plain subprocess, the database URL in its environment): it prints a line `read N` after each batch,
for the progress bar, and at the end its count of events and its governorate rows as JSON. The parent adds the
parts' governorate counts together and writes those rows itself. A part that fails fails the rebuild: the live
read models are untouched (projections/aside.py). Small ledgers, SQLite (one writer) and `workers` < 2 run
in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import Date, create_engine
from sqlalchemy.engine import Engine

from ledger.audit_parallel import PARALLEL_FROM_EVENTS, database_url, id_range
from ledger.connections import harden
from projections import aside
from projections import tables as t
from projections.rebuild import Governorates, project_range
from projections.workingset import Row

COUNTED = ("subscribers", "enrolled")  # added to by subscribers' events, in every part
OWNED = ("governorate_id", "listed", "live_since", "switches", "switched_at")  # by the governorate's own events


def project(app: Any, engine: Engine, upto: int, workers: int, done: Callable[[int], None]) -> tuple[int, list[Row]]:
    """Rebuild every aggregate's events up to `upto` into `engine`'s empty tables, in `workers` processes when it
    is worth it; returns the number of events read and the governorate rows, which the caller writes."""
    url = database_url(app)
    if workers < 2 or url is None or upto < PARALLEL_FROM_EVENTS or engine.dialect.name != "postgresql":
        read, governorates = project_range(app, engine, upto, done=done)
        return read, governorate_rows(governorates)
    parts = [Part(url, upto, part, workers, done) for part in range(workers)]
    try:
        results = [part.result() for part in parts]
    finally:
        for part in parts:
            part.stop()
    return sum(read for read, _ in results), merged([rows for _, rows in results])


def governorate_rows(governorates: Governorates) -> list[Row]:
    return [row for row in governorates.rows.rows.values() if row is not None]


def merged(parts: list[list[Row]]) -> list[Row]:
    """One row per governorate: the parts' counts added, the rest from the part that holds its own events."""
    rows: dict[str, Row] = {}
    for part in parts:
        for row in part:
            into = rows.get(row["code"])
            if into is None:
                rows[row["code"]] = dict(row)
                continue
            for name in COUNTED:
                into[name] += row[name]
            if row["governorate_id"] is not None:
                into.update({name: row[name] for name in OWNED})
    return list(rows.values())


class Part:
    """One range's rebuild in its own process; `result()` waits for it."""

    def __init__(self, url: str, upto: int, part: int, parts: int, done: Callable[[int], None]) -> None:
        env = {**os.environ, "LEDGER_DATABASE_URL": url}  # never on a command line others can read
        self.process = subprocess.Popen(
            [sys.executable, "-m", "projections.rebuild_parts", str(upto), str(part), str(parts)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.outcome: dict[str, Any] = {}
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

    def result(self) -> tuple[int, list[Row]]:
        status = self.process.wait()
        for thread in self.threads:
            thread.join()
        if status != 0 or not self.outcome:
            raise RuntimeError(f"a rebuild part failed (exit status {status}): {''.join(self.errors).strip()[-2000:]}")
        return int(self.outcome["read"]), [decoded(row) for row in self.outcome["governorates"]]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


_DAYS = {c.name for c in t.governorates.columns if isinstance(c.type, Date)}
_INSTANTS = {c.name for c in t.governorates.columns if isinstance(c.type, t.UtcDateTime)}


def encoded(row: Row) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}


def decoded(row: dict[str, Any]) -> Row:
    def value(name: str, raw: Any) -> Any:
        if raw is None:
            return None
        if name in _DAYS:
            return date.fromisoformat(raw)
        return datetime.fromisoformat(raw) if name in _INSTANTS else raw

    return {name: value(name, raw) for name, raw in row.items()}


def run_part(upto: int, part: int, parts: int) -> dict[str, Any]:
    """In the child: rebuild one range into the tables aside, printing progress; returns what the parent needs."""
    from ledger.application import LedgerApplication

    app = LedgerApplication()
    recorder: Any = app.recorder
    engine = create_engine(recorder.datastore.engine.url)
    harden(engine)
    try:
        read, governorates = project_range(
            app,
            engine.execution_options(schema_translate_map={None: aside.SCHEMA}),
            upto,
            id_range(part, parts),
            done=_reporter(os.getppid()),
        )
    finally:
        engine.dispose()
        app.close()
    return {"read": read, "governorates": [encoded(row) for row in governorate_rows(governorates)]}


def _reporter(parent: int) -> Callable[[int], None]:
    """Print each batch's count for the parent's progress bar; stop if the parent is gone (its rebuild failed)."""

    def report(read: int) -> None:
        if os.getppid() != parent:
            raise SystemExit("the rebuild that started this part has ended; stopping")
        print(f"read {read}", flush=True)

    return report


if __name__ == "__main__":
    print(json.dumps(run_part(*(int(arg) for arg in sys.argv[1:4]))), flush=True)
