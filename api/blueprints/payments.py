"""Banks' payments and reversals. A bank acts only for its own bank code, which comes from its token."""

from __future__ import annotations

from typing import Any

from api.auth import current_bank, current_ledger, require_roles
from api.parser import Blueprint
from api.schemas.payments import PaymentSchema, PaymentSubmissionSchema, ReversalSchema
from ledger import governorate as gov

blp = Blueprint("payments", __name__, description="Payments posted by banks and the hub, and their reversals.")
# Only known bank codes route, so an unknown bank in the path is a 404.
ONE = "/v1/payments/<any({}):bank>/<payment_ref>".format(", ".join(repr(code) for code in gov.bank_codes()))
REPLAYED = {"Idempotent-Replayed": "true"}
REPLAY_HEADER_DOC = {
    "Idempotent-Replayed": {
        "description": "`true`: this answers a replay of an applied payment.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


@blp.post("/v1/payments")
@require_roles("bank")
@blp.arguments(PaymentSubmissionSchema)
@blp.response(201, PaymentSchema, description="The payment was applied.")
@blp.alt_response(
    200,
    schema=PaymentSchema,
    success=True,
    headers=REPLAY_HEADER_DOC,
    description="The same reference and content again: the original answer, applied once.",
)
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def receive_payment(body: dict[str, Any]) -> Any:
    """Post a confirmed payment: 201 once; the same again 200; other content under the reference 409."""
    payment, created = current_ledger().receive_payment(current_bank(), **body)
    return (payment, 201) if created else (payment, 200, REPLAYED)


@blp.get(ONE)
@require_roles("bank", "staff", "auditor", bank_arg="bank")
@blp.response(200, PaymentSchema)
@blp.alt_response(404, response="NOT_FOUND")
def payment(bank: str, payment_ref: str) -> Any:
    """A payment and its status (received, cleared, reversed): banks query rather than blindly retry."""
    return current_ledger().payment(bank, payment_ref)


@blp.post(ONE + "/reversal")
@require_roles("bank", "staff", bank_arg="bank")
@blp.arguments(ReversalSchema)
@blp.response(200, PaymentSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def reverse(body: dict[str, Any], bank: str, payment_ref: str) -> Any:
    """Reverse a received or cleared payment, once."""
    return current_ledger().reverse_payment(bank, payment_ref, body["reason"])
