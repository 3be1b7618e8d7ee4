"""Settlements: a bank's daily clearing of the payments it settled into the ministry's account."""

from __future__ import annotations

from typing import Any

from api.auth import current_bank, current_client, current_ledger, require_roles
from api.blueprints.payments import REPLAY_HEADER_DOC, REPLAYED
from api.blueprints.read_models import read_side
from api.parser import Blueprint
from api.schemas.payments import ClearingQuerySchema, SettlementReportSchema, SettlementSubmissionSchema
from ledger.history import jsonable
from projections import clearing

blp = Blueprint("settlements", __name__, description="Banks' settlements and their reconciliation.")


@blp.post("/v1/settlements")
@require_roles("bank")
@blp.arguments(SettlementSubmissionSchema)
@blp.response(201, SettlementReportSchema, description="Applied: the reconciliation report.")
@blp.alt_response(
    200,
    schema=SettlementReportSchema,
    success=True,
    headers=REPLAY_HEADER_DOC,
    description="The same settlement again: the first report, nothing changed.",
)
@blp.alt_response(409, response="CONFLICT")
def settle(body: dict[str, Any]) -> Any:
    """Clear the listed payments; report matched, unknown and mismatched ones."""
    report, created = clearing.settle_and_reconcile(current_ledger(), read_side(), current_bank(), **body)
    return (report, 201) if created else (report, 200, REPLAYED)


@blp.get("/v1/clearing/positions")
@require_roles("staff", "auditor", "bank")
@blp.arguments(ClearingQuerySchema, location="query")
@blp.response(200, description="Per bank and business date: owed, settled, difference; breaks and their age.")
def positions(args: dict[str, Any]) -> Any:
    """Clearing positions and settlement breaks; a bank sees only its own."""
    bank = current_client().bank or args.get("bank")
    return jsonable(clearing.clearing_positions(read_side().engine, bank, current_ledger().today()))
