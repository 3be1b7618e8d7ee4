"""The dashboard's sections as tables, for the page and its CSV downloads (headlines and charts: `drawing`).

`build(engine, filters, today, cycles)` reads everything once. The collection, trend and e-payment sections follow
the cycle and governorate filters; arrears follows the governorate (all cycles, by days past due); clearing is per
bank and business day across governorates; the bank filter narrows the e-payment and clearing sections. Each table's
`scope` gives the filters of a row's figure links. Money is `Decimal` in new pounds (SYP).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine

from api.dashboard import data
from api.dashboard.tables import Column, Table
from ledger import governorate as gov
from ledger.money import ZERO
from projections.dashboards import BUCKETS, NOT_YET_DUE

MONEY_COLUMNS = ("billed", "adjusted", "paid", "cleared", "outstanding")
BUCKET_NAMES = tuple(name for name, _, _ in BUCKETS)


@dataclass
class Dashboard:
    filters: data.Filters
    today: date
    cycles: list[str]
    tables: dict[str, Table]
    collection: dict[str, Any]
    arrears: dict[str, Any]
    clearing: dict[str, Any]


def _collection_columns(first: Column) -> list[Column]:
    money = [Column(name, name, "money", name) for name in MONEY_COLUMNS]
    return [
        first,
        Column("bills", "bills", "count", "bills"),
        *money,
        Column("collection_efficiency", "efficiency", "ratio"),
    ]


def _in_reference_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Governorates as the ministry lists them (Damascus first), not by code."""
    order = {code: n for n, code in enumerate(gov.codes())}
    return sorted(rows, key=lambda row: order.get(row["governorate"], len(order)))


def _collection(f: data.Filters, found: dict[str, Any]) -> Table:
    columns = _collection_columns(Column("governorate", "governorate", "governorate"))
    return Table(
        "collection",
        "sec_collection",
        columns,
        _in_reference_order(found["by_governorate"]),
        total=found,
        scope=lambda row: {"cycle": f.cycle, "governorate": row.get("governorate")},
        note="sec_collection_note",
    )


def _trend(f: data.Filters, rows: list[dict[str, Any]]) -> Table:
    return Table(
        "trend",
        "sec_trend",
        _collection_columns(Column("cycle", "cycle", "cycle")),
        rows,
        scope=lambda row: {"cycle": row["cycle"], "governorate": f.governorate},
    )


def _share_table(name: str, key: str, f: data.Filters, rows: list[dict[str, Any]]) -> Table:
    columns = [
        Column(key, key, key),
        Column("payments", "payments", "count", "payments"),
        Column("amount", "amount", "money", "payments"),
        Column("count_share", "count_share", "ratio"),
        Column("amount_share", "amount_share", "ratio"),
    ]
    total = {"payments": sum(r["payments"] for r in rows), "amount": sum((r["amount"] for r in rows), ZERO)}
    base = {"cycle": f.cycle, "governorate": f.governorate, "bank": f.bank}
    return Table(name, f"sec_{name}", columns, rows, total=total, scope=lambda row: {**base, key: row.get(key)})


def _arrears(f: data.Filters, found: dict[str, Any]) -> Table:
    columns = [
        Column("bucket", "days_overdue", "bucket"),
        Column("bills", "bills", "count", "arrears"),
        Column("subscribers", "subscribers", "count", "arrears"),
        Column("outstanding", "outstanding", "money", "arrears"),
    ]
    total = {"bills": sum(b["bills"] for b in found["buckets"]), "outstanding": found["overdue"]}
    return Table(
        "arrears",
        "sec_arrears",
        columns,
        found["buckets"],
        total=total,
        note="sec_arrears_note",
        scope=lambda row: {"governorate": f.governorate, "bucket": row.get("bucket")},
    )


def _arrears_by_governorate(found: dict[str, Any]) -> Table:
    columns = [Column("governorate", "governorate", "governorate")]
    columns += [Column(name, name, "money", "arrears", (("bucket", name),)) for name in BUCKET_NAMES]
    columns += [
        Column("overdue", "overdue", "money", "arrears"),
        Column("not_yet_due", "not_yet_due", "money", "arrears", (("bucket", NOT_YET_DUE),)),
    ]
    rows = [
        {
            "governorate": g["governorate"],
            **{b["bucket"]: b["outstanding"] for b in g["buckets"]},
            "overdue": g["overdue"],
            "not_yet_due": g["not_yet_due"],
        }
        for g in found["by_governorate"]
    ]
    rows = _in_reference_order(rows)
    return Table(
        "arrears_by_governorate",
        "sec_arrears_gov",
        columns,
        rows,
        scope=lambda row: {"governorate": row.get("governorate")},
    )


def _settlements(f: data.Filters, found: dict[str, Any]) -> Table:
    columns = [
        Column("bank", "bank", "bank"),
        Column("owed", "owed", "money", "owed"),
        Column("settled", "settled", "money"),
        Column("difference", "difference", "money"),
        Column("breaks", "breaks", "count", "unsettled"),
        Column("break_amount", "break_amount", "money", "unsettled"),
        Column("oldest_break_days", "oldest_break_days", "days"),
        Column("refunds_due", "refunds_due", "money"),
    ]
    rows = [{"bank": code, **summary} for code, summary in sorted(found.get("banks", {}).items())]
    total: dict[str, Any] = {"bank": f.bank}
    for c in columns[1:]:
        total[c.key] = sum((r.get(c.key, 0) for r in rows), ZERO if c.kind == "money" else 0)
    total["oldest_break_days"] = max((r.get("oldest_break_days", 0) for r in rows), default=0)
    return Table(
        "settlements",
        "sec_settlement",
        columns,
        rows,
        total=total,
        note="sec_settlement_note",
        scope=lambda row: {"bank": row.get("bank")},
    )


def _breaks(found: dict[str, Any]) -> Table:
    columns = [
        Column("bank", "bank", "bank"),
        Column("business_date", "business_date", "day"),
        Column("payments", "payments", "count", "owed"),
        Column("owed", "owed", "money", "owed"),
        Column("settled", "settled", "money"),
        Column("difference", "difference", "money", "owed"),
        Column("age_days", "age_days", "days"),
    ]
    rows = [item for item in found.get("items", []) if item.get("status") == "break"]
    return Table(
        "breaks",
        "sec_breaks",
        columns,
        rows,
        scope=lambda row: {"bank": row.get("bank"), "day": row.get("business_date")},
    )


def _rollout(rows: list[dict[str, Any]]) -> Table:
    columns = [
        Column("code", "governorate", "governorate"),
        Column("e_payment", "e_payment", "status"),
        Column("live_since", "live_since", "day"),
        Column("subscribers", "subscribers", "count", "subscribers"),
        Column("enrolled_subscribers", "enrolled", "count"),
    ]
    return Table(
        "rollout",
        "sec_rollout",
        columns,
        rows,
        note="sec_rollout_note",
        scope=lambda row: {"governorate": row.get("code")},
    )


def build(engine: Engine, f: data.Filters, today: date, known_cycles: list[str]) -> Dashboard:
    found = data.collection(engine, f)
    shares = data.payment_shares(engine, f)
    owing = data.arrears_of(engine, f, today)
    clearing = data.clearing_of(engine, f, today)
    tables = [
        _collection(f, found),
        _trend(f, data.trend(engine, f, known_cycles)),
        _share_table("channels", "channel", f, shares["channels"]),
        _share_table("banks", "bank", f, shares["banks"]),
        _arrears(f, owing),
        _arrears_by_governorate(owing),
        _settlements(f, clearing),
        _breaks(clearing),
        _rollout(data.rollout(engine, today)),
    ]
    return Dashboard(f, today, known_cycles, {table.name: table for table in tables}, found, owing, clearing)
