"""Clearing: a bank's settlement marks the payments it lists as settled into the ministry's account.

A settlement is claimed by (bank, settlement reference): the same settlement again returns the first report and
changes nothing; a different one under the same reference is a conflict. The settlement's own event and every
`PaymentCleared` it causes are saved in one transaction, so a settlement is never half-applied.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from ledger.actors import current_actor
from ledger.claims import Settlement, payment_key, settlement_id
from ledger.errors import InvalidInput, SettlementRefConflict
from ledger.money import ZERO, as_text, parse_amount


def settle(
    app: Any, bank: str, settlement_ref: str, business_date: date, payment_refs: list[Any], total: Any
) -> tuple[dict[str, Any], bool]:
    """Apply a settlement; returns (reconciliation report, created)."""
    rows = _rows(payment_refs)
    total = parse_amount(total, field="total")
    listed = [ref for ref, _ in rows]
    amounts = {ref: str(amount) for ref, amount in rows if amount is not None}

    def attempt() -> tuple[dict[str, Any], bool]:
        existing = _existing(app, bank, settlement_ref)
        if existing is not None:
            if existing.same_as(business_date.isoformat(), listed, total, amounts):
                return existing.report, False
            raise SettlementRefConflict(
                f"Settlement {settlement_ref} of {bank} was already received with different content."
            )
        subscribers, report = _reconcile(app, bank, settlement_ref, rows, total, business_date)
        report["listed_amounts"] = amounts
        settlement = Settlement.receive(
            bank, settlement_ref, business_date.isoformat(), listed, total, report, current_actor().name
        )
        app.save(settlement, *subscribers.values())
        return report, True

    return app.retrying(attempt)


def _rows(payment_refs: list[Any]) -> list[tuple[str, Decimal | None]]:
    rows: list[tuple[str, Decimal | None]] = []
    for item in payment_refs:
        if isinstance(item, dict):
            rows.append((str(item["payment_ref"]), parse_amount(item["amount"]) if "amount" in item else None))
        else:
            rows.append((str(item), None))
    if len({ref for ref, _ in rows}) != len(rows):
        raise InvalidInput("A settlement lists each payment reference once.")
    return rows


def _existing(app: Any, bank: str, settlement_ref: str) -> Settlement | None:
    try:
        return app.get_aggregate(settlement_id(bank, settlement_ref))
    except AggregateNotFoundError:
        return None


def _reconcile(
    app: Any,
    bank: str,
    settlement_ref: str,
    rows: list[tuple[str, Decimal | None]],
    total: Decimal,
    business_date: date,
) -> tuple[dict[str, Any], dict[str, Any]]:
    subscribers: dict[str, Any] = {}
    report: dict[str, Any] = {"matched": [], "unknown": [], "mismatched": []}
    matched_total = ZERO
    cleared_at = app.clock()
    for ref, amount in rows:
        key = payment_key(bank, ref)
        subscriber_no = app._claimant(key)
        if subscriber_no is None:
            report["unknown"].append(ref)
            continue
        sub = subscribers.get(subscriber_no) or app.load_subscriber(subscriber_no)
        payment = sub.payments[key]
        problem = _problem(payment, amount, settlement_ref)
        if problem:
            report["mismatched"].append({"payment_ref": ref, "reason": problem})
        if problem in (None, "reversed") and sub.clear_payment(key, settlement_ref, cleared_at):
            subscribers[subscriber_no] = sub
        if problem is None:
            report["matched"].append(ref)
            matched_total += payment["amount"]
    report.update(
        settlement_ref=settlement_ref,
        bank=bank,
        business_date=business_date.isoformat(),
        total=as_text(total),
        matched_total=as_text(matched_total),
        difference=as_text(total - matched_total),
    )
    return subscribers, report


def _problem(payment: dict[str, Any], amount: Decimal | None, settlement_ref: str) -> str | None:
    if payment.get("settlement_ref") not in (None, settlement_ref):
        return "already_cleared"
    if amount is not None and amount != payment["amount"]:
        return "amount_mismatch"
    if payment["status"] == "reversed":
        return "reversed"
    return None
