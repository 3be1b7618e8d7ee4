"""Readings, bills, adjustments and billing runs."""

from __future__ import annotations

from typing import Any

from api.auth import check_reading_source, current_ledger, require_roles
from api.parser import Blueprint
from api.schemas.bills import (
    AdjustmentSchema,
    BillingRunReportSchema,
    BillingRunRequestSchema,
    BillQuerySchema,
    BillRequestSchema,
    BillSchema,
    ReadingSchema,
    ReadingSubmissionSchema,
    ReviewSchema,
)
from api.schemas.common import page, page_of

blp = Blueprint("bills", __name__, description="Meter readings, bills and billing runs.")
ONE = "/v1/subscribers/<subscriber_no>"


@blp.post(ONE + "/readings")
@require_roles("staff", "portal")
@blp.arguments(ReadingSubmissionSchema)
@blp.response(201, ReadingSchema)
@blp.alt_response(404, response="NOT_FOUND")
def submit_reading(body: dict[str, Any], subscriber_no: str) -> Any:
    """Submit a meter reading: `self` from the portal, `reader` or `estimated` from staff (else 403)."""
    check_reading_source(body["source"])
    return current_ledger().submit_reading(subscriber_no, **body)


@blp.get(ONE + "/readings")
@require_roles("staff", "auditor", "portal")
@blp.response(200, page_of(ReadingSchema))
@blp.alt_response(404, response="NOT_FOUND")
def readings(subscriber_no: str) -> Any:
    """A subscriber's readings, oldest first."""
    return page(current_ledger().readings(subscriber_no))


@blp.post(ONE + "/readings/<reading_id>/review")
@require_roles("staff")
@blp.arguments(ReviewSchema)
@blp.response(200, ReadingSchema)
@blp.alt_response(404, response="NOT_FOUND")
def review_reading(body: dict[str, Any], subscriber_no: str, reading_id: str) -> Any:
    """Accept or reject a reading flagged as an implausible jump."""
    return current_ledger().review_reading(subscriber_no, reading_id, **body)


@blp.post(ONE + "/bills")
@require_roles("staff")
@blp.arguments(BillRequestSchema)
@blp.response(201, BillSchema)
@blp.alt_response(409, response="CONFLICT")
def issue_bill(body: dict[str, Any], subscriber_no: str) -> Any:
    """Bill the consumption since the last bill for a cycle (409 if already billed)."""
    return current_ledger().issue_bill(subscriber_no, body["cycle"])


@blp.get(ONE + "/bills")
@require_roles("staff", "auditor", "portal", "bank")
@blp.arguments(BillQuerySchema, location="query")
@blp.response(200, page_of(BillSchema))
@blp.alt_response(404, response="NOT_FOUND")
def bills(query: dict[str, Any], subscriber_no: str) -> Any:
    """A subscriber's bills with paid, outstanding and status; `?status=` filters."""
    return page(current_ledger().bills(subscriber_no, query.get("status")))


@blp.get(ONE + "/bills/<bill_id>")
@require_roles("staff", "auditor", "portal", "bank")
@blp.response(200, BillSchema)
@blp.alt_response(404, response="NOT_FOUND")
def bill(subscriber_no: str, bill_id: str) -> Any:
    """One bill."""
    return current_ledger().bill(subscriber_no, bill_id)


@blp.post(ONE + "/bills/<bill_id>/adjustments")
@require_roles("staff")
@blp.arguments(AdjustmentSchema)
@blp.response(201, BillSchema)
@blp.alt_response(404, response="NOT_FOUND")
def adjust_bill(body: dict[str, Any], subscriber_no: str, bill_id: str) -> Any:
    """Adjust a bill by a signed amount with a reason (a credit note is negative); the bill stays as issued."""
    return current_ledger().adjust_bill(subscriber_no, bill_id, **body)


@blp.post("/v1/billing-runs")
@require_roles("staff")
@blp.arguments(BillingRunRequestSchema)
@blp.response(200, BillingRunReportSchema)
def billing_run(body: dict[str, Any]) -> Any:
    """Bill every due subscriber of a governorate (or all) for a cycle; idempotent, reports issued and skipped."""
    return current_ledger().billing_run(body["cycle"], body.get("governorate"))
