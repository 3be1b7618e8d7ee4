"""Subscribers: registration, the profile with its balance, e-payment enrolment and meter replacement."""

from __future__ import annotations

from typing import Any

from api.auth import acting_bank, current_ledger, require_roles
from api.parser import Blueprint
from api.schemas.subscribers import (
    AsOfQuerySchema,
    EnrolmentRequestSchema,
    EnrolmentSchema,
    MeterReplacementSchema,
    RegistrationSchema,
    SubscriberSchema,
)

blp = Blueprint("subscribers", __name__, description="Register subscribers and look up their accounts.")
ONE = "/v1/subscribers/<subscriber_no>"


@blp.post("/v1/subscribers")
@require_roles("staff")
@blp.arguments(RegistrationSchema)
@blp.response(201, SubscriberSchema)
@blp.alt_response(409, response="CONFLICT")
def register(body: dict[str, Any]) -> Any:
    """Register a subscriber (409 if the number exists)."""
    return current_ledger().register_subscriber(**body)


@blp.get(ONE)
@require_roles("staff", "auditor", "portal")
@blp.arguments(AsOfQuerySchema, location="query")
@blp.response(200, SubscriberSchema)
@blp.alt_response(404, response="NOT_FOUND")
def profile(args: dict[str, Any], subscriber_no: str) -> Any:
    """A subscriber's profile and balance; `?as_of=` or `?as_of_position=` replays the events up to then."""
    return current_ledger().subscriber(subscriber_no, **args)


@blp.post(ONE + "/enrolments")
@require_roles("staff", "bank")
@blp.arguments(EnrolmentRequestSchema)
@blp.response(201, EnrolmentSchema)
@blp.alt_response(404, response="NOT_FOUND")
def enrol(body: dict[str, Any], subscriber_no: str) -> Any:
    """Record e-payment enrolment with a bank (a bank enrols only with itself)."""
    return current_ledger().enrol(subscriber_no, acting_bank(body.get("bank")), body["account_ref"])


@blp.post(ONE + "/meter-replacements")
@require_roles("staff")
@blp.arguments(MeterReplacementSchema)
@blp.response(201, SubscriberSchema)
@blp.alt_response(404, response="NOT_FOUND")
def replace_meter(body: dict[str, Any], subscriber_no: str) -> Any:
    """Record a meter replacement: the old meter's final reading and the new meter's first."""
    return current_ledger().replace_meter(subscriber_no, **body)
