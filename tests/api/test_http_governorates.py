"""Governorates over HTTP: names in both languages, e-payment status, and rollout switches by staff."""

from __future__ import annotations

import pytest
from http_world import is_problem


@pytest.mark.parametrize("role", ["staff", "auditor", "portal", "bank:HUB"])
def test_every_role_lists_the_governorates(api, role):
    listed = api.get("/v1/governorates", role=role).json
    assert listed["next_cursor"] is None and len(listed["items"]) == 14
    damascus = next(g for g in listed["items"] if g["code"] == "SY-DI")
    assert (damascus["name_en"], damascus["name_ar"], damascus["e_payment"]) == ("Damascus", "دمشق", "live")
    assert damascus["live_since"] == "2025-01-01"
    statuses = {g["code"]: g["e_payment"] for g in listed["items"]}
    assert statuses["SY-DR"] == "live" and statuses["SY-DY"] == "not_live"


def test_one_governorate_and_an_unknown_code(api):
    assert api.get("/v1/governorates/SY-DY").json["live_since"] is None
    assert is_problem(api.get("/v1/governorates/SY-XX"), 404, "not-found")


def test_staff_switch_e_payment_on_and_the_rollout_is_recorded(any_api):
    switched = any_api.post("/v1/governorates/SY-DY/e-payment", {"live": True, "effective_from": "2026-11-15"})
    assert switched.status_code == 200
    assert (switched.json["e_payment"], switched.json["live_since"]) == ("live", "2026-11-15")
    assert switched.json["rollout"][-1]["effective_from"] == "2026-11-15"


def test_switching_on_from_a_future_date_is_not_live_yet(api):
    later = api.post("/v1/governorates/SY-DY/e-payment", {"live": True, "effective_from": "2027-01-01"}).json
    assert later["e_payment"] == "not_live" and later["live_since"] == "2027-01-01"


def test_only_staff_switch_e_payment_and_with_a_proper_body(api):
    body = {"live": True, "effective_from": "2026-11-15"}
    assert is_problem(api.post("/v1/governorates/SY-DY/e-payment", body, role="bank:CBS"), 403)
    assert is_problem(api.post("/v1/governorates/SY-DY/e-payment", {**body, "live": "yes"}), 422)
    assert is_problem(api.post("/v1/governorates/SY-ID/e-payment", {"live": False}), 422, "validation-failed")


def test_switching_off_where_it_is_already_off_changes_nothing(api):
    before = api.events()
    off = api.post("/v1/governorates/SY-ID/e-payment", {"live": False, "effective_from": "2026-11-15"})
    assert off.status_code == 200 and off.json["e_payment"] == "not_live"
    assert api.events() == before
