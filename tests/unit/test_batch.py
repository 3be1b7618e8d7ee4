"""`LedgerApplication.batch()`: many commands, the same decisions and refusals, one transaction at the end."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledger.errors import Overpayment, UnknownBill
from ledger.subscriber import subscriber_id

READ_AT = datetime(2026, 2, 20, 9, tzinfo=UTC)
PAID_AT = datetime(2026, 3, 1, 10, tzinfo=UTC)


def stored(app) -> int:
    return app.recorder.max_notification_id() or 0


def open_account(app, no: str) -> str:
    app.register_subscriber(no, "SY-DI", "residential", f"M{no}", 1000, f"Subscriber {no}")
    app.enrol(no, "CBS", "****4321")
    app.submit_reading(no, 1400, READ_AT, "reader")
    return app.issue_bill(no, "2026-C1")["bill_id"]  # 3200.00 SYP


def test_a_batch_writes_nothing_until_it_ends_then_everything_at_once(app):
    before = stored(app)
    with app.batch():
        bills = [open_account(app, f"DI-{n}") for n in range(1, 4)]
        for n, bill_id in enumerate(bills, start=1):
            app.receive_payment("CBS", f"TX{n}", f"DI-{n}", bill_id, "1000.00", "web", PAID_AT)
        app.settle("CBS", "CBS-2026-03-01", PAID_AT.date(), ["TX1", "TX2"], "2000.00")
        app.reverse_payment("CBS", "TX3", "Debit failed")
        assert stored(app) == before
    assert stored(app) > before
    ids = [n.id for n in app.recorder.select_notifications(start=before + 1, limit=1000)]
    assert ids == list(range(before + 1, before + 1 + len(ids)))
    assert app.payment("CBS", "TX1")["status"] == "cleared"
    assert app.payment("CBS", "TX3")["status"] == "reversed"
    assert app.bill("DI-2", bills[1])["paid"] == Decimal("1000.00")


def test_inside_a_batch_commands_see_what_earlier_ones_did_and_refuse_as_alone(app):
    with app.batch():
        bill_id = open_account(app, "DI-1")
        app.receive_payment("CBS", "TX1", "DI-1", bill_id, "3000.00", "web", PAID_AT)
        with pytest.raises(Overpayment):
            app.receive_payment("CBS", "TX2", "DI-1", bill_id, "500.00", "web", PAID_AT)
        with pytest.raises(UnknownBill):
            app.receive_payment("CBS", "TX3", "DI-1", "DI-1-2026-C9", "1.00", "web", PAID_AT)
        _, again = app.receive_payment("CBS", "TX1", "DI-1", bill_id, "3000.00", "web", PAID_AT)
        assert again is False
    kinds = [type(e).__name__ for e in app.events.get(subscriber_id("DI-1"))]
    assert kinds.count("PaymentReceived") == 1


def test_a_batch_that_fails_saves_nothing(app):
    before = stored(app)
    with pytest.raises(RuntimeError, match="stop"), app.batch():
        open_account(app, "DI-1")
        raise RuntimeError("stop")
    assert stored(app) == before
    with pytest.raises(RuntimeError, match="do not nest"), app.batch(), app.batch():
        pass
