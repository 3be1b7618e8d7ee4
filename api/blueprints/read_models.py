"""Reads served from the projections: the balance list and the collection and arrears dashboards.

Each view first brings the read models up to the end of the log (`ReadSide.ensure_fresh`), so a client reads its
own writes whether or not a `ledger project` follower runs. Money is a string in new pounds; ratios are strings.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from api.auth import current_ledger, require_roles
from api.parser import Blueprint
from api.schemas.read_models import (
    ArrearsQuerySchema,
    BalancePageSchema,
    BalanceQuerySchema,
    CollectionQuerySchema,
)
from ledger.history import jsonable
from projections import dashboards, queries
from projections.fresh import ReadSide

blp = Blueprint("read_models", __name__, description="Balances and dashboards from the read models.")
READERS = ("staff", "auditor")


def read_side() -> ReadSide:
    """The process's read side, caught up to the end of the log."""
    side = current_app.extensions.get("read_side")
    if side is None:
        side = current_app.extensions["read_side"] = ReadSide(current_ledger())
    side.ensure_fresh()
    return side


@blp.get("/v1/subscribers")
@require_roles(*READERS)
@blp.arguments(BalanceQuerySchema, location="query")
@blp.response(200, BalancePageSchema)
def balances(args: dict[str, Any]) -> Any:
    """Subscribers and their balances, filtered and paged by subscriber number (keyset paging)."""
    return queries.list_balances(read_side().engine, today=current_ledger().today(), **args)


@blp.get("/v1/dashboards/collection")
@require_roles(*READERS)
@blp.arguments(CollectionQuerySchema, location="query")
@blp.response(200, description="The collection dashboard (money and ratios as strings, unit SYP).")
def collection(args: dict[str, Any]) -> Any:
    """Billed, paid, cleared and outstanding for a cycle (default: the latest billed), per governorate."""
    engine = read_side().engine
    cycle = args.get("cycle") or dashboards.latest_billed_cycle(engine) or current_ledger().current_cycle()
    return jsonable(dashboards.collection_dashboard(engine, cycle, args.get("governorate")))


@blp.get("/v1/dashboards/arrears")
@require_roles(*READERS)
@blp.arguments(ArrearsQuerySchema, location="query")
@blp.response(200, description="Outstanding by days past due (unit SYP).")
def arrears(args: dict[str, Any]) -> Any:
    """Outstanding money by days past due (0-30, 31-60, 61-90, 90+), overall and per governorate."""
    return jsonable(dashboards.arrears(read_side().engine, args.get("governorate"), current_ledger().today()))
