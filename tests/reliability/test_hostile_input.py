"""Hostile input: every such request is refused with a 4xx problem+json, carries the security headers, and changes
nothing in the store. Then the secrets: no token is ever logged or stored, account references in events are masked,
and there is no PIN anywhere (a body with `pin` is an unknown field). Runs on the Flask test client over SQLite.

The corpus: malformed and deeply nested JSON, huge bodies and numbers, NaN, floats and exponents for money, unicode
tricks in references (trailing newline, zero-width, full-width, Arabic-Indic digits, lone surrogates, NUL), SQL-looking
strings, path traversal, wrong content types, missing and forged tokens, and a bank acting for another bank.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from ledger import claims, governorate, settlements, subscriber
from tests.api.http_world import BILL_ID, PAID_AT, TOKENS, build_api, is_problem

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
MASKED = re.compile(r"\*{4,}[0-9A-Za-z]{0,4}")


def payment(ref: str, **overrides: Any) -> dict[str, Any]:
    return {
        "payment_ref": ref,
        "subscriber_no": "DI-1",
        "bill_id": BILL_ID,
        "amount": "10.00",
        "channel": "web",
        "paid_at": PAID_AT,
        **overrides,
    }


def raw(text: str | bytes, content_type: str = "application/json") -> dict[str, Any]:
    return {"data": text, "content_type": content_type}


def raw_payment(ref: str, replace: str, by: str) -> dict[str, Any]:
    """A payment whose JSON text has `replace` swapped for `by`, for what json.dumps would never write."""
    text = json.dumps(payment(ref))
    assert replace in text
    return raw(text.replace(replace, by))


REGISTRATION = {
    "subscriber_no": "DI-9",
    "governorate": "SY-DI",
    "category": "residential",
    "meter_no": "M-9",
    "initial_reading_kwh": 0,
    "name": "Lina",
}
FULL_ACCOUNT = "0123456789012345"

# (id, method, path, role, test client keyword arguments, status)
CORPUS = [
    # malformed and deeply nested JSON, huge bodies and numbers
    ("truncated-json", "POST", "/v1/payments", "bank:CBS", raw('{"payment_ref": "H1"'), 400),
    ("nested-arrays", "POST", "/v1/payments", "bank:CBS", raw("[" * 100_000 + "]" * 100_000), 400),
    ("nested-objects", "POST", "/v1/payments", "bank:CBS", raw('{"a":' * 50_000 + "1" + "}" * 50_000), 400),
    ("nested-in-a-field", "POST", "/v1/payments", "bank:CBS", {"json": payment("H2", amount=[[[["10.00"]]]])}, 422),
    ("body-over-1-mib", "POST", "/v1/payments", "bank:CBS", raw('{"x": "' + "x" * (1 << 20) + '"}'), 413),
    (
        "integer-of-5000-digits",
        "POST",
        "/v1/subscribers",
        "staff",
        raw(json.dumps(REGISTRATION).replace('"initial_reading_kwh": 0', '"initial_reading_kwh": ' + "9" * 5000)),
        400,
    ),
    (
        "kwh-beyond-range",
        "POST",
        "/v1/subscribers",
        "staff",
        {"json": {**REGISTRATION, "initial_reading_kwh": 10**30}},
        422,
    ),
    ("amount-of-13-digits", "POST", "/v1/payments", "bank:CBS", {"json": payment("H3", amount="9" * 13)}, 422),
    ("limit-of-50-digits", "GET", "/v1/subscribers?limit=" + "9" * 50, "staff", {}, 422),
    ("position-of-5000-digits", "GET", "/v1/subscribers/DI-1?as_of_position=" + "9" * 5000, "staff", {}, 422),
    ("instant-beyond-year-9999", "GET", "/v1/subscribers/DI-1?as_of=9999-12-31T23:59:59-14:00", "staff", {}, 422),
    (
        "settlement-of-100000-refs",
        "POST",
        "/v1/settlements",
        "bank:CBS",
        {
            "json": {
                "settlement_ref": "S1",
                "business_date": "2026-11-10",
                "payment_refs": ["T"] * 100_000,
                "total": "1.00",
            }
        },
        422,
    ),
    # NaN, floats and exponents for money
    ("nan-literal", "POST", "/v1/payments", "bank:CBS", raw_payment("H4", '"10.00"', "NaN"), 400),
    ("infinity-literal", "POST", "/v1/payments", "bank:CBS", raw_payment("H5", '"10.00"', "-Infinity"), 400),
    ("1e400-number", "POST", "/v1/payments", "bank:CBS", raw_payment("H6", '"10.00"', "1e400"), 422),
    ("float-amount", "POST", "/v1/payments", "bank:CBS", {"json": payment("H7", amount=10.0)}, 422),
    ("integer-amount", "POST", "/v1/payments", "bank:CBS", {"json": payment("H8", amount=10)}, 422),
    ("nan-string", "POST", "/v1/payments", "bank:CBS", {"json": payment("H9", amount="NaN")}, 422),
    ("exponent-string", "POST", "/v1/payments", "bank:CBS", {"json": payment("H10", amount="1e3")}, 422),
    ("three-places", "POST", "/v1/payments", "bank:CBS", {"json": payment("H11", amount="10.001")}, 422),
    ("negative-amount", "POST", "/v1/payments", "bank:CBS", {"json": payment("H12", amount="-10.00")}, 422),
    ("zero-amount", "POST", "/v1/payments", "bank:CBS", {"json": payment("H13", amount="0.00")}, 422),
    ("a-fee", "POST", "/v1/payments", "bank:CBS", {"json": payment("H14", fee="0.01")}, 422),
    ("arabic-indic-digits", "POST", "/v1/payments", "bank:CBS", {"json": payment("H15", amount="١٠.٠٠")}, 422),
    ("amount-with-newline", "POST", "/v1/payments", "bank:CBS", {"json": payment("H16", amount="10.00\n")}, 422),
    # unicode tricks in references
    ("ref-trailing-newline", "POST", "/v1/payments", "bank:CBS", {"json": payment("TX1\n")}, 422),
    ("ref-zero-width-space", "POST", "/v1/payments", "bank:CBS", {"json": payment("TX1\u200b")}, 422),
    ("ref-full-width", "POST", "/v1/payments", "bank:CBS", {"json": payment("ＴＸ１")}, 422),
    ("ref-right-to-left-override", "POST", "/v1/payments", "bank:CBS", {"json": payment("\u202eTX1")}, 422),
    ("ref-combining-mark", "POST", "/v1/payments", "bank:CBS", {"json": payment("TX1\u0301")}, 422),
    ("ref-nul", "POST", "/v1/payments", "bank:CBS", {"json": payment("TX1\x00")}, 422),
    ("ref-lone-surrogate", "POST", "/v1/payments", "bank:CBS", raw_payment("H17", '"H17"', '"H17\\ud800"'), 400),
    (
        "name-lone-surrogate",
        "POST",
        "/v1/subscribers",
        "staff",
        raw(json.dumps(REGISTRATION).replace('"Lina"', '"\\udfff"')),
        400,
    ),
    ("name-nul", "POST", "/v1/subscribers", "staff", {"json": {**REGISTRATION, "name": "Li\x00na"}}, 422),
    (
        "subscriber-no-trailing-newline",
        "POST",
        "/v1/subscribers",
        "staff",
        {"json": {**REGISTRATION, "subscriber_no": "DI-1\n"}},
        422,
    ),
    (
        "meter-no-trailing-newline",
        "POST",
        "/v1/subscribers",
        "staff",
        {"json": {**REGISTRATION, "meter_no": "M-9\n"}},
        422,
    ),
    (
        "reason-escape-sequence",
        "POST",
        "/v1/payments/CBS/TX1/reversal",
        "bank:CBS",
        {"json": {"reason": "\x1b[2J\x1b[31mcleared"}},
        422,
    ),
    (
        "utf-16-body",
        "POST",
        "/v1/payments",
        "bank:CBS",
        raw(json.dumps(payment("H18")).encode("utf-16"), "application/json; charset=utf-16"),
        400,
    ),
    ("invalid-utf-8", "POST", "/v1/payments", "bank:CBS", raw(b'{"payment_ref": "\xc3\x28"}'), 400),
    # SQL-looking strings
    ("sql-in-ref", "POST", "/v1/payments", "bank:CBS", {"json": payment("1'; DROP TABLE ledger_events;--")}, 422),
    (
        "sql-in-subscriber-no",
        "POST",
        "/v1/payments",
        "bank:CBS",
        {"json": payment("H19", subscriber_no="DI-1' OR '1'='1")},
        422,
    ),
    ("sql-in-bill-id", "POST", "/v1/payments", "bank:CBS", {"json": payment("H20", bill_id="x' OR 1=1 --")}, 404),
    ("sql-in-path", "GET", "/v1/subscribers/DI-1'%20OR%20'1'='1", "staff", {}, 404),
    ("sql-in-payment-path", "GET", "/v1/payments/CBS/1';DROP%20TABLE%20ledger_events;--", "bank:CBS", {}, 404),
    ("sql-in-cursor", "GET", "/v1/subscribers?cursor=%27%20OR%201=1--", "staff", {}, 422),
    (
        "sql-in-cycle",
        "POST",
        "/v1/billing-runs",
        "staff",
        {"json": {"cycle": "2026-C5' --", "governorate": "SY-DI"}},
        422,
    ),
    # path traversal
    ("traversal-docs-assets", "GET", "/docs/assets/../../../../etc/passwd", None, {}, 404),
    ("traversal-encoded", "GET", "/docs/assets/..%2f..%2f..%2f..%2fetc%2fpasswd", None, {}, 404),
    ("traversal-docs-static", "GET", "/docs/static/..%2f..%2fapp.py", None, {}, 404),
    ("traversal-in-subscriber", "GET", "/v1/subscribers/..%2f..%2fetc%2fpasswd", "staff", {}, 404),
    ("traversal-in-bank", "GET", "/v1/payments/..%2fCBS/TX1", "staff", {}, 404),
    # wrong content types
    ("text-plain", "POST", "/v1/payments", "bank:CBS", raw(json.dumps(payment("H21")), "text/plain"), 415),
    ("form-encoded", "POST", "/v1/payments", "bank:CBS", {"data": {"payment_ref": "H22"}}, 415),
    ("xml", "POST", "/v1/payments", "bank:CBS", raw("<payment ref='H23'/>", "application/xml"), 415),
    ("no-content-type", "POST", "/v1/payments", "bank:CBS", {"data": json.dumps(payment("H24"))}, 415),
    ("json-array-body", "POST", "/v1/payments", "bank:CBS", {"json": [payment("H25")]}, 422),
    ("json-string-body", "POST", "/v1/payments", "bank:CBS", {"json": "H26"}, 422),
    # missing and forged tokens
    ("no-token", "POST", "/v1/payments", None, {"json": payment("H27")}, 401),
    (
        "empty-bearer",
        "POST",
        "/v1/payments",
        None,
        {"json": payment("H28"), "headers": {"Authorization": "Bearer "}},
        401,
    ),
    (
        "forged-token",
        "POST",
        "/v1/payments",
        None,
        {"json": payment("H29"), "headers": {"Authorization": "Bearer cbs-token-forged"}},
        401,
    ),
    (
        "token-prefix",
        "POST",
        "/v1/payments",
        None,
        {"json": payment("H30"), "headers": {"Authorization": "Bearer cbs-toke"}},
        401,
    ),
    (
        "alg-none-jwt",
        "GET",
        "/v1/governorates",
        None,
        {"headers": {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJyb2xlIjoic3RhZmYifQ."}},
        401,
    ),
    (
        "basic-with-token",
        "GET",
        "/v1/governorates",
        None,
        {"headers": {"Authorization": "Basic Y2JzLXRva2VuOg=="}},
        401,
    ),
    ("token-in-query", "GET", "/v1/governorates?access_token=staff-token", None, {}, 401),
    ("non-latin-token", "GET", "/v1/governorates", None, {"headers": {"Authorization": "Bearer تجريبي"}}, 401),
    ("portal-posting-payment", "POST", "/v1/payments", "portal", {"json": payment("H31")}, 403),
    # a bank acting for another bank
    ("bank-for-unenrolled", "POST", "/v1/payments", "bank:REB", {"json": payment("H32")}, 403),
    ("bank-reads-other-bank", "GET", "/v1/payments/CBS/TX1", "bank:REB", {}, 403),
    ("bank-reverses-other-bank", "POST", "/v1/payments/CBS/TX1/reversal", "bank:REB", {"json": {"reason": "x"}}, 403),
    (
        "bank-enrols-for-other",
        "POST",
        "/v1/subscribers/DI-1/enrolments",
        "bank:REB",
        {"json": {"bank": "CBS", "account_ref": "****9999"}},
        403,
    ),
    ("bank-names-itself-in-body", "POST", "/v1/payments", "bank:REB", {"json": payment("H33", bank="CBS")}, 422),
    ("bank-registers", "POST", "/v1/subscribers", "bank:CBS", {"json": REGISTRATION}, 403),
    ("unknown-bank-in-path", "GET", "/v1/payments/XYZ/TX1", "staff", {}, 404),
    # the PIN and account numbers
    ("pin-in-payment", "POST", "/v1/payments", "bank:CBS", {"json": payment("H34", pin="1234")}, 422),
    (
        "pin-in-enrolment",
        "POST",
        "/v1/subscribers/DI-1/enrolments",
        "bank:CBS",
        {"json": {"account_ref": "****4321", "pin": "1234"}},
        422,
    ),
    (
        "full-account-number",
        "POST",
        "/v1/subscribers/DI-1/enrolments",
        "bank:CBS",
        {"json": {"account_ref": FULL_ACCOUNT}},
        422,
    ),
    (
        "account-number-half-masked",
        "POST",
        "/v1/subscribers/DI-1/enrolments",
        "bank:CBS",
        {"json": {"account_ref": "****" + FULL_ACCOUNT}},
        422,
    ),
    (
        "iban",
        "POST",
        "/v1/subscribers/DI-1/enrolments",
        "bank:CBS",
        {"json": {"account_ref": "SY21 0010 0000 1234"}},
        422,
    ),
    # methods
    ("delete-a-subscriber", "DELETE", "/v1/subscribers/DI-1", "staff", {}, 405),
    ("put-a-payment", "PUT", "/v1/payments/CBS/TX1", "staff", {"json": payment("TX1")}, 405),
    (
        "method-override",
        "POST",
        "/v1/subscribers/DI-1",
        "staff",
        {"headers": {"X-HTTP-Method-Override": "DELETE"}},
        405,
    ),
    ("trace", "TRACE", "/v1/governorates", "staff", {}, 405),
]


@pytest.fixture
def world(api):
    """DI-1 enrolled with CBS, billed 3200.00 for 2026-C5, with payment TX1 of 1000.00 from CBS."""
    api.billed()
    assert api.pay("1000.00", ref="TX1").status_code == 201
    return api


def has_security_headers(response: Any) -> bool:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers)
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    return True


@pytest.mark.parametrize(
    ("method", "path", "role", "kwargs", "status"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS]
)
def test_a_hostile_request_is_refused_with_a_problem_and_changes_nothing(world, method, path, role, kwargs, status):
    before = world.events()
    response = world.call(method, path, role, **kwargs)
    assert is_problem(response, status)
    assert has_security_headers(response)
    assert world.events() == before


def test_sql_in_a_name_is_only_a_name(world):
    name = "Robert'); DROP TABLE ledger_events;--"
    assert world.post("/v1/subscribers", {**REGISTRATION, "name": name}).status_code == 201
    assert world.get("/v1/subscribers/DI-9").json["name"] == name
    assert world.get("/v1/subscribers/DI-1").status_code == 200


# -- secrets ---------------------------------------------------------------------------------------------------------


def stored_text(api: Any) -> str:
    """Every stored event's state, as text, for searching."""
    notifications = api.ledger.recorder.select_notifications(0, 100_000, inclusive_of_start=False)
    return "\n".join(n.state.decode("utf-8", errors="replace") for n in notifications)


def test_no_token_is_ever_logged_or_stored(world, caplog):
    forged = "cbs-token-forged-7f3a9c"
    caplog.set_level(logging.DEBUG)
    for _, method, path, role, kwargs, _ in CORPUS:
        world.call(method, path, role, **kwargs)
    world.get("/v1/governorates", role=None, headers={"Authorization": f"Bearer {forged}"})
    world.pay("5.00", ref="TX-LOGGED")
    world.get("/v1/subscribers/DI-1/bills", role="portal")
    world.get("/metrics")
    world.ledger.governorates = None  # a 500 logs a traceback: it must not carry the token either
    assert world.get("/v1/governorates").status_code == 500
    assert caplog.records, "nothing was logged: the search below would prove nothing"
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    exposition = world.get("/metrics").get_data(as_text=True)
    for token in [*TOKENS.values(), forged]:
        assert token not in logged
        assert token not in exposition
        assert token not in stored_text(world)


def test_events_hold_only_masked_account_references(world):
    enrolment = world.post("/v1/subscribers/DI-1/enrolments", {"account_ref": "****0042"}, role="bank:CBS")
    assert enrolment.status_code == 201
    for _, method, path, role, kwargs, _ in CORPUS:
        world.call(method, path, role, **kwargs)
    notifications = world.ledger.recorder.select_notifications(0, 100_000, inclusive_of_start=False)
    enrolments = [
        world.ledger.mapper.to_domain_event(n) for n in notifications if n.topic.endswith("EnrolledForEPayment")
    ]
    assert len(enrolments) == 2
    assert all(MASKED.fullmatch(event.account_ref) for event in enrolments)
    assert FULL_ACCOUNT not in stored_text(world)


def test_there_is_no_pin_anywhere(world):
    bodies = [
        ("/v1/payments", payment("P1", pin="1234"), "bank:CBS"),
        ("/v1/subscribers/DI-1/enrolments", {"account_ref": "****4321", "pin": "1234"}, "bank:CBS"),
        ("/v1/subscribers", {**REGISTRATION, "pin": "1234"}, "staff"),
        ("/v1/payments/CBS/TX1/reversal", {"reason": "duplicate", "pin": "1234"}, "bank:CBS"),
        (
            "/v1/settlements",
            {
                "settlement_ref": "S9",
                "business_date": "2026-11-10",
                "payment_refs": ["TX1"],
                "total": "1000.00",
                "pin": "1234",
            },
            "bank:CBS",
        ),
    ]
    for path, body, role in bodies:
        response = world.post(path, body, role=role)
        assert is_problem(response, 422, "validation-failed") and "pin" in response.json["errors"], path
    spec = world.get("/openapi.json").json
    assert not [name for name in field_names(spec) if re.search(r"(^|_)pin($|_)", name.lower())]
    for module in (subscriber, claims, settlements, governorate):
        for name in event_attributes(module):
            assert "pin" not in name.lower().split("_"), (module.__name__, name)
    assert "1234" not in stored_text(world)


def field_names(node: Any) -> list[str]:
    """Every property and parameter name in an OpenAPI document."""
    found = []
    if isinstance(node, dict):
        found += list(node.get("properties", {}))
        if "in" in node and "name" in node:
            found.append(node["name"])
        for value in node.values():
            found += field_names(value)
    elif isinstance(node, list):
        for value in node:
            found += field_names(value)
    return found


def event_attributes(module: Any) -> list[str]:
    """The annotated attributes of every event class declared in a module's aggregates."""
    names = []
    for aggregate in vars(module).values():
        for event in vars(aggregate).values() if isinstance(aggregate, type) else ():
            if isinstance(event, type) and hasattr(event, "__annotations__"):
                names += list(event.__annotations__)
    return names


def test_security_headers_are_on_every_answer(world, monkeypatch):
    from eventsourcing.persistence import OperationalError

    answers = [
        world.get("/v1/governorates"),
        world.get("/nowhere"),
        world.get("/healthz", role=None),
        world.get("/docs", role=None),
        world.call("OPTIONS", "/v1/payments", None),
        world.call("HEAD", "/v1/governorates", "staff"),
        world.get("/v1/governorates", role=None),
    ]

    def down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(world.ledger, "governorates", down)
    answers.append(world.get("/v1/governorates"))
    assert answers[-1].status_code == 503
    monkeypatch.setattr(world.ledger, "governorates", None)
    answers.append(world.get("/v1/governorates"))
    assert answers[-1].status_code == 500
    for response in answers:
        assert has_security_headers(response)


# -- generated hostile bodies (schemathesis) ------------------------------------------------------------------------


def token_for(operation: Any) -> str:
    role = (operation.definition.raw.get("x-roles") or ["staff"])[0]
    return TOKENS["bank:CBS" if role == "bank" else role]


def refuse_all(api: Any, operation: Any, headers: dict[str, str]) -> int:
    """Send an operation's generated invalid requests; each must be a 4xx problem and change nothing."""
    calls = 0

    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def refused(case: Any) -> None:
        nonlocal calls
        before = api.events()
        # A case may break the Authorization header itself: send it as generated, not replaced by a good token.
        response = case.call(headers=None if "Authorization" in (case.headers or {}) else headers)
        calls += 1
        label = f"{operation.label} {response.status_code} {response.text[:200]}"
        assert 400 <= response.status_code < 500, label
        assert response.headers.get("content-type", [""])[0].startswith("application/problem+json"), label
        assert api.events() == before, label

    with contextlib.suppress(Unsatisfiable):  # nothing of this operation can be made invalid
        refused()
    return calls


@pytest.mark.slow
def test_generated_invalid_requests_to_every_write_are_refused_and_change_nothing(sqlite_url, make_ledger, template):
    """Schemathesis breaks each POST's documented body and parameters: every answer is a 4xx problem, no event."""
    api = build_api(sqlite_url, make_ledger, template)
    api.billed()
    api.pay("1000.00")
    staff = {"Authorization": f"Bearer {TOKENS['staff']}"}
    schema = schemathesis.openapi.from_wsgi("/openapi.json", api.client.application, headers=staff)
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "POST":
            continue
        try:
            calls += refuse_all(api, operation, {"Authorization": f"Bearer {token_for(operation)}"})
        except AssertionError as failure:  # collect every operation's failure, then report them together
            failures.append(str(failure)[:500])
    assert calls >= 50
    assert not failures, "\n".join(failures)
