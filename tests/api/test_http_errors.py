"""Every refusal is application/problem+json, says why, and changes nothing in the ledger."""

from __future__ import annotations

import pytest
from http_world import BILL_ID, is_problem

REGISTRATION = {
    "subscriber_no": "DI-9",
    "governorate": "SY-DI",
    "category": "residential",
    "meter_no": "M-9",
    "initial_reading_kwh": 0,
    "name": "Lina",
}

# (method, path, role, keyword arguments for the test client, status, rule)
BAD_REQUESTS = [
    ("GET", "/v1/subscribers/DI-1", None, {}, 401, "unauthenticated"),
    ("GET", "/v1/subscribers/DI-1", None, {"headers": {"Authorization": "Bearer nope"}}, 401, "unauthenticated"),
    ("GET", "/v1/subscribers/DI-1", None, {"headers": {"Authorization": "Basic c3RhZmY6eA=="}}, 401, "unauthenticated"),
    ("POST", "/v1/subscribers", "portal", {"json": REGISTRATION}, 403, "role-not-allowed"),
    ("POST", "/v1/subscribers", "bank:CBS", {"json": REGISTRATION}, 403, "role-not-allowed"),
    ("GET", "/v1/no-such-route", "staff", {}, 404, "not-found"),
    ("GET", "/v1/subscribers/NOBODY", "staff", {}, 404, "unknown-subscriber"),
    ("GET", f"/v1/subscribers/DI-1/bills/{BILL_ID}-X", "staff", {}, 404, "unknown-bill"),
    ("DELETE", "/v1/subscribers/DI-1", "staff", {}, 405, "method-not-allowed"),
    ("POST", "/v1/subscribers", "staff", {"data": "subscriber_no=DI-9"}, 415, "unsupported-media-type"),
    ("POST", "/v1/subscribers", "staff", {"data": "{}", "content_type": "text/plain"}, 415, "unsupported-media-type"),
    (
        "POST",
        "/v1/subscribers",
        "staff",
        {"data": "{not json", "content_type": "application/json"},
        400,
        "malformed-json",
    ),
    (
        "POST",
        "/v1/subscribers",
        "staff",
        {"data": b"\xff\xfe", "content_type": "application/json"},
        400,
        "malformed-json",
    ),
    ("POST", "/v1/subscribers", "staff", {"json": [REGISTRATION]}, 422, "validation-failed"),
    ("POST", "/v1/subscribers", "staff", {"json": {**REGISTRATION, "colour": "red"}}, 422, "validation-failed"),
    (
        "POST",
        "/v1/subscribers",
        "staff",
        {"json": {**REGISTRATION, "initial_reading_kwh": 1.5}},
        422,
        "validation-failed",
    ),
    (
        "POST",
        "/v1/subscribers",
        "staff",
        {"json": {**REGISTRATION, "initial_reading_kwh": True}},
        422,
        "validation-failed",
    ),
    ("POST", "/v1/subscribers", "staff", {"json": {**REGISTRATION, "governorate": "SY-XX"}}, 422, "validation-failed"),
    ("POST", "/v1/subscribers", "staff", {"json": {}}, 422, "validation-failed"),
    ("POST", "/v1/subscribers", "staff", {"data": "", "content_type": "application/json"}, 422, "validation-failed"),
    (
        "POST",
        "/v1/payments",
        "bank:CBS",
        {
            "json": {
                "payment_ref": "T9",
                "subscriber_no": "DI-1",
                "bill_id": BILL_ID,
                "amount": 3200.0,
                "channel": "web",
                "paid_at": "2026-11-10T10:00:00Z",
            }
        },
        422,
        "validation-failed",
    ),
    (
        "POST",
        "/v1/payments",
        "bank:CBS",
        {
            "json": {
                "payment_ref": "T9",
                "subscriber_no": "DI-1",
                "bill_id": BILL_ID,
                "amount": "100.00",
                "channel": "web",
                "paid_at": "2026-11-10T10:00:00",
            }
        },
        422,
        "validation-failed",
    ),
]


@pytest.mark.parametrize(("method", "path", "role", "kwargs", "status", "rule"), BAD_REQUESTS)
def test_a_bad_request_is_a_problem_and_changes_nothing(api, method, path, role, kwargs, status, rule):
    api.billed()
    before = api.events()
    response = api.call(method, path, role, **kwargs)
    assert is_problem(response, status, rule)
    assert api.events() == before


def test_validation_problems_name_each_field(api):
    body = {**REGISTRATION, "colour": "red", "initial_reading_kwh": -1}
    problem = api.post("/v1/subscribers", body).json
    assert set(problem["errors"]) == {"colour", "initial_reading_kwh"}
    assert problem["title"] == "Validation failed"


def test_money_as_a_float_is_refused_with_a_message_about_strings(api):
    api.billed()
    problem = api.pay(amount=1000.5).json
    assert problem["status"] == 422 and "string" in problem["errors"]["amount"][0]
    assert api.pay(amount=1000).status_code == 422  # JSON numbers of any kind: clients cannot tell ints from floats


def test_money_with_more_than_two_places_is_refused(api):
    api.billed()
    assert is_problem(api.pay(amount="10.001"), 422, "validation-failed")


def test_a_body_above_one_mebibyte_is_refused_with_413(api):
    before = api.events()
    big = '{"name": "' + "x" * (1024 * 1024) + '"}'
    response = api.call("POST", "/v1/subscribers", "staff", data=big, content_type="application/json")
    assert is_problem(response, 413, "body-too-large")
    assert api.events() == before


def test_a_missing_token_is_answered_with_a_bearer_challenge(api):
    response = api.get("/v1/governorates", role=None)
    assert is_problem(response, 401) and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unexpected_error_is_still_a_problem_500(api, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api.ledger, "governorates", broken)
    response = api.get("/v1/governorates")
    assert is_problem(response, 500, "internal-error")
    assert "a bug" not in response.json["detail"]


def test_a_database_outage_is_a_problem_503(api, monkeypatch):
    from eventsourcing.persistence import OperationalError

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(api.ledger.recorder, "max_notification_id", down)
    response = api.get("/healthz", role=None)
    assert is_problem(response, 503, "database-unavailable") and response.headers["Retry-After"]


def test_every_answer_carries_security_headers_and_api_answers_are_not_cached(api):
    for response in (api.get("/v1/governorates"), api.get("/nowhere"), api.get("/healthz", role=None)):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"
