"""Schemas for readings, bills, adjustments and billing runs."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import Instant, IsoDate, Money, RequestSchema, kwh, text
from ledger import governorate as gov
from ledger.readings import SOURCES

CYCLE = r"^\d{4}-C[1-6]$"
STATUSES = ("unpaid", "partially_paid", "paid")  # as ledger.views.bill_status names them


class ReadingSubmissionSchema(RequestSchema):
    reading_kwh = kwh(required=True)
    read_at = Instant(required=True)
    source = fields.String(
        required=True,
        validate=validate.OneOf(SOURCES),
        metadata={"description": "`self` from the portal; `reader` or `estimated` from staff."},
    )


class ReadingSchema(Schema):
    reading_id = fields.String(required=True)
    meter_no = fields.String(required=True)
    reading_kwh = fields.Integer(required=True)
    read_at = Instant(required=True)
    source = fields.String(required=True)
    consumption_kwh = fields.Integer(required=True)
    flagged = fields.Boolean(required=True, metadata={"description": "An implausible jump held for review."})
    recorded_at = Instant(required=True)
    review = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf(("accepted", "rejected")),
        metadata={"description": "How staff decided on a flagged reading; a rejected one is never billed."},
    )


class ReviewSchema(RequestSchema):
    accepted = fields.Boolean(required=True, truthy={True}, falsy={False})
    note = text(500, required=True)


class BillRequestSchema(RequestSchema):
    cycle = fields.String(required=True, validate=validate.Regexp(CYCLE), metadata={"example": "2026-C5"})


class BillingRunRequestSchema(RequestSchema):
    cycle = fields.String(required=True, validate=validate.Regexp(CYCLE), metadata={"example": "2026-C5"})
    governorate = fields.String(
        validate=validate.OneOf(gov.codes()),
        allow_none=True,
        metadata={"description": "Omit (or null) to bill every governorate."},
    )


class RefusalSchema(Schema):
    subscriber_no = fields.String(required=True)
    rule = fields.String(required=True)
    detail = fields.String(required=True)


class BillingRunReportSchema(Schema):
    cycle = fields.String(required=True)
    governorate = fields.String(required=True, allow_none=True)
    issued = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    already_billed = fields.Integer(required=True)
    no_new_reading = fields.Integer(required=True)
    refused = fields.List(fields.Nested(RefusalSchema), required=True)


class BillLineSchema(Schema):
    """One tariff block of a bill, in the unit the bill was issued in (strings, never floats)."""

    tariff_version = fields.String(required=True)
    from_ = fields.String(data_key="from", attribute="from", required=True)
    to = fields.String(required=True)
    block = fields.String(required=True)
    kwh = fields.String(required=True)
    price = fields.String(required=True)
    amount = fields.String(required=True)
    unit = fields.String(required=True)


class BillSchema(Schema):
    bill_id = fields.String(required=True)
    subscriber_no = fields.String(required=True)
    cycle = fields.String(required=True)
    period_start = IsoDate(required=True)
    period_end = IsoDate(required=True)
    meter_no = fields.String(required=True)
    opening_kwh = fields.Integer(required=True)
    closing_kwh = fields.Integer(required=True)
    kwh = fields.Integer(required=True)
    lines = fields.List(fields.Nested(BillLineSchema), required=True)
    tariff_version = fields.String(required=True)
    amount = Money(required=True, metadata={"description": "As issued, in new pounds."})
    amount_issued = Money(required=True, metadata={"description": "As issued, in `unit_issued`."})
    unit_issued = fields.String(required=True)
    adjusted = Money(required=True, signed=True)
    amount_due = Money(required=True)
    unit = fields.String(required=True)
    paid = Money(required=True)
    outstanding = Money(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    overdue = fields.Boolean(required=True)
    issued_at = Instant(required=True)
    issued_on = IsoDate(required=True)
    due_date = IsoDate(required=True)


class BillQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))


class AdjustmentSchema(RequestSchema):
    amount = Money(
        required=True, signed=True, metadata={"description": "Signed, in new pounds: negative for a credit note."}
    )
    reason = text(500, required=True)
