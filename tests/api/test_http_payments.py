"""Payments over HTTP: applied once whatever the retries, never beyond the bill, and only by the bank itself."""

from __future__ import annotations

import pytest
from http_world import BILL_ID, PAID_AT, is_problem


def test_a_payment_is_created_once_and_a_replay_answers_the_original_body(any_api):
    any_api.billed()
    first = any_api.pay("1000.00")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    payment = first.json
    assert (payment["payment_ref"], payment["bank"], payment["amount"], payment["status"]) == (
        "TX1",
        "CBS",
        "1000.00",
        "received",
    )
    assert payment["paid_at"] == PAID_AT and payment["settlement_ref"] is None
    before = any_api.events()
    replay = any_api.pay("1000.00")
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json == payment
    assert any_api.events() == before


def test_a_replay_after_clearing_still_answers_the_original_body(api):
    api.billed()
    original = api.pay("1000.00").json
    api.post(
        "/v1/settlements",
        {"settlement_ref": "S1", "business_date": "2026-11-11", "payment_refs": ["TX1"], "total": "1000.00"},
        role="bank:CBS",
    )
    assert api.pay("1000.00").json == original
    assert api.get("/v1/payments/CBS/TX1").json["status"] == "cleared"


def test_the_same_reference_with_other_content_is_a_conflict(any_api):
    any_api.billed()
    any_api.pay("1000.00")
    before = any_api.events()
    assert is_problem(any_api.pay("1000.01"), 409, "payment-ref-conflict")
    assert is_problem(any_api.pay("1000.00", channel="app"), 409, "payment-ref-conflict")
    assert any_api.events() == before


def test_the_same_reference_at_another_bank_is_another_payment(api):
    api.billed()
    api.post("/v1/subscribers/DI-1/enrolments", {"account_ref": "****1111"}, role="bank:REB")
    assert api.pay("1000.00", ref="TX1", role="bank:CBS").status_code == 201
    assert api.pay("1000.00", ref="TX1", role="bank:REB").status_code == 201


def test_an_overpayment_is_refused_and_the_bill_is_never_paid_beyond_its_amount(any_api):
    any_api.billed()
    assert any_api.pay("3000.00", ref="TX1").status_code == 201
    before = any_api.events()
    problem = any_api.pay("200.01", ref="TX2")
    assert is_problem(problem, 422, "overpayment")
    assert any_api.events() == before
    assert any_api.pay("200.00", ref="TX3").status_code == 201
    bill = any_api.get(f"/v1/subscribers/DI-1/bills/{BILL_ID}").json
    assert (bill["paid"], bill["outstanding"], bill["status"]) == ("3200.00", "0.00", "paid")


def test_a_payment_carrying_a_fee_is_refused(api):
    api.billed()
    assert is_problem(api.pay("1000.00", fee="10.00"), 422, "fee-not-allowed")
    assert api.pay("1000.00", ref="TX2", fee="0.00").status_code == 201
    assert api.pay("1000.00", ref="TX3", fee=None).status_code == 201


@pytest.mark.parametrize(
    "overrides,status,rule",
    [
        ({"amount": 1000}, 422, "validation-failed"),
        ({"amount": "0.00"}, 422, "invalid-amount"),
        ({"amount": "-5.00"}, 422, "validation-failed"),
        ({"channel": "atm"}, 422, "validation-failed"),
        ({"paid_at": "2030-01-01T00:00:00Z"}, 422, "invalid-input"),
        ({"bill_id": "DI-1-2026-C4"}, 404, "unknown-bill"),
        ({"subscriber_no": "DI-404"}, 404, "unknown-subscriber"),
        ({"bank": "REB"}, 422, "validation-failed"),
    ],
)
def test_a_bad_payment_is_refused_and_stores_nothing(api, overrides, status, rule):
    api.billed()
    before = api.events()
    assert is_problem(api.pay(**{"amount": "1000.00", **overrides}), status, rule)
    assert api.events() == before


def test_a_bank_cannot_pay_for_a_subscriber_not_enrolled_with_it(api):
    api.billed(bank="CBS")
    assert is_problem(api.pay("1000.00", role="bank:REB"), 403, "not-enrolled")


def test_a_payment_in_a_governorate_not_yet_live_is_refused(api):
    api.register("DY-1", governorate="SY-DY")
    api.post("/v1/subscribers/DY-1/enrolments", {"bank": "CBS", "account_ref": "****4321"})
    api.post(
        "/v1/subscribers/DY-1/readings", {"reading_kwh": 1400, "read_at": "2026-10-28T09:00:00Z", "source": "reader"}
    )
    api.post("/v1/subscribers/DY-1/bills", {"cycle": "2026-C5"})
    response = api.pay("100.00", subscriber_no="DY-1", bill_id="DY-1-2026-C5")
    assert is_problem(response, 422, "governorate-not-live")


@pytest.mark.parametrize("role", ["staff", "auditor", "portal"])
def test_only_banks_post_payments(api, role):
    api.billed()
    assert is_problem(api.pay("1000.00", role=role), 403, "role-not-allowed")


@pytest.mark.parametrize(
    "role,status", [("bank:CBS", 200), ("staff", 200), ("auditor", 200), ("bank:REB", 403), ("portal", 403)]
)
def test_who_may_look_a_payment_up(api, role, status):
    api.billed()
    api.pay("1000.00")
    response = api.get("/v1/payments/CBS/TX1", role=role)
    assert response.status_code == status
    if status == 200:
        assert response.json["status"] == "received" and response.json["subscriber_no"] == "DI-1"


def test_an_unknown_payment_or_bank_is_not_found(api):
    assert is_problem(api.get("/v1/payments/CBS/NOPE", role="bank:CBS"), 404, "unknown-payment")
    assert is_problem(api.get("/v1/payments/XYZ/TX1"), 404, "not-found")


def test_a_bank_reverses_its_payment_once(any_api):
    any_api.billed()
    any_api.pay("1000.00")
    reversed_ = any_api.post("/v1/payments/CBS/TX1/reversal", {"reason": "Debit failed"}, role="bank:CBS")
    assert reversed_.status_code == 200 and reversed_.json["status"] == "reversed"
    assert any_api.get(f"/v1/subscribers/DI-1/bills/{BILL_ID}").json["paid"] == "0.00"
    before = any_api.events()
    again = any_api.post("/v1/payments/CBS/TX1/reversal", {"reason": "Debit failed"}, role="bank:CBS")
    assert is_problem(again, 409, "payment-already-reversed")
    assert any_api.events() == before


def test_staff_may_reverse_but_another_bank_or_the_auditor_may_not(api):
    api.billed()
    api.pay("1000.00")
    assert is_problem(api.post("/v1/payments/CBS/TX1/reversal", {"reason": "x"}, role="bank:REB"), 403, "wrong-bank")
    assert is_problem(api.post("/v1/payments/CBS/TX1/reversal", {"reason": "x"}, role="auditor"), 403)
    assert is_problem(api.post("/v1/payments/CBS/TX1/reversal", {}, role="staff"), 422)
    assert api.post("/v1/payments/CBS/TX1/reversal", {"reason": "Customer complaint"}).status_code == 200


def test_reversing_an_unknown_payment_is_not_found(api):
    assert is_problem(api.post("/v1/payments/CBS/NOPE/reversal", {"reason": "x"}, role="bank:CBS"), 404)


def test_metrics_count_accepted_replayed_conflicting_and_refused_payments(api):
    api.billed()
    api.pay("1000.00")
    api.pay("1000.00")
    api.pay("999.00")
    api.pay("9999.00", ref="TX2")
    text = api.get("/metrics").get_data(as_text=True)
    for outcome in ("accepted", "replayed", "conflict", "rejected"):
        assert f'ledger_payments_total{{outcome="{outcome}"}} 1.0' in text
    assert 'ledger_refusals_total{rule="overpayment",status="422"} 1.0' in text
    assert 'ledger_http_requests_total{method="POST",route="/v1/payments",status="201"} 1.0' in text
    assert "ledger_http_request_duration_seconds_bucket" in text
