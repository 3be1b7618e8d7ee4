"""Clearing positions: per bank and business date, what the ledger says the bank owes and what it settled.

`owed` is the sum of that bank's unreversed payments whose `paid_at` falls on the business date (UTC day);
`settled` is the sum of the totals of that bank's settlements for the date; `difference = owed - settled`. A date
before today with a non-zero difference is a break, and its `age_days` grows until a settlement (or a reversal)
resolves it; today's date is `open`. Reversals after clearing show separately as `refunds_due`: money the ministry
owes back. Money is Decimal in new pounds (SYP).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, cast, func, select
from sqlalchemy.engine import Connection, Engine

from ledger.money import NEW, ZERO
from projections import tables as t


def _day(conn: Connection, column: Any) -> Any:
    """The UTC calendar day of an instant column, on either backend."""
    return func.date(column) if conn.dialect.name == "sqlite" else cast(column, Date)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _owed(conn: Connection, bank: str | None) -> dict[tuple[str, date], dict[str, Any]]:
    p = t.payments
    day = _day(conn, p.c.paid_at).label("day")
    query = select(p.c.bank, day, func.count(), func.sum(p.c.amount)).where(p.c.status != "reversed")
    refunds = select(p.c.bank, day, func.sum(p.c.amount)).where(
        p.c.status == "reversed", p.c.settlement_ref.is_not(None)
    )
    if bank:
        query, refunds = query.where(p.c.bank == bank), refunds.where(p.c.bank == bank)
    found: dict[tuple[str, date], dict[str, Any]] = {}
    for code, day_value, count, amount in conn.execute(query.group_by(p.c.bank, day)):
        found[(code, _as_date(day_value))] = {"payments": count, "owed": Decimal(amount)}
    for code, day_value, amount in conn.execute(refunds.group_by(p.c.bank, day)):
        found.setdefault((code, _as_date(day_value)), {"payments": 0, "owed": ZERO})["refunds_due"] = Decimal(amount)
    return found


def _settled(conn: Connection, bank: str | None) -> dict[tuple[str, date], dict[str, Any]]:
    s = t.settlements
    query = select(s.c.bank, s.c.business_date, func.count(), func.sum(s.c.total))
    if bank:
        query = query.where(s.c.bank == bank)
    return {
        (code, _as_date(day)): {"settlements": count, "settled": Decimal(total)}
        for code, day, count, total in conn.execute(query.group_by(s.c.bank, s.c.business_date))
    }


def _position(key: tuple[str, date], owed: dict[str, Any], settled: dict[str, Any], today: date) -> dict[str, Any]:
    bank, day = key
    difference = owed.get("owed", ZERO) - settled.get("settled", ZERO)
    status = "open" if day >= today else ("break" if difference != 0 else "balanced")
    return {
        "bank": bank,
        "business_date": day.isoformat(),
        "payments": owed.get("payments", 0),
        "owed": owed.get("owed", ZERO),
        "settlements": settled.get("settlements", 0),
        "settled": settled.get("settled", ZERO),
        "difference": difference,
        "refunds_due": owed.get("refunds_due", ZERO),
        "status": status,
        "age_days": (today - day).days if status == "break" else 0,
    }


def clearing_positions(engine: Engine, bank: str | None = None, today: date | None = None) -> dict[str, Any]:
    """Every (bank, business date) position, newest first, with a per-bank summary of open breaks."""
    today = today or date.today()
    with engine.connect() as conn:
        owed, settled = _owed(conn, bank), _settled(conn, bank)
    keys = sorted(set(owed) | set(settled), key=lambda k: (k[1], k[0]), reverse=True)
    items = [_position(k, owed.get(k, {}), settled.get(k, {}), today) for k in keys]
    return {"items": items, "next_cursor": None, "unit": NEW, "banks": _summary(items)}


def _summary(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    banks: dict[str, dict[str, Any]] = {}
    for item in items:
        entry = banks.setdefault(
            item["bank"],
            {
                "owed": ZERO,
                "settled": ZERO,
                "difference": ZERO,
                "breaks": 0,
                "break_amount": ZERO,
                "oldest_break_days": 0,
                "refunds_due": ZERO,
            },
        )
        for name in ("owed", "settled", "difference", "refunds_due"):
            entry[name] += item[name]
        if item["status"] == "break":
            entry["breaks"] += 1
            entry["break_amount"] += item["difference"]
            entry["oldest_break_days"] = max(entry["oldest_break_days"], item["age_days"])
    return banks


def unsettled_payments(engine: Engine, bank: str, before: date) -> list[dict[str, Any]]:
    """Payments of `bank` made before `before` (UTC day) that no settlement has cleared yet."""
    p = t.payments
    with engine.connect() as conn:
        limit: Any = before.isoformat() if conn.dialect.name == "sqlite" else before
        rows = conn.execute(
            select(p.c.payment_ref, p.c.amount, p.c.paid_at)
            .where(p.c.bank == bank, p.c.status == "received", _day(conn, p.c.paid_at) < limit)
            .order_by(p.c.paid_at, p.c.payment_ref)
        ).all()
    return [{"payment_ref": ref, "amount": amount, "paid_at": paid_at} for ref, amount, paid_at in rows]


def settle_and_reconcile(
    app: Any, side: Any, bank: str, settlement_ref: str, business_date: date, payment_refs: list[Any], total: Any
) -> tuple[dict[str, Any], bool]:
    """Apply a settlement, then add to its report the bank's earlier payments that no settlement has cleared."""
    report, created = app.settle(bank, settlement_ref, business_date, payment_refs, total)
    side.ensure_fresh()
    return {**report, "missing": unsettled_payments(side.engine, bank, business_date)}, created
