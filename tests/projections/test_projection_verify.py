"""`projections.verify.check_projections`, the check `ledger verify` runs on the read models: silent on a faithful
projection (also one still catching up), and naming every row that differs from the replay."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete, update

from projections import tables as t
from projections.runner import ProjectionRunner
from projections.verify import check_projections, check_range
from tests.projections.projection_helpers import seed_bulk


def projected(app, batch_size=500, batches=None):
    runner = ProjectionRunner(app, batch_size=batch_size)
    with runner.locked():
        if batches is None:
            runner.catch_up()
        for _ in range(batches or 0):
            runner.run_batch()
    runner.close()
    return app.recorder.datastore.engine


def test_a_faithful_projection_has_no_faults_even_while_catching_up(database_url, make_ledger):
    app = make_ledger(database_url)
    seed_bulk(app, 12)
    projected(app, batch_size=40, batches=2)
    assert list(check_projections(app, None)) == []
    projected(app)
    assert list(check_projections(app, None)) == []


def test_every_altered_or_missing_row_is_named(sqlite_url, make_ledger):
    app = make_ledger(sqlite_url)
    seed_bulk(app, 6)
    engine = projected(app)
    with engine.begin() as conn:
        conn.execute(
            update(t.subscribers).where(t.subscribers.c.subscriber_no == "B00001").values(outstanding=Decimal("1.00"))
        )
        conn.execute(update(t.bills).where(t.bills.c.bill_id == "B00002-2026-C1").values(paid=Decimal("0.01")))
        conn.execute(delete(t.payments).where(t.payments.c.payment_ref == "B00003-0"))
        conn.execute(update(t.governorates).where(t.governorates.c.code == "SY-DY").values(live_since=date(2020, 1, 1)))
    details = [f["detail"] for f in check_projections(app, None)]
    assert any(d.startswith("subscriber B00001: outstanding is Decimal('1.00')") for d in details)
    assert any(d.startswith("bill B00002-2026-C1: paid is Decimal('0.01')") for d in details)
    assert "payment CBS:B00003-0 is missing from the read models" in details
    assert any(d.startswith("governorate SY-DY") for d in details)
    assert {f["kind"] for f in check_projections(app, None)} == {"projection_mismatch"}


@pytest.mark.postgres
def test_split_over_processes_the_check_names_the_same_faults(pg_url, make_ledger, monkeypatch):
    app = make_ledger(pg_url)
    seed_bulk(app, 30)
    engine = projected(app)
    with engine.begin() as conn:
        conn.execute(update(t.bills).where(t.bills.c.bill_id == "B00002-2026-C1").values(paid=Decimal("0.01")))
        conn.execute(delete(t.payments).where(t.payments.c.payment_ref == "B00003-0"))
        conn.execute(delete(t.subscribers).where(t.subscribers.c.subscriber_no == "B00017"))
    in_one = [f["detail"] for f in check_range(app, (None, None))]
    monkeypatch.setattr("projections.verify.PARALLEL_FROM_EVENTS", 0)
    in_parts = [f["detail"] for f in check_projections(app, None)]
    counted = [d for d in in_parts if " subscribers in the read models, " in d]
    held, registered = (int(n) for n in re.findall(r"(\d+) (?:subscribers|registered)", counted[0]))
    assert len(counted) == 1 and held == registered - 1 and "with ids from" in counted[0]  # in B00017's range
    assert sorted(d for d in in_parts if d not in counted) == sorted(d for d in in_one if "registered up to" not in d)
    assert "subscriber B00017 is missing from the read models" in in_parts
    assert "payment CBS:B00003-0 is missing from the read models" in in_parts
