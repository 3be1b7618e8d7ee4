"""Schemas for governorates and their e-payment rollout."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import Instant, IsoDate, RequestSchema


class RolloutStepSchema(Schema):
    live = fields.Boolean(required=True)
    effective_from = IsoDate(required=True)
    recorded_at = Instant(required=True)


class GovernorateSchema(Schema):
    code = fields.String(required=True, metadata={"example": "SY-DI"})
    name_en = fields.String(required=True)
    name_ar = fields.String(required=True)
    e_payment = fields.String(required=True, validate=validate.OneOf(("live", "not_live")))
    live_since = IsoDate(required=True, allow_none=True)
    rollout = fields.List(fields.Nested(RolloutStepSchema), required=True)


class EPaymentSwitchSchema(RequestSchema):
    live = fields.Boolean(required=True, truthy={True}, falsy={False})
    effective_from = IsoDate(required=True)
