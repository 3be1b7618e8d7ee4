"""Schemas for the read-model routes: the balance list's filters and items, and the dashboards' queries."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import Instant, Money, page_of
from api.schemas.subscribers import BalanceSchema
from ledger import governorate as gov
from ledger.cycles import Cycle
from ledger.errors import InvalidCycle

GOVERNORATE = fields.String(validate=validate.OneOf(gov.codes()), metadata={"example": "SY-DI"})


def _is_cycle(value: str) -> bool:
    try:
        Cycle.parse(value)
    except InvalidCycle:
        return False
    return True


class BalanceQuerySchema(Schema):
    governorate = fields.String(validate=validate.OneOf(gov.codes()))
    min_outstanding = Money(metadata={"description": "Only subscribers owing at least this much (SYP)."})
    overdue = fields.Boolean(metadata={"description": "true: something is past due; false: nothing is."})
    limit = fields.Integer(validate=validate.Range(1, 1000), load_default=50)
    cursor = fields.String(validate=validate.Length(1, 200), metadata={"description": "next_cursor of the last page."})


class BalanceItemSchema(Schema):
    subscriber_no = fields.String(required=True)
    governorate = fields.String(required=True)
    category = fields.String(required=True)
    meter_no = fields.String(required=True)
    name = fields.String(required=True)
    last_reading_kwh = fields.Integer(required=True)
    enrolled_banks = fields.List(fields.String(), required=True)
    last_payment_at = Instant(allow_none=True)
    balance = fields.Nested(BalanceSchema, required=True)


class BalancePageSchema(page_of(BalanceItemSchema)):  # type: ignore[misc]
    unit = fields.String(required=True)


class CollectionQuerySchema(Schema):
    cycle = fields.String(validate=_is_cycle, metadata={"description": "e.g. 2026-C5; default the latest billed."})
    governorate = fields.String(validate=validate.OneOf(gov.codes()))


class ArrearsQuerySchema(Schema):
    governorate = fields.String(validate=validate.OneOf(gov.codes()))
