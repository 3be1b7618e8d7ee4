"""A rebuild split over processes by ranges of aggregate ids, as `ledger verify` splits its invariant pass.

A rebuild is bound by Python (decoding events, building rows), so one process uses one core however many the
machine has. Part i of n rebuilds the aggregates whose ids fall in the i-th of n equal ranges of the UUID space
(`ledger.processes.id_range`; the ids are name-based, so the parts come out even) into the same tables
aside: their rows never overlap (projections/rebuild.py). Each part is `python -m projections.rebuild_parts UPTO
PART PARTS` (ledger/processes.py): it reports each batch for the progress bar, and at the end its count of events
and its governorate rows as JSON. The parent adds the
parts' governorate counts together and writes those rows itself. A part that fails fails the rebuild: the live
read models are untouched (projections/aside.py). Small ledgers, SQLite (one writer) and `workers` < 2 run
in-process.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, create_engine
from sqlalchemy.engine import Engine

from ledger.connections import harden
from ledger.processes import PARALLEL_FROM_EVENTS, Part, database_url, id_range, reporter, results
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
    args = [[str(upto), str(part), str(workers)] for part in range(workers)]
    found = results([Part(url, "projections.rebuild_parts", a, done) for a in args])
    return sum(int(f["read"]) for f in found), merged([[decoded(row) for row in f["governorates"]] for f in found])


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
            done=reporter(os.getppid()),
        )
    finally:
        engine.dispose()
        app.close()
    return {"read": read, "governorates": [encoded(row) for row in governorate_rows(governorates)]}


if __name__ == "__main__":
    print(json.dumps(run_part(*(int(arg) for arg in sys.argv[1:4]))), flush=True)
