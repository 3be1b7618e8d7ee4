"""What the dashboard shows, read from the projections: the page's filters and the data of its sections.

The sections come from the read-model queries the JSON API answers with (`collection_dashboard`, `arrears`,
`clearing_positions`, `governorate_status`), so the page and the API agree to the piastre. Three small queries of
its own: the cycles that have bills, the trend over cycles (one grouped query instead of one dashboard per cycle),
and e-payments by bank and channel (so the bank filter narrows the channel shares). The lists behind figures are in
`api.dashboard.lists`. Money is `Decimal` in new pounds (SYP).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ledger import governorate as gov
from ledger.cycles import Cycle
from ledger.errors import LedgerError
from ledger.money import ZERO
from projections import tables as t
from projections.clearing import clearing_positions
from projections.dashboards import arrears, bill_totals, collection_dashboard, no_bills, ratio
from projections.queries import governorate_status

TREND_CYCLES = 6


class BadFilter(Exception):
    """A query-string filter the dashboard cannot use; answered as a 400 page naming it."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(detail)
        self.name, self.detail = name, detail


@dataclass(frozen=True)
class Filters:
    cycle: str
    governorate: str | None = None
    bank: str | None = None

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v}


def cycles(engine: Engine) -> list[str]:
    """The cycles that have bills, oldest first."""
    with engine.connect() as conn:
        names = conn.execute(select(t.bills.c.cycle).distinct()).scalars().all()
    return sorted(names, key=Cycle.parse)


def choice(args: Any, name: str, allowed: tuple[str, ...]) -> str | None:
    value = (args.get(name) or "").strip() or None
    if value is not None and value not in allowed:
        raise BadFilter(name, f"{name}={value!r} is not one of {', '.join(allowed)}.")
    return value


def parse_filters(args: Any, known_cycles: list[str], today: date) -> Filters:
    """The filters in a query string; the newest cycle with bills when none is asked for."""
    default = known_cycles[-1] if known_cycles else Cycle.containing(today).previous().name
    name = (args.get("cycle") or "").strip() or default
    try:
        name = Cycle.parse(name).name
    except LedgerError as error:
        raise BadFilter("cycle", str(error.detail)) from None
    return Filters(name, choice(args, "governorate", gov.codes()), choice(args, "bank", gov.bank_codes()))


# -- the page's sections ---------------------------------------------------------------------------------------------


def collection(engine: Engine, f: Filters) -> dict[str, Any]:
    return collection_dashboard(engine, f.cycle, f.governorate)


def trend(engine: Engine, f: Filters, known_cycles: list[str]) -> list[dict[str, Any]]:
    """Totals of the last cycles up to the selected one, oldest first (the same figures as the collection)."""
    wanted = [c for c in known_cycles if Cycle.parse(c) <= Cycle.parse(f.cycle)][-TREND_CYCLES:]
    b = t.bills
    where = [b.c.cycle.in_(wanted)] + ([b.c.governorate == f.governorate] if f.governorate else [])
    with engine.connect() as conn:
        found = bill_totals(conn, b.c.cycle, *where)
    return [{"cycle": name, **found.get(name, no_bills())} for name in wanted]


def payment_shares(engine: Engine, f: Filters) -> dict[str, list[dict[str, Any]]]:
    """The cycle's unreversed e-payments by channel and by bank: count, amount and their shares."""
    p = t.payments
    where = [p.c.cycle == f.cycle, p.c.status != "reversed"]
    where += [p.c.governorate == f.governorate] if f.governorate else []
    where += [p.c.bank == f.bank] if f.bank else []
    query = select(p.c.bank, p.c.channel, func.count(), func.sum(p.c.amount)).where(*where)
    with engine.connect() as conn:
        matrix = conn.execute(query.group_by(p.c.bank, p.c.channel)).tuples().all()
    return {"channels": _shares(matrix, 1, "channel"), "banks": _shares(matrix, 0, "bank")}


def _shares(matrix: Sequence[tuple[Any, ...]], key: int, name: str) -> list[dict[str, Any]]:
    totals: dict[str, list[Any]] = {}
    for row in matrix:
        entry = totals.setdefault(row[key], [0, ZERO])
        entry[0] += row[2]
        entry[1] += row[3]
    count = sum(n for n, _ in totals.values())
    amount = sum((a for _, a in totals.values()), ZERO)
    return [
        {name: k, "payments": n, "amount": a, "count_share": ratio(n, count), "amount_share": ratio(a, amount)}
        for k, (n, a) in sorted(totals.items())
    ]


def arrears_of(engine: Engine, f: Filters, today: date) -> dict[str, Any]:
    return arrears(engine, f.governorate, today)


def clearing_of(engine: Engine, f: Filters, today: date) -> dict[str, Any]:
    return clearing_positions(engine, f.bank, today)


def rollout(engine: Engine, today: date) -> list[dict[str, Any]]:
    return list(governorate_status(engine, today)["items"])
