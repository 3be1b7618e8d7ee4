"""Bills: one per cycle, priced by the tariff in force, old-pound bills kept as issued; adjustments; billing runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from ledger.errors import (
    AdjustmentTooLarge,
    BillAlreadyIssued,
    InvalidCycle,
    InvalidInput,
    NothingToBill,
    UnknownBill,
    UnknownGovernorate,
)

FEB_20 = datetime(2026, 2, 20, 9, tzinfo=UTC)
PAID_AT = datetime(2026, 3, 1, 10, tzinfo=UTC)


def test_a_bill_prices_the_consumption_since_the_last_bill_by_the_tariff_in_force(app, subscriber, events_of):
    app.submit_reading(subscriber, 1400, FEB_20, "reader")
    bill = app.issue_bill(subscriber, "2026-C1")
    assert (bill["bill_id"], bill["cycle"], bill["kwh"]) == ("DI-1-2026-C1", "2026-C1", 400)
    assert (bill["period_start"], bill["period_end"]) == ("2026-01-01", "2026-02-28")
    assert (bill["opening_kwh"], bill["closing_kwh"]) == (1000, 1400)
    assert (bill["amount"], bill["unit"], bill["tariff_version"]) == (
        Decimal("3200.00"),
        "SYP",
        "687/2025-redenominated",
    )
    assert [(line["block"], line["kwh"], line["amount"]) for line in bill["lines"]] == [
        ("1-300", "300", "1800.00"),
        ("301+", "100", "1400.00"),
    ]
    assert (bill["paid"], bill["outstanding"], bill["status"]) == (Decimal("0.00"), Decimal("3200.00"), "unpaid")
    assert (bill["issued_on"], bill["due_date"]) == ("2026-11-20", "2026-12-20")
    assert type(events_of(subscriber)[-1]).__name__ == "BillIssued"
    assert app.bills(subscriber) == [bill] == app.bills(subscriber, status="unpaid")
    assert app.subscriber(subscriber)["balance"]["billed"] == Decimal("3200.00")


def test_a_second_bill_for_the_same_cycle_is_refused(app, subscriber, refused):
    app.submit_reading(subscriber, 1400, FEB_20, "reader")
    first = app.issue_bill(subscriber, "2026-C1")
    app.submit_reading(subscriber, 1500, FEB_20 + timedelta(days=5), "reader")
    with refused(BillAlreadyIssued, "DI-1 already has a bill for cycle 2026-C1"):
        app.issue_bill(subscriber, "2026-C1")
    assert app.bills(subscriber) == [first]


def test_a_bill_without_a_new_reading_is_refused(app, subscriber, refused):
    with refused(NothingToBill, "no new reading since the last bill"):
        app.issue_bill(subscriber, "2026-C1")
    app.submit_reading(subscriber, 1400, FEB_20, "reader")
    app.issue_bill(subscriber, "2026-C1")
    with refused(NothingToBill, "no new reading since the last bill"):
        app.issue_bill(subscriber, "2026-C2")


def test_the_next_bill_covers_only_what_was_used_since_the_last_one(app, subscriber):
    app.submit_reading(subscriber, 1400, FEB_20, "reader")
    app.issue_bill(subscriber, "2026-C1")
    app.submit_reading(subscriber, 1500, FEB_20 + timedelta(days=60), "reader")
    second = app.issue_bill(subscriber, "2026-C2")
    assert (second["opening_kwh"], second["closing_kwh"], second["kwh"], second["amount"]) == (
        1400,
        1500,
        100,
        Decimal("600.00"),
    )


def test_a_cycle_that_has_not_started_is_refused(app, subscriber, refused, clock):
    app.submit_reading(subscriber, 1400, FEB_20, "reader")
    assert clock.now.date() == date(2026, 11, 20)
    with refused(InvalidCycle, "Cycle 2027-C1 has not started yet; it begins on 2027-01-01"):
        app.issue_bill(subscriber, "2027-C1")
    assert app.issue_bill(subscriber, "2026-C6")["cycle"] == "2026-C6"  # began on 2026-11-01


def test_a_malformed_cycle_is_refused(app, subscriber, refused):
    app.submit_reading(subscriber, 1400, FEB_20, "reader")
    for name in ("2026-C7", "2026-C0", "2026C1", "C1-2026", "1999-C1", ""):
        with refused(InvalidCycle, "is not a billing cycle"):
            app.issue_bill(subscriber, name)


def test_a_bill_issued_before_the_redenomination_stays_in_old_pounds(app, subscriber, events_of):
    app.submit_reading(subscriber, 1400, datetime(2025, 12, 28, 9, tzinfo=UTC), "reader")
    bill = app.issue_bill(subscriber, "2025-C6", issued_on=date(2025, 12, 31))
    assert (bill["amount_issued"], bill["unit_issued"]) == (Decimal("320000"), "SYP_OLD")
    assert (bill["amount"], bill["unit"], bill["outstanding"]) == (Decimal("3200.00"), "SYP", Decimal("3200.00"))
    assert bill["tariff_version"] == "687/2025"
    assert [line["amount"] for line in bill["lines"]] == ["180000", "140000"]
    issued = events_of(subscriber)[-1]
    assert (issued.amount, issued.unit) == (Decimal("320000"), "SYP_OLD")
    assert app.subscriber(subscriber)["balance"]["billed"] == Decimal("3200.00")


def test_a_bill_issued_after_the_redenomination_is_in_new_pounds(app, subscriber):
    app.submit_reading(subscriber, 1400, datetime(2025, 12, 28, 9, tzinfo=UTC), "reader")
    bill = app.issue_bill(subscriber, "2025-C6", issued_on=date(2026, 1, 1))
    assert (bill["amount_issued"], bill["unit_issued"], bill["amount"]) == (
        Decimal("3200.00"),
        "SYP",
        Decimal("3200.00"),
    )


def test_an_unknown_bill_is_reported_as_such(app, subscriber, refused):
    with refused(UnknownBill, "DI-1 has no bill DI-1-2026-C1"):
        app.bill(subscriber, "DI-1-2026-C1")
    with refused(UnknownBill, "DI-1 has no bill DI-1-2026-C1"):
        app.adjust_bill(subscriber, "DI-1-2026-C1", Decimal("-10.00"), "credit note")


def test_an_adjustment_changes_what_is_due_but_never_the_bill_as_issued(app, bill, events_of):
    credited = app.adjust_bill("DI-1", bill["bill_id"], Decimal("-200.00"), "credit note: meter fault")
    assert (credited["amount"], credited["adjusted"], credited["amount_due"], credited["outstanding"]) == (
        Decimal("3200.00"),
        Decimal("-200.00"),
        Decimal("3000.00"),
        Decimal("3000.00"),
    )
    corrected = app.adjust_bill("DI-1", bill["bill_id"], Decimal("50.00"), "correction")
    assert (corrected["adjusted"], corrected["outstanding"]) == (Decimal("-150.00"), Decimal("3050.00"))
    assert [type(e).__name__ for e in events_of("DI-1")[-2:]] == ["BillAdjusted", "BillAdjusted"]
    assert app.subscriber("DI-1")["balance"]["adjusted"] == Decimal("-150.00")


def test_a_credit_cannot_take_a_bill_below_what_was_already_paid(app, bill, refused):
    app.receive_payment("CBS", "TX1", "DI-1", bill["bill_id"], "3000.00", "web", PAID_AT)
    with refused(AdjustmentTooLarge, "below the 3000.00 SYP already paid"):
        app.adjust_bill("DI-1", bill["bill_id"], Decimal("-200.01"), "credit note")
    credited = app.adjust_bill("DI-1", bill["bill_id"], Decimal("-200.00"), "credit note")
    assert (credited["outstanding"], credited["status"]) == (Decimal("0.00"), "paid")


def test_an_adjustment_without_a_reason_is_refused(app, bill, refused):
    with refused(InvalidInput, "needs a reason"):
        app.adjust_bill("DI-1", bill["bill_id"], Decimal("-10.00"), "  ")


def test_a_billing_run_bills_every_due_subscriber_of_the_governorate_once(app, register):
    for no, where in (("DI-1", "SY-DI"), ("DI-2", "SY-DI"), ("DI-3", "SY-DI"), ("HL-1", "SY-HL")):
        register(no, where)
    for no in ("DI-1", "DI-2", "HL-1"):
        app.submit_reading(no, 1400, FEB_20, "reader")
    report = app.billing_run("2026-C1", "SY-DI")
    assert (report["issued"], report["skipped"], report["no_new_reading"], report["refused"]) == (2, 1, 1, [])
    assert [b["bill_id"] for b in app.bills("DI-1")] == ["DI-1-2026-C1"]
    assert app.bills("HL-1") == []
    before = app.recorder.max_notification_id()
    again = app.billing_run("2026-C1", "SY-DI")
    assert (again["issued"], again["already_billed"], again["no_new_reading"]) == (0, 2, 1)
    assert app.recorder.max_notification_id() == before


@pytest.mark.parametrize("compressed", [False, True])
def test_a_run_per_governorate_finds_its_subscribers_whatever_their_stored_bytes_hold(sqlite_url, clock, compressed):
    from ledger import LedgerApplication
    from ledger.billing import registrations

    env = {"LEDGER_DATABASE_URL": sqlite_url}
    if compressed:  # the stored bytes no longer show the governorate's code
        env["COMPRESSOR_TOPIC"] = "eventsourcing.compressor:ZlibCompressor"
    app = LedgerApplication(env=env, clock=clock)
    try:
        app.register_subscriber("DI-1", "SY-DI", "residential", "M1", 1000, "Subscriber DI-1")
        app.register_subscriber("HL-1", "SY-HL", "residential", "SY-DI", 1000, "Subscriber HL-1")  # the code as a meter
        app.register_subscriber("DI-2", "SY-DI", "commercial", "M3", 1000, "Subscriber DI-2")
        assert list(registrations(app, "SY-DI")) == [("DI-1", "SY-DI"), ("DI-2", "SY-DI")]
        assert list(registrations(app, "SY-HL")) == [("HL-1", "SY-HL")]
        assert [no for no, _ in registrations(app)] == ["DI-1", "HL-1", "DI-2"]
    finally:
        app.close()


def test_a_billing_run_without_a_governorate_bills_everyone(app, register):
    for no, where in (("DI-1", "SY-DI"), ("HL-1", "SY-HL")):
        register(no, where)
        app.submit_reading(no, 1400, FEB_20, "reader")
    assert app.billing_run("2026-C1")["issued"] == 2


def test_a_billing_run_reports_those_it_could_not_bill_and_goes_on(app, register):
    register("DI-1")
    register("DI-2")
    app.submit_reading("DI-1", 1400, datetime(2025, 10, 20, 9, tzinfo=UTC), "reader")
    app.submit_reading("DI-2", 1400, datetime(2025, 10, 20, 9, tzinfo=UTC), "reader")
    report = app.billing_run("2025-C1")  # no tariff was in force in January 2025
    assert report["issued"] == 0 and [r["rule"] for r in report["refused"]] == ["no-tariff-in-force"] * 2


def test_a_billing_run_for_an_unknown_governorate_or_cycle_is_refused(app, refused):
    with refused(UnknownGovernorate, "'SY-XX' is not a governorate code"):
        app.billing_run("2026-C1", "SY-XX")
    with refused(InvalidCycle, "is not a billing cycle"):
        app.billing_run("2026-C9", "SY-DI")
