"""A subscriber's event history for auditors, and the account statement as data, CSV and a printable page."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from ledger.actors import acting_as
from ledger.audit import InvalidLimit, InvalidPeriod
from ledger.errors import UnknownSubscriber
from ledger.history import history, statement, statement_csv, statement_html
from tests.audit.audit_world import seed


@pytest.fixture
def app(sqlite_url, make_ledger):
    ledger = make_ledger(sqlite_url)
    seed(ledger)
    return ledger


def test_history_lists_every_event_of_the_subscriber_in_order_with_auditor_fields(app):
    items = history(app, "DI-1")["items"]
    assert [i["type"] for i in items] == [
        "Registered",
        "EnrolledForEPayment",
        "ReadingSubmitted",
        "BillIssued",
        "PaymentReceived",
        "PaymentReceived",
        "PaymentReversed",
        "PaymentCleared",
        "BillAdjusted",
    ]
    assert [i["version"] for i in items] == list(range(1, 10))
    assert [i["position"] for i in items] == sorted(i["position"] for i in items)
    payment = items[4]
    assert set(payment) == {"position", "version", "type", "recorded_at", "recorded_by", "recorded_via", "data", "hash"}
    assert payment["data"]["amount"] == "1000.00" and payment["data"]["payment_ref"] == "TX1"
    assert (payment["recorded_by"], payment["recorded_via"]) == ("cbs-test", "api")
    assert payment["recorded_at"].endswith("+00:00") and len(payment["hash"]) == 64
    assert items[8]["data"]["amount"] == "-100.00"
    json.dumps(items)  # plain JSON values only


def test_history_pages_with_a_cursor(app):
    first = history(app, "DI-1", limit=4)
    second = history(app, "DI-1", after_position=int(first["next_cursor"]), limit=4)
    third = history(app, "DI-1", after_position=int(second["next_cursor"]), limit=4)
    assert [len(p["items"]) for p in (first, second, third)] == [4, 4, 1]
    assert third["next_cursor"] is None
    assert [i["version"] for p in (first, second, third) for i in p["items"]] == list(range(1, 10))


def test_history_refuses_unknown_subscribers_and_bad_limits(app):
    with pytest.raises(UnknownSubscriber):
        history(app, "NOPE")
    with pytest.raises(InvalidLimit):
        history(app, "DI-1", limit=0)


def test_the_statement_runs_a_balance_from_bills_payments_reversals_and_adjustments(app):
    data = statement(app, "DI-1", date(2000, 1, 1))
    assert [line["type"] for line in data["lines"]] == [
        "BillIssued",
        "PaymentReceived",
        "PaymentReceived",
        "PaymentReversed",
        "PaymentCleared",
        "BillAdjusted",
    ]
    assert [str(line["balance"]) for line in data["lines"]] == [
        "3200.00",
        "2200.00",
        "2000.00",
        "2200.00",
        "2200.00",
        "2100.00",
    ]
    assert str(data["opening_balance"]) == "0.00" and str(data["closing_balance"]) == "2100.00"
    assert app.subscriber("DI-1")["balance"]["outstanding"] == data["closing_balance"]


def test_a_period_after_the_events_opens_with_the_balance_owed(app):
    later = date.fromisoformat(statement(app, "DI-1")["to"])
    data = statement(app, "DI-1", date(later.year + 1, 1, 1), date(later.year + 1, 12, 31))
    assert data["lines"] == [] and str(data["opening_balance"]) == str(data["closing_balance"]) == "2100.00"


def test_the_csv_statement_has_opening_lines_and_closing_rows(app):
    rows = list(csv.DictReader(io.StringIO(statement_csv(app, "DI-1", date(2000, 1, 1), date(2100, 1, 1)))))
    assert rows[0]["type"] == "OpeningBalance" and rows[-1]["type"] == "ClosingBalance"
    assert rows[-1]["balance"] == "2100.00" and rows[1]["debit"] == "3200.00" and rows[2]["credit"] == "1000.00"
    assert {r["unit"] for r in rows} == {"SYP"}


def test_the_html_statement_escapes_what_it_prints(sqlite_url, make_ledger):
    app = make_ledger(sqlite_url)
    with acting_as("staff", "api"):
        app.register_subscriber("DI-9", "SY-DI", "residential", "M9", 0, "<script>alert(1)</script> سامر")
    page = statement_html(app, "DI-9")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; سامر" in page
    assert page.startswith("<!doctype html>") and "Closing balance" in page


def test_a_statement_period_must_not_end_before_it_starts(app):
    with pytest.raises(InvalidPeriod):
        statement_csv(app, "DI-1", date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(UnknownSubscriber):
        statement_csv(app, "NOPE", date(2026, 3, 1), date(2026, 3, 2))
