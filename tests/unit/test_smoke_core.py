"""A first end-to-end pass through the core: register, read, bill, pay, settle, on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ledger.errors import Overpayment, PaymentRefConflict

PAID_AT = datetime(2026, 3, 1, 10, tzinfo=UTC)


def test_a_subscriber_is_billed_paid_and_cleared(database_url, make_ledger):
    app = make_ledger(database_url)
    app.register_subscriber("DI-1", "SY-DI", "residential", "M1", 1000, "Ahmad")
    app.enrol("DI-1", "CBS", "****4321")
    app.submit_reading("DI-1", 1400, datetime(2026, 2, 20, tzinfo=UTC), "reader")
    bill = app.issue_bill("DI-1", "2026-C1")
    assert bill["amount"] == Decimal("3200.00")
    payment, created = app.receive_payment("CBS", "TX1", "DI-1", bill["bill_id"], "1000.00", "web", PAID_AT)
    assert created and payment["status"] == "received"
    again, created_again = app.receive_payment("CBS", "TX1", "DI-1", bill["bill_id"], "1000.00", "web", PAID_AT)
    assert (again, created_again) == (payment, False)
    with pytest.raises(PaymentRefConflict):
        app.receive_payment("CBS", "TX1", "DI-1", bill["bill_id"], "1001.00", "web", PAID_AT)
    with pytest.raises(Overpayment):
        app.receive_payment("CBS", "TX2", "DI-1", bill["bill_id"], "2200.01", "web", PAID_AT)
    report, created = app.settle("CBS", "S1", date(2026, 3, 2), ["TX1", "NOPE"], "1000.00")
    assert created and report["matched"] == ["TX1"] and report["unknown"] == ["NOPE"]
    assert app.payment("CBS", "TX1")["status"] == "cleared"
    balance = app.subscriber("DI-1")["balance"]
    assert (balance["billed"], balance["paid"], balance["cleared"], balance["outstanding"]) == (
        Decimal("3200.00"),
        Decimal("1000.00"),
        Decimal("1000.00"),
        Decimal("2200.00"),
    )
