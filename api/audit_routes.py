"""HTTP routes for auditors: a subscriber's event history, statements, the chain digest and a full verification.

Each route is a thin view over a plain function here that takes the ledger application and the query arguments
and returns plain values (dicts, or text for CSV and HTML), so `create_app` can wrap the views with roles and
problem+json error handling. Bad query arguments raise `LedgerError` subclasses (4xx), never a 500. Money is in
new pounds (SYP), as strings in JSON; times are ISO 8601 UTC.

Who may call what: events and statements: auditor, staff; digest and verify: auditor.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from api.auth import require_roles
from ledger import audit, history
from ledger.audit import InvalidPeriod

bp = Blueprint("audit", __name__)


def ledger_app() -> Any:
    """The LedgerApplication `create_app` keeps in `app.extensions["ledger"]`."""
    return current_app.extensions["ledger"]


def _limit(limit: str | None) -> int:
    if limit is None or limit == "":
        return history.DEFAULT_LIMIT
    try:
        return int(limit)
    except ValueError:
        raise audit.InvalidLimit(f"limit must be a whole number from 1 to {history.MAX_LIMIT}.") from None


def _day(value: str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidPeriod(f"{name} must be a date such as 2026-01-31.", field=name) from None


def subscriber_events(
    ledger: Any, subscriber_no: str, cursor: str | None = None, limit: str | None = None
) -> dict[str, Any]:
    return history.history(ledger, subscriber_no, history.parse_cursor(cursor), _limit(limit))


def audit_digest(ledger: Any) -> dict[str, Any]:
    return audit.current_digest(ledger)


def audit_verify(ledger: Any, digest: str | None = None) -> dict[str, Any]:
    return audit.verify(ledger, digest=digest)


def statement_csv(ledger: Any, subscriber_no: str, start: str | None, end: str | None) -> str:
    return history.statement_csv(ledger, subscriber_no, _day(start, "from"), _day(end, "to"))


def statement_html(ledger: Any, subscriber_no: str, start: str | None, end: str | None) -> str:
    return history.statement_html(ledger, subscriber_no, _day(start, "from"), _day(end, "to"))


@bp.get("/v1/subscribers/<subscriber_no>/events")
@require_roles("auditor", "staff")
def get_events(subscriber_no: str) -> Any:
    args = request.args
    return jsonify(subscriber_events(ledger_app(), subscriber_no, args.get("cursor"), args.get("limit")))


@bp.get("/v1/audit/digest")
@require_roles("auditor")
def get_digest() -> Any:
    return jsonify(audit_digest(ledger_app()))


@bp.get("/v1/audit/verify")
@require_roles("auditor")
def get_verify() -> Any:
    return jsonify(audit_verify(ledger_app(), request.args.get("digest")))


@bp.get("/v1/subscribers/<subscriber_no>/statement.csv")
@require_roles("auditor", "staff")
def get_statement_csv(subscriber_no: str) -> Response:
    body = statement_csv(ledger_app(), subscriber_no, request.args.get("from"), request.args.get("to"))
    filename = f"statement-{subscriber_no}.csv".replace('"', "")
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/v1/subscribers/<subscriber_no>/statement.html")
@require_roles("auditor", "staff")
def get_statement_html(subscriber_no: str) -> Response:
    body = statement_html(ledger_app(), subscriber_no, request.args.get("from"), request.args.get("to"))
    return Response(body, mimetype="text/html")
