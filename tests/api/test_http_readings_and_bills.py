"""Readings, bills, adjustments and billing runs over HTTP, with who may submit which reading source."""

from __future__ import annotations

import pytest
from http_world import BILL_ID, READ_AT, is_problem, utc


def reading(kwh: int = 1400, source: str = "reader", read_at: str = READ_AT) -> dict:
    return {"reading_kwh": kwh, "read_at": read_at, "source": source}


@pytest.mark.parametrize(
    "role,source,status",
    [
        ("portal", "self", 201),
        ("staff", "reader", 201),
        ("staff", "estimated", 201),
        ("portal", "reader", 403),
        ("portal", "estimated", 403),
        ("staff", "self", 403),
    ],
)
def test_who_may_submit_which_reading_source(api, role, source, status):
    api.register("DI-1")
    before = api.events()
    response = api.post("/v1/subscribers/DI-1/readings", reading(source=source), role=role)
    assert response.status_code == status
    if status == 403:
        assert is_problem(response, 403, "reading-source-not-allowed")
        assert api.events() == before


def test_a_reading_is_answered_with_its_consumption_in_utc(api):
    api.register("DI-1")
    answer = api.post("/v1/subscribers/DI-1/readings", reading(read_at="2026-10-28T12:00:00+03:00")).json
    assert answer["consumption_kwh"] == 400 and answer["flagged"] is False
    assert answer["read_at"] == "2026-10-28T09:00:00Z" and answer["reading_id"]


def test_a_reading_below_the_last_is_refused(api):
    api.register("DI-1")
    response = api.post("/v1/subscribers/DI-1/readings", reading(kwh=999))
    assert is_problem(response, 422, "reading-went-backwards")


def test_a_reading_in_the_future_is_refused(api):
    api.register("DI-1")
    assert is_problem(api.post("/v1/subscribers/DI-1/readings", reading(read_at="2030-01-01T00:00:00Z")), 422)


def test_a_reading_without_a_timezone_is_refused(api):
    api.register("DI-1")
    response = api.post("/v1/subscribers/DI-1/readings", reading(read_at="2026-10-28T09:00:00"))
    assert is_problem(response, 422, "validation-failed") and "read_at" in response.json["errors"]


def test_readings_are_listed_for_staff_auditors_and_the_portal(api):
    api.register("DI-1")
    api.post("/v1/subscribers/DI-1/readings", reading())
    for role in ("staff", "auditor", "portal"):
        listed = api.get("/v1/subscribers/DI-1/readings", role=role).json
        assert listed["next_cursor"] is None and [r["reading_kwh"] for r in listed["items"]] == [1400]
    assert api.get("/v1/subscribers/DI-1/readings", role="bank:CBS").status_code == 403


def test_staff_review_a_flagged_reading_and_then_it_is_billed(api):
    api.register("DI-1")
    flagged = api.post("/v1/subscribers/DI-1/readings", reading(kwh=500000)).json
    assert flagged["flagged"] is True
    assert is_problem(api.post("/v1/subscribers/DI-1/bills", {"cycle": "2026-C5"}), 422, "nothing-to-bill")
    reviewed = api.post(
        f"/v1/subscribers/DI-1/readings/{flagged['reading_id']}/review", {"accepted": True, "note": "Checked on site"}
    )
    assert reviewed.status_code == 200 and reviewed.json["flagged"] is False
    assert reviewed.json["review"] == "accepted"
    assert api.post("/v1/subscribers/DI-1/bills", {"cycle": "2026-C5"}).json["kwh"] == 499000


def test_a_bill_has_the_contract_fields_with_money_as_strings(any_api):
    bill = any_api.billed()
    assert bill["bill_id"] == BILL_ID and bill["cycle"] == "2026-C5" and bill["kwh"] == 400
    assert (bill["amount"], bill["paid"], bill["outstanding"], bill["status"]) == (
        "3200.00",
        "0.00",
        "3200.00",
        "unpaid",
    )
    assert (bill["period_start"], bill["period_end"], bill["due_date"]) == ("2026-09-01", "2026-10-31", "2026-12-20")
    assert bill["tariff_version"] and bill["unit"] == "SYP" and utc(bill["issued_at"]).tzinfo is not None
    assert [line["block"] for line in bill["lines"]] == ["1-300", "301+"]
    assert all(isinstance(value, str) for line in bill["lines"] for value in line.values())
    assert set(bill["lines"][0]) == {"tariff_version", "from", "to", "block", "kwh", "price", "amount", "unit"}


def test_billing_a_cycle_twice_is_a_conflict(api):
    api.billed()
    before = api.events()
    assert is_problem(api.post("/v1/subscribers/DI-1/bills", {"cycle": "2026-C5"}), 409, "bill-already-issued")
    assert api.events() == before


@pytest.mark.parametrize("cycle", ["2026-C7", "2026-5", "C5", "2027-C1"])
def test_a_bad_or_future_cycle_is_refused(api, cycle):
    api.register("DI-1")
    api.post("/v1/subscribers/DI-1/readings", reading())
    assert is_problem(api.post("/v1/subscribers/DI-1/bills", {"cycle": cycle}), 422)


@pytest.mark.parametrize("role", ["staff", "auditor", "portal", "bank:CBS"])
def test_bills_are_listed_with_a_status_filter(api, role):
    api.billed()
    listed = api.get("/v1/subscribers/DI-1/bills", role=role).json
    assert [b["bill_id"] for b in listed["items"]] == [BILL_ID] and listed["next_cursor"] is None
    assert api.get("/v1/subscribers/DI-1/bills?status=paid", role=role).json["items"] == []
    assert len(api.get("/v1/subscribers/DI-1/bills?status=unpaid", role=role).json["items"]) == 1
    assert api.get(f"/v1/subscribers/DI-1/bills/{BILL_ID}", role=role).json["bill_id"] == BILL_ID


def test_an_unknown_status_filter_is_refused(api):
    api.billed()
    assert is_problem(api.get("/v1/subscribers/DI-1/bills?status=overdue"), 422, "validation-failed")


def test_only_staff_issue_bills(api):
    api.register("DI-1")
    for role in ("portal", "auditor", "bank:CBS"):
        assert is_problem(api.post("/v1/subscribers/DI-1/bills", {"cycle": "2026-C5"}, role=role), 403)


def test_staff_adjust_a_bill_with_a_signed_amount_and_a_reason(api):
    api.billed()
    credit = api.post(
        f"/v1/subscribers/DI-1/bills/{BILL_ID}/adjustments", {"amount": "-200.00", "reason": "Meter misread"}
    )
    assert credit.status_code == 201
    assert (credit.json["amount"], credit.json["adjusted"], credit.json["outstanding"]) == (
        "3200.00",
        "-200.00",
        "3000.00",
    )


def test_an_adjustment_below_what_was_paid_is_refused(api):
    api.billed()
    api.pay("3000.00")
    response = api.post(f"/v1/subscribers/DI-1/bills/{BILL_ID}/adjustments", {"amount": "-500.00", "reason": "Credit"})
    assert is_problem(response, 422, "adjustment-too-large")


def test_an_adjustment_of_a_float_or_without_reason_is_refused(api):
    api.billed()
    path = f"/v1/subscribers/DI-1/bills/{BILL_ID}/adjustments"
    assert is_problem(api.post(path, {"amount": -200.0, "reason": "x"}), 422)
    assert is_problem(api.post(path, {"amount": "-200.00"}), 422)
    assert is_problem(api.post(path, {"amount": "-200.00", "reason": "x"}, role="bank:CBS"), 403)


def test_a_billing_run_bills_the_due_and_skips_the_rest_and_can_run_again(any_api):
    for no in ("DI-1", "DI-2", "DI-3"):
        any_api.register(no)
    for no in ("DI-1", "DI-2"):
        any_api.post(f"/v1/subscribers/{no}/readings", reading())
    any_api.register("HL-1", governorate="SY-HL")
    any_api.post("/v1/subscribers/HL-1/readings", reading())
    first = any_api.post("/v1/billing-runs", {"cycle": "2026-C5", "governorate": "SY-DI"})
    assert first.status_code == 200
    assert (first.json["issued"], first.json["skipped"], first.json["no_new_reading"]) == (2, 1, 1)
    again = any_api.post("/v1/billing-runs", {"cycle": "2026-C5", "governorate": "SY-DI"}).json
    assert (again["issued"], again["already_billed"]) == (0, 2)
    everywhere = any_api.post("/v1/billing-runs", {"cycle": "2026-C5"}).json
    assert everywhere["issued"] == 1 and everywhere["governorate"] is None


def test_a_billing_run_is_for_staff_only_and_needs_a_valid_cycle(api):
    assert is_problem(api.post("/v1/billing-runs", {"cycle": "2026-C5"}, role="auditor"), 403)
    assert is_problem(api.post("/v1/billing-runs", {"cycle": "next"}), 422)
    assert is_problem(api.post("/v1/billing-runs", {"cycle": "2026-C5", "governorate": "SY-XX"}), 422)
