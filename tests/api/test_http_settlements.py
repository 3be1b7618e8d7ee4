"""Settlements over HTTP: a bank clears its payments once and gets a reconciliation report."""

from __future__ import annotations

import pytest
from http_world import is_problem


def settlement(refs: list, total: str = "1000.00", ref: str = "CBS-2026-11-11") -> dict:
    return {"settlement_ref": ref, "business_date": "2026-11-11", "payment_refs": refs, "total": total}


def test_a_settlement_clears_payments_and_reports_matched_unknown_and_mismatched(any_api):
    any_api.billed()
    any_api.pay("1000.00", ref="TX1")
    any_api.pay("500.00", ref="TX2")
    body = settlement(["TX1", {"payment_ref": "TX2", "amount": "400.00"}, "NOPE"], total="1500.00")
    response = any_api.post("/v1/settlements", body, role="bank:CBS")
    assert response.status_code == 201
    report = response.json
    assert report["matched"] == ["TX1"] and report["unknown"] == ["NOPE"]
    assert report["mismatched"] == [{"payment_ref": "TX2", "reason": "amount_mismatch"}]
    assert (report["total"], report["matched_total"], report["difference"]) == ("1500.00", "1000.00", "500.00")
    assert any_api.get("/v1/payments/CBS/TX1").json["status"] == "cleared"
    assert any_api.get("/v1/payments/CBS/TX1").json["settlement_ref"] == "CBS-2026-11-11"


def test_the_same_settlement_again_answers_the_first_report_and_changes_nothing(any_api):
    any_api.billed()
    any_api.pay("1000.00")
    first = any_api.post("/v1/settlements", settlement(["TX1"]), role="bank:CBS")
    before = any_api.events()
    again = any_api.post("/v1/settlements", settlement(["TX1"]), role="bank:CBS")
    assert again.status_code == 200 and again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert any_api.events() == before


def test_another_settlement_under_the_same_reference_is_a_conflict(api):
    api.billed()
    api.pay("1000.00")
    api.post("/v1/settlements", settlement(["TX1"]), role="bank:CBS")
    response = api.post("/v1/settlements", settlement(["TX1"], total="999.00"), role="bank:CBS")
    assert is_problem(response, 409, "settlement-ref-conflict")


def test_a_bank_settles_only_its_own_payments(api):
    api.billed()
    api.pay("1000.00")
    report = api.post("/v1/settlements", settlement(["TX1"], ref="REB-1"), role="bank:REB").json
    assert report["unknown"] == ["TX1"] and report["bank"] == "REB"
    assert api.get("/v1/payments/CBS/TX1").json["status"] == "received"


@pytest.mark.parametrize("role", ["staff", "auditor", "portal"])
def test_only_banks_settle(api, role):
    assert is_problem(api.post("/v1/settlements", settlement(["TX1"]), role=role), 403, "role-not-allowed")


@pytest.mark.parametrize(
    "change",
    [
        {"total": 1000.0},
        {"payment_refs": []},
        {"payment_refs": [7]},
        {"payment_refs": [{"ref": "TX1"}]},
        {"business_date": "11/11/2026"},
        {"payment_refs": ["TX1", "TX1"]},
        {"extra": True},
    ],
)
def test_a_malformed_settlement_is_refused(api, change):
    api.billed()
    api.pay("1000.00")
    before = api.events()
    assert is_problem(api.post("/v1/settlements", {**settlement(["TX1"]), **change}, role="bank:CBS"), 422)
    assert api.events() == before
