"""Schemas for payments, reversals and settlements. The bank always comes from the caller's token."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from api.schemas.common import REFERENCE, SUBSCRIBER_NO, Instant, IsoDate, Money, RequestSchema, reference, text
from ledger.subscriber_rules import CHANNELS

PAYMENT_STATUSES = ("received", "cleared", "reversed")


class PaymentSubmissionSchema(RequestSchema):
    payment_ref = reference(required=True, metadata={"description": "The bank's transaction id.", "example": "TX1"})
    subscriber_no = fields.String(required=True, validate=validate.Regexp(SUBSCRIBER_NO))
    bill_id = fields.String(required=True, validate=validate.Length(1, 64))
    amount = Money(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    paid_at = Instant(required=True)
    fee = Money(allow_none=True, metadata={"description": "The ministry charges no fee: any non-zero fee is refused."})


class PaymentSchema(Schema):
    payment_ref = fields.String(required=True)
    bank = fields.String(required=True)
    subscriber_no = fields.String(required=True)
    bill_id = fields.String(required=True)
    amount = Money(required=True)
    unit = fields.String(required=True)
    channel = fields.String(required=True)
    paid_at = Instant(required=True)
    status = fields.String(required=True, validate=validate.OneOf(PAYMENT_STATUSES))
    settlement_ref = fields.String(required=True, allow_none=True)
    cleared_at = Instant(required=True, allow_none=True)
    received_at = Instant(required=True)
    reversed_at = Instant(required=True, allow_none=True)
    reversal_reason = fields.String(required=True, allow_none=True)


class ReversalSchema(RequestSchema):
    reason = text(500, required=True)


class SettledPayment(fields.Field):
    """A settled payment: its reference, or `{"payment_ref": ..., "amount": "..."}` to check the amount too."""

    def __init__(self, **kwargs: Any) -> None:
        line = {
            "type": "object",
            "additionalProperties": False,
            "required": ["payment_ref"],
            "properties": {
                "payment_ref": {"type": "string", "pattern": REFERENCE},
                "amount": {"type": "string", "pattern": Money().metadata["pattern"]},
            },
        }
        one_of = [{"type": "string", "pattern": REFERENCE}, line]
        super().__init__(metadata={"oneOf": one_of}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return reference().deserialize(value)
        if isinstance(value, dict) and set(value) <= {"payment_ref", "amount"} and "payment_ref" in value:
            line = {"payment_ref": reference().deserialize(value["payment_ref"])}
            if "amount" in value:
                line["amount"] = Money().deserialize(value["amount"])
            return line
        raise ValidationError('Each entry is a payment reference or {"payment_ref": ..., "amount": "..."}.')


class SettlementSubmissionSchema(RequestSchema):
    settlement_ref = reference(required=True, metadata={"example": "CBS-2026-11-24"})
    business_date = IsoDate(required=True)
    payment_refs = fields.List(SettledPayment(), required=True, validate=validate.Length(1, 10000))
    total = Money(required=True)


class MismatchSchema(Schema):
    payment_ref = fields.String(required=True)
    reason = fields.String(required=True, metadata={"description": "already_cleared, amount_mismatch or reversed"})


class UnsettledPaymentSchema(Schema):
    payment_ref = fields.String(required=True)
    amount = Money(required=True)
    paid_at = Instant(required=True)


class SettlementReportSchema(Schema):
    """The reconciliation report: which listed payments matched, were unknown, or did not match."""

    settlement_ref = fields.String(required=True)
    bank = fields.String(required=True)
    business_date = IsoDate(required=True)
    total = Money(required=True)
    matched_total = Money(required=True)
    difference = Money(required=True, signed=True)
    matched = fields.List(fields.String(), required=True)
    unknown_ = fields.List(fields.String(), required=True, data_key="unknown", attribute="unknown")
    mismatched = fields.List(fields.Nested(MismatchSchema), required=True)
    missing = fields.List(
        fields.Nested(UnsettledPaymentSchema),
        metadata={"description": "The bank's payments made before the business date that no settlement cleared."},
    )


class ClearingQuerySchema(Schema):
    bank = fields.String(validate=validate.OneOf(("CBS", "REB", "HUB")))
