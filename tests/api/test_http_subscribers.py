"""Subscribers over HTTP: registration, profile and balance, enrolment (staff or the bank itself), meters."""

from __future__ import annotations

import pytest
from http_world import is_problem


def test_staff_register_a_subscriber_and_see_its_profile(any_api):
    created = any_api.register("DI-1")
    assert created.status_code == 201
    profile = any_api.get("/v1/subscribers/DI-1").json
    assert profile == created.json
    assert {"subscriber_no", "governorate", "category", "meter_no", "last_reading_kwh", "balance"} <= set(profile)
    assert profile["balance"] == {
        "billed": "0.00",
        "paid": "0.00",
        "cleared": "0.00",
        "adjusted": "0.00",
        "outstanding": "0.00",
        "overdue": "0.00",
        "refunds_due": "0.00",
        "unit": "SYP",
    }
    assert profile["registered_at"].endswith("Z")


def test_registering_a_number_twice_is_a_conflict(any_api):
    any_api.register("DI-1")
    before = any_api.events()
    assert is_problem(any_api.register("DI-1"), 409, "subscriber-exists")
    assert any_api.events() == before


@pytest.mark.parametrize(
    "field,value",
    [
        ("subscriber_no", "DI 1"),
        ("subscriber_no", "DI/1"),
        ("category", "domestic"),
        ("initial_reading_kwh", -5),
        ("initial_reading_kwh", "100"),
        ("name", " "),
        ("meter_no", ""),
    ],
)
def test_a_registration_with_a_bad_field_is_refused(api, field, value):
    assert is_problem(api.register("DI-2", **{field: value}), 422, "validation-failed")
    assert field in api.register("DI-2", **{field: value}).json["errors"]


@pytest.mark.parametrize("role,status", [("staff", 200), ("auditor", 200), ("portal", 200), ("bank:CBS", 403)])
def test_who_may_read_a_profile(api, role, status):
    api.register("DI-1")
    assert api.get("/v1/subscribers/DI-1", role=role).status_code == status


def test_the_balance_follows_bills_and_payments(api):
    api.billed()
    api.pay("1000.00")
    balance = api.get("/v1/subscribers/DI-1").json["balance"]
    assert (balance["billed"], balance["paid"], balance["outstanding"]) == ("3200.00", "1000.00", "2200.00")


def test_staff_enrol_a_subscriber_with_a_named_bank(api):
    api.register("DI-1")
    response = api.post("/v1/subscribers/DI-1/enrolments", {"bank": "REB", "account_ref": "****1234"})
    assert response.status_code == 201
    assert response.json == {"subscriber_no": "DI-1", "bank": "REB", "account_ref": "****1234"}
    assert api.get("/v1/subscribers/DI-1").json["enrolments"][0]["bank"] == "REB"


def test_staff_must_name_the_bank(api):
    api.register("DI-1")
    problem = api.post("/v1/subscribers/DI-1/enrolments", {"account_ref": "****1234"})
    assert is_problem(problem, 422) and "bank" in problem.json["errors"]


def test_a_bank_enrols_with_itself_by_default(api):
    api.register("DI-1")
    response = api.post("/v1/subscribers/DI-1/enrolments", {"account_ref": "****9876"}, role="bank:HUB")
    assert response.status_code == 201 and response.json["bank"] == "HUB"
    same = api.post("/v1/subscribers/DI-1/enrolments", {"bank": "HUB", "account_ref": "****9876"}, role="bank:HUB")
    assert same.status_code == 201


def test_a_bank_cannot_enrol_a_subscriber_with_another_bank(api):
    api.register("DI-1")
    before = api.events()
    response = api.post("/v1/subscribers/DI-1/enrolments", {"bank": "CBS", "account_ref": "****9876"}, role="bank:REB")
    assert is_problem(response, 403, "wrong-bank")
    assert api.events() == before


def test_the_portal_cannot_enrol(api):
    api.register("DI-1")
    response = api.post("/v1/subscribers/DI-1/enrolments", {"bank": "CBS", "account_ref": "****9876"}, role="portal")
    assert is_problem(response, 403, "role-not-allowed")


def test_a_full_account_number_is_refused(api):
    api.register("DI-1")
    response = api.post("/v1/subscribers/DI-1/enrolments", {"bank": "CBS", "account_ref": "0123456789012"})
    assert is_problem(response, 422, "unmasked-account-reference")


def test_enrolling_an_unknown_subscriber_is_not_found(api):
    response = api.post("/v1/subscribers/DI-404/enrolments", {"bank": "CBS", "account_ref": "****1234"})
    assert is_problem(response, 404, "unknown-subscriber")


def test_staff_record_a_meter_replacement_and_billing_carries_the_old_meter(api):
    api.register("DI-1")
    replaced = api.post(
        "/v1/subscribers/DI-1/meter-replacements",
        {
            "old_final_reading_kwh": 1100,
            "new_meter_no": "M-NEW",
            "new_initial_reading_kwh": 0,
            "replaced_at": "2026-10-01T08:00:00+03:00",
        },
    )
    assert replaced.status_code == 201 and replaced.json["meter_no"] == "M-NEW"
    api.post(
        "/v1/subscribers/DI-1/readings", {"reading_kwh": 300, "read_at": "2026-10-28T09:00:00Z", "source": "reader"}
    )
    bill = api.post("/v1/subscribers/DI-1/bills", {"cycle": "2026-C5"}).json
    assert bill["kwh"] == 400 and bill["amount"] == "3200.00"


def test_a_meter_replacement_whose_final_reading_went_backwards_is_refused(api):
    api.register("DI-1")
    response = api.post(
        "/v1/subscribers/DI-1/meter-replacements",
        {
            "old_final_reading_kwh": 999,
            "new_meter_no": "M-NEW",
            "new_initial_reading_kwh": 0,
            "replaced_at": "2026-10-01T08:00:00Z",
        },
    )
    assert is_problem(response, 422, "reading-went-backwards")
