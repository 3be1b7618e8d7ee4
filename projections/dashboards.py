"""Collection and arrears dashboards over the read models (rm_bills, rm_payments).

Money is `Decimal` in new pounds (`"unit": "SYP"`); ratios are `Decimal`s with four places (0.7500 = 75%), None
when there is nothing to divide by; posting delays are hours as `Decimal`s with two places.
- Collection, for one cycle: bills issued, billed (as issued, converted to SYP), adjusted, paid (payments not
  reversed), cleared, outstanding, collection efficiency = paid / billed; the e-payment shares of the cycle's
  unreversed payments by channel and by bank (share of their count and of their amount); the posting delay from
  `paid_at` to `cleared_at` of every payment the banks have settled (average, nearest-rank percentiles, maximum).
- Arrears, on a given day: what is outstanding, by days past the due date: 0-30 (1 to 30 days: a bill is not
  overdue on its due date), 31-60, 61-90, 90+; what is not yet due is shown apart.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.engine import Connection, Engine

from ledger import governorate as gov
from ledger.cycles import Cycle
from ledger.money import NEW, ZERO
from projections import clearing
from projections import tables as t

RATIO = Decimal("0.0001")
HOURS = Decimal("0.01")
PERCENTILES = (50, 90, 99)
BUCKETS = (("0-30", 1, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("90+", 91, None))
NOT_YET_DUE = "not_yet_due"


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    return None if not whole else (Decimal(part) / Decimal(whole)).quantize(RATIO)


def _hours(seconds: Decimal | int) -> Decimal:
    return (Decimal(seconds) / 3600).quantize(HOURS)


def _scope(table: Any, governorate: str | None) -> list[Any]:
    if governorate is None:
        return []
    gov.names(governorate)
    return [table.c.governorate == governorate]


# -- collection -----------------------------------------------------------------------------------------------------


def _figures(
    bills: int, billed: Decimal, adjusted: Decimal, paid: Decimal, cleared: Decimal, outstanding: Decimal
) -> dict[str, Any]:
    return {
        "bills": bills,
        "billed": billed,
        "adjusted": adjusted,
        "amount_due": billed + adjusted,
        "paid": paid,
        "cleared": cleared,
        "outstanding": outstanding,
        "collection_efficiency": ratio(paid, billed),
    }


def bill_totals(conn: Connection, group_by: Any, *where: Any) -> dict[Any, dict[str, Any]]:
    """The collection figures of the bills matching `where`, one entry per value of `group_by`, in its order.

    The collection dashboard groups by governorate, the dashboard page's trend by cycle: one query, same figures.
    """
    b = t.bills
    sums = [func.sum(column) for column in (b.c.amount, b.c.adjusted, b.c.paid, b.c.cleared, b.c.outstanding)]
    rows = conn.execute(select(group_by, func.count(), *sums).where(*where).group_by(group_by).order_by(group_by))
    return {key: _figures(*figures) for key, *figures in rows}


def no_bills() -> dict[str, Any]:
    return _figures(0, ZERO, ZERO, ZERO, ZERO, ZERO)


def _by_governorate(conn: Connection, cycle: str, governorate: str | None) -> list[dict[str, Any]]:
    b = t.bills
    totals = bill_totals(conn, b.c.governorate, b.c.cycle == cycle, *_scope(b, governorate))
    return [{"governorate": code, **figures} for code, figures in totals.items()]


def _totals(parts: list[dict[str, Any]]) -> dict[str, Any]:
    def total(name: str) -> Decimal:
        return sum((p[name] for p in parts), ZERO)

    return _figures(
        sum(p["bills"] for p in parts),
        total("billed"),
        total("adjusted"),
        total("paid"),
        total("cleared"),
        total("outstanding"),
    )


def _shares(conn: Connection, cycle: str, governorate: str | None, column_name: str) -> list[dict[str, Any]]:
    p = t.payments
    column = p.c[column_name]
    rows = (
        conn.execute(
            select(column, func.count(), func.sum(p.c.amount))
            .where(p.c.cycle == cycle, p.c.status != "reversed", *_scope(p, governorate))
            .group_by(column)
            .order_by(column)
        )
        .tuples()
        .all()
    )
    count = sum(n for _, n, _ in rows)
    amount = sum((a for _, _, a in rows), ZERO)
    return [
        {column_name: key, "payments": n, "amount": a, "count_share": ratio(n, count), "amount_share": ratio(a, amount)}
        for key, n, a in rows
    ]


def _posting_delay(conn: Connection, cycle: str, governorate: str | None) -> dict[str, Any]:
    p = t.payments
    where = [p.c.cycle == cycle, p.c.cleared_at.is_not(None), *_scope(p, governorate)]
    count, total, longest = conn.execute(
        select(func.count(), func.sum(p.c.posting_delay_s), func.max(p.c.posting_delay_s)).where(*where)
    ).one()
    answer: dict[str, Any] = {"payments": count, "average": None, "max": None}
    answer.update({f"p{q}": None for q in PERCENTILES})
    if not count:
        return answer
    answer.update(average=_hours(Decimal(total) / count), max=_hours(longest))
    for q in PERCENTILES:
        rank = max(math.ceil(q * count / 100), 1)  # nearest rank: the smallest value with q% at or below it
        value = conn.execute(
            select(p.c.posting_delay_s).where(*where).order_by(p.c.posting_delay_s).offset(rank - 1).limit(1)
        ).scalar_one()
        answer[f"p{q}"] = _hours(value)
    return answer


def collection_dashboard(engine: Engine, cycle: str, governorate: str | None = None) -> dict[str, Any]:
    """The collection figures of one billing cycle, for one governorate or all of them (with a row per each)."""
    cycle = Cycle.parse(cycle).name
    with engine.connect() as conn:
        parts = _by_governorate(conn, cycle, governorate)
        answer = {
            "cycle": cycle,
            "governorate": governorate,
            "unit": NEW,
            **_totals(parts),
            "by_governorate": parts,
            "channels": _shares(conn, cycle, governorate, "channel"),
            "banks": _shares(conn, cycle, governorate, "bank"),
            "posting_delay_hours": _posting_delay(conn, cycle, governorate),
        }
    answer["clearing"] = clearing.clearing_positions(engine)["banks"]
    return answer


# -- arrears --------------------------------------------------------------------------------------------------------


def _bucket_of(due_date: Any, today: date) -> Any:
    whens = [(due_date >= today, literal(NOT_YET_DUE))]
    for name, _, last in BUCKETS:
        if last is not None:
            whens.append((due_date >= today - timedelta(days=last), literal(name)))
    return case(*whens, else_=literal(BUCKETS[-1][0]))


def _empty_buckets() -> dict[str, dict[str, Any]]:
    names = [NOT_YET_DUE, *(name for name, _, _ in BUCKETS)]
    return {name: {"bills": 0, "subscribers": 0, "outstanding": ZERO} for name in names}


def _shape(found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    buckets = [{"bucket": name, "min_days": low, "max_days": high, **found[name]} for name, low, high in BUCKETS]
    return {
        "buckets": buckets,
        "overdue": sum((b["outstanding"] for b in buckets), ZERO),
        "not_yet_due": found[NOT_YET_DUE]["outstanding"],
    }


def arrears(engine: Engine, governorate: str | None = None, today: date | None = None) -> dict[str, Any]:
    """Outstanding money by days past due on `today`, overall and per governorate."""
    today = today or date.today()
    b = t.bills
    bucket = _bucket_of(b.c.due_date, today).label("bucket")
    query = (
        select(
            b.c.governorate,
            bucket,
            func.count(),
            func.count(func.distinct(b.c.subscriber_no)),
            func.sum(b.c.outstanding),
        )
        .where(b.c.outstanding > ZERO, *_scope(b, governorate))
        .group_by(b.c.governorate, bucket)
    )
    per: dict[str, dict[str, dict[str, Any]]] = {}
    overall = _empty_buckets()
    with engine.connect() as conn:
        for code, name, bills, subscribers, outstanding in conn.execute(query):
            per.setdefault(code, _empty_buckets())[name] = {
                "bills": bills,
                "subscribers": subscribers,
                "outstanding": outstanding,
            }
            for key, value in (("bills", bills), ("subscribers", subscribers), ("outstanding", outstanding)):
                overall[name][key] += value
    return {
        "as_of": today,
        "governorate": governorate,
        "unit": NEW,
        **_shape(overall),
        "by_governorate": [{"governorate": code, **_shape(per[code])} for code in sorted(per)],
    }


def latest_billed_cycle(engine: Engine) -> str | None:
    """The most recent cycle with a bill, the collection dashboard's default; None before the first bill."""
    with engine.connect() as conn:
        cycles = [row[0] for row in conn.execute(select(t.bills.c.cycle).distinct())]
    return max(cycles, key=lambda name: Cycle.parse(name)) if cycles else None
