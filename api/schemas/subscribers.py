"""Schemas for subscribers: registration, enrolment, meter replacement, and the profile with its balance."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.bills import BillSchema, ReadingSchema
from api.schemas.common import SUBSCRIBER_NO, Instant, Money, RequestSchema, kwh, text
from api.schemas.payments import PaymentSchema
from ledger import governorate as gov
from ledger.tariffs import CATEGORIES

METER_NO = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}(?!\n)$"  # see REFERENCE: no trailing newline


class RegistrationSchema(RequestSchema):
    subscriber_no = fields.String(
        required=True,
        validate=validate.Regexp(SUBSCRIBER_NO),
        metadata={"description": "Letters, digits and `-`.", "example": "DI-100001"},
    )
    governorate = fields.String(required=True, validate=validate.OneOf(gov.codes()), metadata={"example": "SY-DI"})
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    meter_no = fields.String(required=True, validate=validate.Regexp(METER_NO), metadata={"example": "M-55012"})
    initial_reading_kwh = kwh(required=True)
    name = text(200, required=True)


class EnrolmentRequestSchema(RequestSchema):
    bank = fields.String(
        validate=validate.OneOf(gov.bank_codes()),
        metadata={"description": "Defaults to the calling bank; staff must give it."},
    )
    account_ref = fields.String(
        required=True,
        validate=validate.Length(1, 64),
        metadata={"description": "Masked, e.g. ****4321; a full number is refused.", "example": "****4321"},
    )


class EnrolmentSchema(Schema):
    subscriber_no = fields.String(required=True)
    bank = fields.String(required=True)
    account_ref = fields.String(required=True)


class EnrolmentEntrySchema(Schema):
    bank = fields.String(required=True)
    account_ref = fields.String(required=True)
    since = Instant(required=True)


class MeterReplacementSchema(RequestSchema):
    old_final_reading_kwh = kwh(required=True)
    new_meter_no = fields.String(required=True, validate=validate.Regexp(METER_NO))
    new_initial_reading_kwh = kwh(required=True)
    replaced_at = Instant(required=True)


class BalanceSchema(Schema):
    """Derived from the events, in new pounds (`unit` SYP)."""

    billed = Money(required=True)
    paid = Money(required=True)
    cleared = Money(required=True)
    adjusted = Money(required=True, signed=True)
    outstanding = Money(required=True, signed=True)
    overdue = Money(required=True, signed=True)
    refunds_due = Money(required=True)
    unit = fields.String(required=True)


class SubscriberSchema(Schema):
    subscriber_no = fields.String(required=True)
    governorate = fields.String(required=True)
    category = fields.String(required=True)
    meter_no = fields.String(required=True)
    name = fields.String(required=True)
    last_reading_kwh = fields.Integer(required=True)
    registered_at = Instant(required=True)
    enrolments = fields.List(fields.Nested(EnrolmentEntrySchema), required=True)
    balance = fields.Nested(BalanceSchema, required=True)
    version = fields.Integer(required=True)
    bills = fields.List(fields.Nested(BillSchema), metadata={"description": "With as_of: every bill as it stood."})
    payments = fields.List(fields.Nested(PaymentSchema), metadata={"description": "With as_of: every payment."})
    readings = fields.List(fields.Nested(ReadingSchema), metadata={"description": "With as_of: every reading."})
    replayed = fields.Dict(metadata={"description": "With as_of: the instant, position and version replayed to."})


class AsOfQuerySchema(Schema):
    """Replay the account from its events as it stood at an instant or at an event position."""

    as_of = Instant(metadata={"description": "An ISO 8601 instant with a timezone, e.g. 2026-03-01T00:00:00Z."})
    as_of_position = fields.Integer(
        validate=validate.Range(min=1, max=2**62), metadata={"description": "A global event position."}
    )
