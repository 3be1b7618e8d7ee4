"""Settlements: a bank's daily clearing marks payments as settled; replayed once, conflicts refused, refunds owed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from ledger.errors import InvalidInput, SettlementRefConflict

PAID_AT = datetime(2026, 3, 1, 10, tzinfo=UTC)
DAY = date(2026, 3, 2)


def pay(app, bill, ref, amount, bank="CBS"):
    return app.receive_payment(bank, ref, "DI-1", bill["bill_id"], amount, "web", PAID_AT)[0]


def test_a_settlement_clears_the_payments_it_lists_and_reports_the_rest(app, bill, events_of):
    pay(app, bill, "TX1", "1000.00")
    pay(app, bill, "TX2", "500.00")
    report, created = app.settle(
        "CBS", "S1", DAY, ["TX1", {"payment_ref": "TX2", "amount": "400.00"}, "TX9"], "1500.00"
    )
    assert created is True
    assert report["matched"] == ["TX1"] and report["unknown"] == ["TX9"]
    assert report["mismatched"] == [{"payment_ref": "TX2", "reason": "amount_mismatch"}]
    assert (report["total"], report["matched_total"], report["difference"]) == ("1500.00", "1000.00", "500.00")
    cleared = app.payment("CBS", "TX1")
    assert (cleared["status"], cleared["settlement_ref"]) == ("cleared", "S1") and cleared["cleared_at"]
    assert app.payment("CBS", "TX2")["status"] == "received"
    assert app.subscriber("DI-1")["balance"]["cleared"] == Decimal("1000.00")
    assert type(events_of("DI-1")[-1]).__name__ == "PaymentCleared"


def test_a_replayed_settlement_returns_the_same_report_and_adds_no_event(app, bill):
    pay(app, bill, "TX1", "1000.00")
    report, _ = app.settle("CBS", "S1", DAY, ["TX1"], "1000.00")
    before = app.recorder.max_notification_id()
    again, created = app.settle("CBS", "S1", DAY, ["TX1"], "1000.00")
    assert (again, created) == (report, False)
    assert app.recorder.max_notification_id() == before


def test_the_same_settlement_reference_with_other_content_is_a_conflict(app, bill, refused):
    pay(app, bill, "TX1", "1000.00")
    pay(app, bill, "TX2", "500.00")
    app.settle("CBS", "S1", DAY, ["TX1"], "1000.00")
    for refs, total, day in (
        (["TX1", "TX2"], "1500.00", DAY),
        (["TX1"], "1000.01", DAY),
        (["TX1"], "1000.00", date(2026, 3, 3)),
    ):
        with refused(SettlementRefConflict, "S1 of CBS was already received with different content"):
            app.settle("CBS", "S1", day, refs, total)
    assert app.payment("CBS", "TX2")["status"] == "received"


def test_settlement_references_are_per_bank(app, bill):
    app.enrol("DI-1", "REB", "****2222")
    pay(app, bill, "TX1", "1000.00", bank="CBS")
    pay(app, bill, "TX1", "200.00", bank="REB")
    assert app.settle("CBS", "S1", DAY, ["TX1"], "1000.00")[0]["matched"] == ["TX1"]
    assert app.settle("REB", "S1", DAY, ["TX1"], "200.00")[0]["matched"] == ["TX1"]
    assert app.subscriber("DI-1")["balance"]["cleared"] == Decimal("1200.00")


def test_a_payment_reversed_before_it_was_settled_is_reported_and_owed_back(app, bill):
    pay(app, bill, "TX1", "1000.00")
    app.reverse_payment("CBS", "TX1", "duplicate debit")
    report, _ = app.settle("CBS", "S1", DAY, ["TX1"], "1000.00")
    assert report["matched"] == [] and report["mismatched"] == [{"payment_ref": "TX1", "reason": "reversed"}]
    payment = app.payment("CBS", "TX1")
    assert (payment["status"], payment["settlement_ref"]) == ("reversed", "S1")
    balance = app.subscriber("DI-1")["balance"]
    assert (balance["refunds_due"], balance["paid"], balance["cleared"]) == (
        Decimal("1000.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )


def test_a_payment_reversed_after_it_was_settled_is_owed_back(app, bill):
    pay(app, bill, "TX1", "1000.00")
    app.settle("CBS", "S1", DAY, ["TX1"], "1000.00")
    app.reverse_payment("CBS", "TX1", "chargeback")
    balance = app.subscriber("DI-1")["balance"]
    assert (balance["refunds_due"], balance["cleared"], balance["outstanding"]) == (
        Decimal("1000.00"),
        Decimal("0.00"),
        Decimal("3200.00"),
    )


def test_a_payment_already_cleared_by_another_settlement_is_reported_and_stays_with_the_first(app, bill):
    pay(app, bill, "TX1", "1000.00")
    app.settle("CBS", "S1", DAY, ["TX1"], "1000.00")
    before = app.recorder.max_notification_id()
    report, created = app.settle("CBS", "S2", date(2026, 3, 3), ["TX1"], "1000.00")
    assert created and report["mismatched"] == [{"payment_ref": "TX1", "reason": "already_cleared"}]
    assert app.payment("CBS", "TX1")["settlement_ref"] == "S1"
    assert app.recorder.max_notification_id() == before + 1  # the settlement's own record, nothing on the account


def test_a_settlement_only_clears_its_own_banks_payments(app, bill):
    app.enrol("DI-1", "REB", "****2222")
    pay(app, bill, "TX1", "1000.00", bank="REB")
    report, _ = app.settle("CBS", "S1", DAY, ["TX1"], "1000.00")
    assert report["unknown"] == ["TX1"] and app.payment("REB", "TX1")["status"] == "received"


def test_a_settlement_listing_a_reference_twice_is_refused(app, bill, refused):
    pay(app, bill, "TX1", "1000.00")
    with refused(InvalidInput, "lists each payment reference once"):
        app.settle("CBS", "S1", DAY, ["TX1", "TX1"], "2000.00")


def test_the_same_settlement_reference_with_other_amounts_per_payment_is_a_conflict(app, bill, refused):
    pay(app, bill, "TX1", "1000.00")
    app.settle("CBS", "S1", DAY, [{"payment_ref": "TX1", "amount": "900.00"}], "1000.00")
    with refused(SettlementRefConflict, "different content"):
        app.settle("CBS", "S1", DAY, [{"payment_ref": "TX1", "amount": "1000.00"}], "1000.00")
