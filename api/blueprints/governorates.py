"""Governorates and their e-payment status; staff record rollout changes as events."""

from __future__ import annotations

from typing import Any

from api.auth import current_ledger, require_roles
from api.parser import Blueprint
from api.schemas.common import page, page_of
from api.schemas.governorates import EPaymentSwitchSchema, GovernorateSchema
from ledger import governorate as gov

blp = Blueprint("governorates", __name__, description="Governorates and the e-payment rollout.")
EVERYONE = ("staff", "auditor", "portal", "bank")
# Only known codes route, so an unknown governorate in the path is a 404.
ONE = "/v1/governorates/<any({}):code>".format(", ".join(repr(code) for code in gov.codes()))


@blp.get("/v1/governorates")
@require_roles(*EVERYONE)
@blp.response(200, page_of(GovernorateSchema))
def governorates() -> Any:
    """Every governorate: codes, Arabic and English names, e-payment status."""
    return page(current_ledger().governorates())


@blp.get(ONE)
@require_roles(*EVERYONE)
@blp.response(200, GovernorateSchema)
@blp.alt_response(404, response="NOT_FOUND")
def governorate(code: str) -> Any:
    """One governorate and its rollout history."""
    return current_ledger().governorate(code)


@blp.post(ONE + "/e-payment")
@require_roles("staff")
@blp.arguments(EPaymentSwitchSchema)
@blp.response(200, GovernorateSchema)
def switch_e_payment(body: dict[str, Any], code: str) -> Any:
    """Switch e-payment on (from a date) or off in a governorate."""
    return current_ledger().switch_e_payment(code, **body)
