"""The lists behind the dashboard's figures: the bills, payments or subscribers that add up to a figure.

A `Figure` names what was clicked (billed, paid, an arrears bucket, a bank's payments of a business day, ...) and the
filters of its cell. `figure_rows` reads one page of its rows (keyset paging on the primary key, so a list of
millions pages as fast as a short one) and `figure_total` the number of rows and the sum of their amount, which
equals the figure on the page. Money is `Decimal` in new pounds (SYP).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Date, cast, func, select, tuple_
from sqlalchemy.engine import Connection, Engine

from api.dashboard.data import BadFilter, choice
from ledger import governorate as gov
from ledger.cycles import Cycle
from ledger.errors import LedgerError
from ledger.money import ZERO
from projections import tables as t
from projections.dashboards import BUCKETS, NOT_YET_DUE

PAGE = 100
BILL_FIGURES = {
    "bills": None,
    "billed": "amount",
    "adjusted": "adjusted",
    "paid": "paid",
    "cleared": "cleared",
    "outstanding": "outstanding",
    "arrears": "outstanding",
}
PAYMENT_FIGURES = ("payments", "owed", "unsettled")
FIGURES = (*BILL_FIGURES, *PAYMENT_FIGURES, "subscribers")


@dataclass(frozen=True)
class Figure:
    """Which rows stand behind a figure: its name and the filters of the cell it was clicked in."""

    name: str
    cycle: str | None = None
    governorate: str | None = None
    bank: str | None = None
    channel: str | None = None
    bucket: str | None = None
    day: date | None = None

    def params(self) -> dict[str, Any]:
        return {("figure" if k == "name" else k): str(v) for k, v in asdict(self).items() if v}


def parse_figure(args: Any) -> Figure:
    name = choice(args, "figure", FIGURES) or "billed"
    buckets = (NOT_YET_DUE, *(b for b, _, _ in BUCKETS))
    cycle = (args.get("cycle") or "").strip() or None
    try:
        cycle = Cycle.parse(cycle).name if cycle else None
        day = date.fromisoformat(args["day"]) if args.get("day") else None
    except (LedgerError, ValueError) as error:
        raise BadFilter("cycle/day", str(getattr(error, "detail", error))) from None
    if name in (*BILL_FIGURES, "payments") and name != "arrears" and cycle is None:
        raise BadFilter("cycle", f"The {name} figure needs a cycle.")
    return Figure(
        name,
        cycle,
        choice(args, "governorate", gov.codes()),
        choice(args, "bank", gov.bank_codes()),
        choice(args, "channel", ("web", "app", "branch", "hub")),
        choice(args, "bucket", buckets),
        day,
    )


def source_of(fig: Figure) -> str:
    """What the rows behind a figure are: `bills`, `payments` or `subscribers`."""
    if fig.name in BILL_FIGURES:
        return "bills"
    return "payments" if fig.name in PAYMENT_FIGURES else "subscribers"


def _day(conn: Connection, column: Any) -> Any:
    return func.date(column) if conn.dialect.name == "sqlite" else cast(column, Date)


def _bill_where(fig: Figure, today: date) -> list[Any]:
    b = t.bills
    where: list[Any] = [b.c.governorate == fig.governorate] if fig.governorate else []
    if fig.name == "arrears":
        where.append(b.c.outstanding > ZERO)
        if fig.bucket in (None, NOT_YET_DUE):
            where.append(b.c.due_date >= today if fig.bucket else b.c.due_date < today)
            return where
        low, high = next((lo, hi) for n, lo, hi in BUCKETS if n == fig.bucket)
        where.append(b.c.due_date <= today - timedelta(days=low))
        if high is not None:
            where.append(b.c.due_date >= today - timedelta(days=high))
        return where
    where.append(b.c.cycle == fig.cycle)
    column = BILL_FIGURES[fig.name]
    if column and fig.name != "billed":
        where.append(b.c[column] != ZERO)
    return where


def _payment_where(conn: Connection, fig: Figure, today: date) -> list[Any]:
    p = t.payments
    where: list[Any] = [p.c.bank == fig.bank] if fig.bank else []
    if fig.name == "unsettled":
        limit: Any = today.isoformat() if conn.dialect.name == "sqlite" else today
        return [*where, p.c.status == "received", _day(conn, p.c.paid_at) < limit]
    where.append(p.c.status != "reversed")
    if fig.name == "owed":
        if fig.day:
            where.append(_day(conn, p.c.paid_at) == (fig.day.isoformat() if conn.dialect.name == "sqlite" else fig.day))
        return where
    where.append(p.c.cycle == fig.cycle)
    where += [p.c.governorate == fig.governorate] if fig.governorate else []
    where += [p.c.channel == fig.channel] if fig.channel else []
    return where


def _source(conn: Connection, fig: Figure, today: date) -> tuple[Any, list[Any], list[Any], Any]:
    """(columns, where, key columns, metric column) of the rows behind a figure."""
    s, b, p = t.subscribers, t.bills, t.payments
    if fig.name in BILL_FIGURES:
        metric = b.c[BILL_FIGURES[fig.name] or "amount"]
        cols = [
            b.c.bill_id,
            b.c.subscriber_no,
            s.c.name,
            b.c.governorate,
            b.c.cycle,
            b.c.amount,
            b.c.adjusted,
            b.c.paid,
            b.c.cleared,
            b.c.outstanding,
            b.c.due_date,
        ]
        return cols, _bill_where(fig, today), [b.c.bill_id], metric
    if fig.name in PAYMENT_FIGURES:
        cols = [
            p.c.bank,
            p.c.payment_ref,
            p.c.subscriber_no,
            s.c.name,
            p.c.governorate,
            p.c.bill_id,
            p.c.channel,
            p.c.amount,
            p.c.status,
            p.c.paid_at,
        ]
        return cols, _payment_where(conn, fig, today), [p.c.bank, p.c.payment_ref], p.c.amount
    where: list[Any] = [s.c.governorate == fig.governorate] if fig.governorate else []
    where += [s.c.enrolled_banks.contains(fig.bank)] if fig.bank else []
    cols = [
        s.c.subscriber_no,
        s.c.name,
        s.c.governorate,
        s.c.category,
        s.c.enrolled_banks,
        s.c.billed,
        s.c.paid,
        s.c.outstanding,
    ]
    return cols, where, [s.c.subscriber_no], s.c.outstanding


def _joined(cols: list[Any]) -> Any:
    s = t.subscribers
    table = cols[0].table
    query = select(*cols)
    return query if table is s else query.select_from(table.join(s, s.c.subscriber_no == table.c.subscriber_no))


def figure_total(engine: Engine, fig: Figure, today: date) -> dict[str, Any]:
    """How many rows stand behind the figure and the sum of its amount over all of them (in SYP)."""
    with engine.connect() as conn:
        cols, where, _, metric = _source(conn, fig, today)
        table = cols[0].table
        rows, total = conn.execute(select(func.count(), func.sum(metric)).select_from(table).where(*where)).one()
    return {"rows": rows, "amount": total if total is not None else ZERO}


def figure_rows(
    engine: Engine, fig: Figure, today: date, after: tuple[str, ...] | None = None, limit: int | None = None
) -> tuple[list[dict[str, Any]], tuple[str, ...] | None]:
    """One page of the rows behind a figure, and the key to pass as `after` for the next page (None at the end)."""
    limit = limit or PAGE
    with engine.connect() as conn:
        cols, where, keys, _ = _source(conn, fig, today)
        if after is not None and len(after) == len(keys):
            where = [*where, tuple_(*keys) > tuple(after)] if len(keys) > 1 else [*where, keys[0] > after[0]]
        query = _joined(cols).where(*where).order_by(*keys).limit(limit + 1)
        rows = [dict(r) for r in conn.execute(query).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (tuple(str(rows[-1][k.name]) for k in keys) if more and rows else None)


def all_figure_rows(engine: Engine, fig: Figure, today: date, chunk: int = 1000) -> Iterator[dict[str, Any]]:
    """Every row behind a figure, read a chunk at a time (for CSV downloads of any size)."""
    after = None
    while True:
        rows, after = figure_rows(engine, fig, today, after, chunk)
        yield from rows
        if after is None:
            return
