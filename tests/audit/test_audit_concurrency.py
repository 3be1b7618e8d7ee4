"""Sealing while others write, on PostgreSQL: racing sealers agree, rolled-back inserts leave gaps that are no
fault, and the sealed chain verifies."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import text

from ledger.audit import seal, verify
from tests.audit.audit_world import seed

pytestmark = pytest.mark.postgres
WRITERS, ADJUSTMENTS, SEALERS = 3, 6, 2


def test_racing_sealers_and_conflicting_writers_leave_a_chain_that_verifies(pg_url, make_ledger):
    first = make_ledger(pg_url)
    seed(first)
    writers = [make_ledger(pg_url) for _ in range(WRITERS)]
    sealers = [make_ledger(pg_url) for _ in range(SEALERS)]
    done, errors = threading.Event(), []

    def write(app) -> None:
        try:
            for _ in range(ADJUSTMENTS):  # all on one bill: version conflicts, retries, burned ids
                app.adjust_bill("DI-2", "DI-2-2026-C1", Decimal("1.00"), "late fee waived, then reinstated")
        except Exception as error:  # reported below; a thread must not die silently
            errors.append(error)

    def keep_sealing(app) -> None:
        try:
            while not done.is_set():
                seal(app, checkpoint_events=5)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=keep_sealing, args=(app,)) for app in sealers]
    writing = [threading.Thread(target=write, args=(app,)) for app in writers]
    for thread in threads + writing:
        thread.start()
    for thread in writing:
        thread.join()
    done.set()
    for thread in threads:
        thread.join()
    assert errors == []
    seal(first, checkpoint_events=5)
    report = verify(first)
    assert report["ok"], report["faults"]
    with writers[0].recorder.datastore.engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM ledger_events")).scalar()
    assert report["events"] == count and report["unsealed_events"] == 0
    assert report["position"] >= count  # rolled-back inserts burned ids: gaps, which are no fault
    assert first.bill("DI-2", "DI-2-2026-C1")["adjusted"] == Decimal(WRITERS * ADJUSTMENTS)
