"""Scenarios over the events the earlier scenarios left: projection rebuild, audit verification, HTTP payments.

Rebuild and verification are compared with the raw rate of reading and decoding the same event table with a
server-side cursor; HTTP payments with the raw one-client insert rate.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks import baselines
from benchmarks.databases import Scratch
from benchmarks.http_payments import http_payments
from benchmarks.ledger_scenarios import ledger_app
from ledger import audit
from projections.runner import ProjectionRunner


def _events(app: Any) -> int:
    return app.recorder.max_notification_id() or 0


def rebuild_rate(db: Scratch, workers: int = 2) -> float:
    app = ledger_app(db)
    runner = ProjectionRunner(app)
    with runner.locked():
        started = time.perf_counter()
        runner.rebuild(progress=False, workers=workers)
        rate = _events(app) / (time.perf_counter() - started)
    runner.close()
    app.close()
    return rate


def verify_rate(db: Scratch) -> float:
    app = ledger_app(db)
    started = time.perf_counter()
    report = audit.verify(app, workers=2)
    rate = report["events"] / (time.perf_counter() - started)
    assert report["ok"], report["faults"][:3]
    app.close()
    return rate


def scenarios(db: Scratch, scale: int, read_decode: float, raw1: float) -> dict[str, dict[str, Any]]:
    from benchmarks.run import _scenario

    raw_events = baselines.raw_read_decode(db, "ledger_events")
    found = {
        "projection_rebuild": _scenario(rebuild_rate(db), "events/s", raw_read_decode_events=raw_events),
        "audit_verify": _scenario(verify_rate(db), "events/s", raw_read_decode_events=raw_events),
    }
    if db.backend == "postgres":
        http = http_payments(db, 2000 * scale)  # as many as the in-process payment scenarios: p99 is the 20th slowest
        found["payments_http_2_workers"] = _scenario(http["rate"], "payments/s", raw_insert_1_client=raw1)
        found["payments_http_p50_latency"] = _scenario(http["p50_ms"], "ms")
        found["payments_http_p99_latency"] = _scenario(http["p99_ms"], "ms")
    return found
