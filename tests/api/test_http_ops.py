"""Operations: liveness without a token, metrics for staff, the OpenAPI document, and the offline docs page."""

from __future__ import annotations

import re

import pytest
from http_world import is_problem

CONTRACT = {
    ("post", "/v1/subscribers"),
    ("get", "/v1/subscribers/{subscriber_no}"),
    ("post", "/v1/subscribers/{subscriber_no}/enrolments"),
    ("post", "/v1/subscribers/{subscriber_no}/readings"),
    ("get", "/v1/subscribers/{subscriber_no}/readings"),
    ("post", "/v1/subscribers/{subscriber_no}/bills"),
    ("get", "/v1/subscribers/{subscriber_no}/bills"),
    ("get", "/v1/subscribers/{subscriber_no}/bills/{bill_id}"),
    ("post", "/v1/subscribers/{subscriber_no}/bills/{bill_id}/adjustments"),
    ("post", "/v1/subscribers/{subscriber_no}/meter-replacements"),
    ("post", "/v1/subscribers/{subscriber_no}/readings/{reading_id}/review"),
    ("post", "/v1/billing-runs"),
    ("post", "/v1/payments"),
    ("get", "/v1/payments/{bank}/{payment_ref}"),
    ("post", "/v1/payments/{bank}/{payment_ref}/reversal"),
    ("post", "/v1/settlements"),
    ("get", "/v1/governorates"),
    ("get", "/v1/governorates/{code}"),
    ("post", "/v1/governorates/{code}/e-payment"),
    ("get", "/healthz"),
    ("get", "/metrics"),
}


def test_healthz_needs_no_token_and_checks_the_store(api):
    response = api.get("/healthz", role=None)
    assert response.status_code == 200 and response.json["status"] == "ok"
    assert response.json["last_position"] >= 14  # the governorates are listed at start


def test_metrics_are_for_staff_in_prometheus_text(api):
    api.get("/v1/governorates")
    api.get("/v1/governorates/SY-DI")
    api.get("/v1/nowhere")
    assert is_problem(api.get("/metrics", role=None), 401)
    assert is_problem(api.get("/metrics", role="auditor"), 403)
    response = api.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.text
    assert 'ledger_http_requests_total{method="GET",route="/v1/governorates",status="200"} 1.0' in text
    assert 'ledger_http_requests_total{method="GET",route="/v1/governorates/{code}",status="200"} 1.0' in text
    assert 'ledger_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text


@pytest.mark.parametrize("role", ["staff", "auditor", "portal", "bank:CBS"])
def test_the_openapi_document_lists_every_route_of_the_contract(api, role):
    spec = api.get("/openapi.json", role=role).json
    assert spec["openapi"].startswith("3.")
    operations = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert operations >= CONTRACT
    payment = spec["paths"]["/v1/payments"]["post"]
    assert payment["x-roles"] == ["bank"] and set(payment["responses"]) >= {"201", "200", "401", "403", "409", "422"}
    problem = spec["components"]["responses"]["UNAUTHORIZED"]["content"]
    assert list(problem) == ["application/problem+json"]
    amount = spec["components"]["schemas"]["PaymentSubmission"]["properties"]["amount"]
    assert amount["type"] == "string" and amount["pattern"]


def test_the_openapi_document_needs_a_token(api):
    assert is_problem(api.get("/openapi.json", role=None), 401)


def test_the_docs_page_is_served_offline_with_a_strict_policy(api):
    page = api.get("/docs", role=None)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert not re.search(r"(src|href)=\"https?://", html)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-eval" not in policy
    for asset in re.findall(r"(?:src|href)=\"(/docs/[^\"]+)\"", html):
        assert api.get(asset, role=None).status_code == 200, asset
