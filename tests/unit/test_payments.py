"""Payments from banks: applied once per (bank, reference), never beyond the bill, never with a fee; reversals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ledger.errors import (
    FeeNotAllowed,
    GovernorateNotLive,
    InvalidAmount,
    InvalidInput,
    NotEnrolled,
    Overpayment,
    PaymentAlreadyReversed,
    PaymentRefConflict,
    UnknownBill,
    UnknownPayment,
    UnknownSubscriber,
)

PAID_AT = datetime(2026, 3, 1, 10, tzinfo=UTC)
FEB_20 = datetime(2026, 2, 20, 9, tzinfo=UTC)


def pay(
    app, bill, ref="TX1", amount="1000.00", bank="CBS", subscriber_no="DI-1", channel="web", paid_at=PAID_AT, **extra
):
    return app.receive_payment(bank, ref, subscriber_no, bill["bill_id"], amount, channel, paid_at, **extra)


def test_a_payment_is_recorded_as_received_against_its_bill(app, bill, events_of):
    payment, created = pay(app, bill)
    assert created is True
    assert (payment["payment_ref"], payment["bank"], payment["subscriber_no"], payment["bill_id"]) == (
        "TX1",
        "CBS",
        "DI-1",
        "DI-1-2026-C1",
    )
    assert (payment["amount"], payment["unit"], payment["channel"], payment["status"]) == (
        Decimal("1000.00"),
        "SYP",
        "web",
        "received",
    )
    assert payment["paid_at"] == "2026-03-01T10:00:00+00:00" and payment["settlement_ref"] is None
    assert app.payment("CBS", "TX1") == payment
    after = app.bill("DI-1", bill["bill_id"])
    assert (after["paid"], after["outstanding"], after["status"]) == (
        Decimal("1000.00"),
        Decimal("2200.00"),
        "partially_paid",
    )
    assert type(events_of("DI-1")[-1]).__name__ == "PaymentReceived"


def test_a_bill_paid_in_full_is_paid(app, bill):
    pay(app, bill, "TX1", "3199.99")
    pay(app, bill, "TX2", "0.01")
    after = app.bill("DI-1", bill["bill_id"])
    assert (after["outstanding"], after["status"]) == (Decimal("0.00"), "paid")
    assert app.bills("DI-1", status="paid") == [after]


def test_a_retried_payment_is_applied_once_and_returns_the_original(app, bill, events_of):
    original, _ = pay(app, bill)
    count = len(events_of("DI-1"))
    before = app.recorder.max_notification_id()
    other_zone = PAID_AT.astimezone(timezone(timedelta(hours=3)))
    for _ in range(3):
        again, created = pay(app, bill, amount="1000", paid_at=other_zone)
        assert (again, created) == (original, False)
    assert app.recorder.max_notification_id() == before and len(events_of("DI-1")) == count
    assert app.bill("DI-1", bill["bill_id"])["paid"] == Decimal("1000.00")


def test_the_same_reference_with_other_content_is_a_conflict(app, bill, refused):
    pay(app, bill)
    for change in ({"amount": "999.00"}, {"channel": "app"}, {"paid_at": PAID_AT + timedelta(seconds=1)}):
        with refused(PaymentRefConflict, "TX1 of CBS was already used for a different payment"):
            pay(app, bill, **change)
    assert app.bill("DI-1", bill["bill_id"])["paid"] == Decimal("1000.00")


def test_the_same_reference_for_another_subscriber_is_a_conflict(app, bill, register, refused):
    register("DI-2")
    app.enrol("DI-2", "CBS", "****1111")
    app.submit_reading("DI-2", 1400, FEB_20, "reader")
    other = app.issue_bill("DI-2", "2026-C1")
    pay(app, bill)
    with refused(PaymentRefConflict, "already used for another subscriber's payment"):
        pay(app, other, subscriber_no="DI-2")
    assert app.bill("DI-2", other["bill_id"])["paid"] == Decimal("0.00")


def test_references_are_unique_per_bank_so_two_banks_may_use_the_same_one(app, bill):
    app.enrol("DI-1", "REB", "****2222")
    pay(app, bill, "TX1", "1000.00", bank="CBS")
    payment, created = pay(app, bill, "TX1", "500.00", bank="REB")
    assert created and payment["bank"] == "REB"
    assert app.bill("DI-1", bill["bill_id"])["paid"] == Decimal("1500.00")


def test_a_payment_that_carries_a_fee_is_refused(app, bill, refused):
    with refused(FeeNotAllowed, "The ministry charges no fee"):
        pay(app, bill, fee="10.00")
    payment, created = pay(app, bill, fee="0.00")
    assert created and payment["amount"] == Decimal("1000.00")


def test_a_payment_beyond_what_is_outstanding_is_refused(app, bill, refused):
    with refused(Overpayment, "exceeds the 3200.00 SYP outstanding"):
        pay(app, bill, amount="3200.01")
    pay(app, bill, "TX1", "3000.00")
    with refused(Overpayment, "exceeds the 200.00 SYP outstanding"):
        pay(app, bill, "TX2", "200.01")


def test_a_payment_within_a_debit_adjustment_is_accepted(app, bill):
    app.adjust_bill("DI-1", bill["bill_id"], Decimal("100.00"), "correction")
    assert pay(app, bill, amount="3300.00")[0]["amount"] == Decimal("3300.00")


def test_a_payment_from_a_bank_the_subscriber_is_not_enrolled_with_is_refused(app, bill, refused):
    with refused(NotEnrolled, "DI-1 is not enrolled for e-payment with REB"):
        pay(app, bill, bank="REB")


def test_a_payment_in_a_governorate_where_e_payment_is_not_live_is_refused(app, register, refused):
    register("DY-1", "SY-DY")
    app.enrol("DY-1", "CBS", "****4321")
    app.submit_reading("DY-1", 1400, FEB_20, "reader")
    bill = app.issue_bill("DY-1", "2026-C1")
    with refused(GovernorateNotLive, "E-payment is not live in governorate SY-DY yet"):
        pay(app, bill, subscriber_no="DY-1")


def test_a_payment_made_before_the_governorate_went_live_is_refused(app, register, refused, clock):
    register("DR-1", "SY-DR")  # Daraa is live from 2026-11-01
    app.enrol("DR-1", "CBS", "****4321")
    app.submit_reading("DR-1", 1400, FEB_20, "reader")
    bill = app.issue_bill("DR-1", "2026-C1")
    with refused(GovernorateNotLive, "E-payment started in governorate SY-DR on 2026-11-01"):
        pay(app, bill, subscriber_no="DR-1", paid_at=datetime(2026, 10, 31, 23, tzinfo=UTC))
    payment, created = pay(app, bill, subscriber_no="DR-1", paid_at=datetime(2026, 11, 1, 8, tzinfo=UTC))
    assert created and payment["status"] == "received"


@pytest.mark.parametrize("amount", ["0.00", "-5.00", "12.345", "abc", "NaN", 10.0])
def test_a_payment_amount_that_is_not_positive_money_is_refused(app, bill, refused, amount):
    with refused(InvalidAmount):
        pay(app, bill, amount=amount)


def test_a_payment_dated_in_the_future_or_without_a_timezone_is_refused(app, bill, refused, clock):
    with refused(InvalidInput, "lies in the future"):
        pay(app, bill, paid_at=clock.now + timedelta(hours=1))
    with refused(InvalidInput, "must carry a timezone"):
        pay(app, bill, paid_at=datetime(2026, 3, 1, 10))


def test_a_payment_through_an_unknown_channel_is_refused(app, bill, refused):
    with refused(InvalidInput, "Channel 'fax' is not one of web, app, branch, hub"):
        pay(app, bill, channel="fax")


def test_a_payment_for_an_unknown_bill_or_subscriber_is_refused(app, bill, refused):
    with refused(UnknownBill, "DI-1 has no bill DI-1-2026-C2"):
        pay(app, {"bill_id": "DI-1-2026-C2"})
    with refused(UnknownSubscriber, "There is no subscriber DI-9"):
        pay(app, bill, subscriber_no="DI-9")


def test_a_reversal_frees_the_outstanding_and_happens_only_once(app, bill, refused, events_of):
    pay(app, bill, "TX1", "3200.00")
    with refused(Overpayment):
        pay(app, bill, "TX2", "0.01")
    reversed_ = app.reverse_payment("CBS", "TX1", "customer dispute")
    assert (reversed_["status"], reversed_["reversal_reason"]) == ("reversed", "customer dispute")
    assert type(events_of("DI-1")[-1]).__name__ == "PaymentReversed"
    after = app.bill("DI-1", bill["bill_id"])
    assert (after["paid"], after["outstanding"], after["status"]) == (Decimal("0.00"), Decimal("3200.00"), "unpaid")
    assert app.subscriber("DI-1")["balance"]["paid"] == Decimal("0.00")
    with refused(PaymentAlreadyReversed, "TX1 of CBS was already reversed"):
        app.reverse_payment("CBS", "TX1", "again")
    assert pay(app, bill, "TX2", "3200.00")[1] is True


def test_a_payment_replayed_after_its_reversal_answers_as_the_first_time_and_changes_nothing(app, bill):
    original, _ = pay(app, bill)
    app.reverse_payment("CBS", "TX1", "duplicate debit")
    before = app.recorder.max_notification_id()
    assert pay(app, bill) == (original, False)
    assert app.recorder.max_notification_id() == before
    assert app.payment("CBS", "TX1")["status"] == "reversed"
    assert app.bill("DI-1", bill["bill_id"])["paid"] == Decimal("0.00")


def test_a_payment_replayed_after_it_cleared_answers_as_the_first_time(app, bill):
    original, _ = pay(app, bill)
    app.settle("CBS", "S1", PAID_AT.date(), ["TX1"], "1000.00")
    assert pay(app, bill) == (original, False)
    assert app.payment("CBS", "TX1")["status"] == "cleared"


def test_a_reversal_needs_a_known_payment_and_a_reason(app, bill, refused):
    with refused(UnknownPayment, "CBS has no payment with reference TX404"):
        app.reverse_payment("CBS", "TX404", "why")
    pay(app, bill)
    with refused(UnknownPayment, "REB has no payment with reference TX1"):
        app.reverse_payment("REB", "TX1", "wrong bank")
    with refused(InvalidInput, "A reversal needs a reason"):
        app.reverse_payment("CBS", "TX1", " ")


def test_a_reference_held_by_another_subscriber_is_a_conflict_before_anything_else(app, bill, register, refused):
    register("DI-2")
    app.enrol("DI-2", "REB", "****1111")
    app.submit_reading("DI-2", 1400, FEB_20, "reader")
    other = app.issue_bill("DI-2", "2026-C1")
    pay(app, bill)
    for wrong in ({"fee": "5.00"}, {"amount": "9999.00"}, {"bank": "CBS"}):
        with refused(PaymentRefConflict, "already used for another subscriber's payment"):
            pay(app, other, **{"subscriber_no": "DI-2", "bank": "CBS", **wrong})
