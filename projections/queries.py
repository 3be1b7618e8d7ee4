"""Queries over the read models: plain functions returning dicts, for the API and the CLI to dump.

Money is `Decimal` with two places in new pounds, and every answer says so with `"unit": "SYP"` (bills issued in
old pounds were converted at exactly 100:1 when projected). Instants are timezone-aware UTC datetimes, days are
`date`s. `overdue` depends on the day it is asked, so it is computed here from the bills' due dates, never stored:
a bill is overdue on `today` when something is still outstanding on it and its due date is before `today`.
The dashboards (collection, arrears) live in projections/dashboards.py and are re-exported here.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.engine import Connection, Engine

from ledger import governorate as gov
from ledger.errors import InvalidInput
from ledger.money import NEW, ZERO
from projections import tables as t
from projections.dashboards import arrears, collection_dashboard

__all__ = ["arrears", "collection_dashboard", "governorate_status", "list_balances", "subscriber_balance"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
CURSOR_PREFIX = "after:"
BALANCE_FIELDS = ("billed", "paid", "cleared", "adjusted", "outstanding")


def _overdue_bill(today: date) -> Any:
    b = t.bills
    return (b.c.outstanding > ZERO) & (b.c.due_date < today)


def _overdue_by_subscriber(conn: Connection, subscriber_nos: list[str], today: date) -> dict[str, Decimal]:
    if not subscriber_nos:
        return {}
    b = t.bills
    rows = conn.execute(
        select(b.c.subscriber_no, func.sum(b.c.outstanding))
        .where(b.c.subscriber_no.in_(subscriber_nos), _overdue_bill(today))
        .group_by(b.c.subscriber_no)
    )
    return dict(rows.tuples().all())


def _item(row: Any, overdue: Decimal) -> dict[str, Any]:
    balance = {name: row[name] for name in BALANCE_FIELDS}
    balance.update(overdue=overdue, refunds_due=row["refunds_due"], unit=NEW)
    return {
        "subscriber_no": row["subscriber_no"],
        "governorate": row["governorate"],
        "category": row["category"],
        "meter_no": row["meter_no"],
        "name": row["name"],
        "last_reading_kwh": row["last_reading_kwh"],
        "enrolled_banks": [bank for bank in row["enrolled_banks"].split(",") if bank],
        "last_payment_at": row["last_payment_at"],
        "balance": balance,
    }


def subscriber_balance(engine: Engine, subscriber_no: str, today: date) -> dict[str, Any] | None:
    """One subscriber's profile and balance as projected, or None when the read model has no such subscriber."""
    with engine.connect() as conn:
        query = select(t.subscribers).where(t.subscribers.c.subscriber_no == subscriber_no)
        row = conn.execute(query).mappings().first()
        if row is None:
            return None
        overdue = _overdue_by_subscriber(conn, [subscriber_no], today)
    return _item(row, overdue.get(subscriber_no, ZERO))


def encode_cursor(subscriber_no: str) -> str:
    return base64.urlsafe_b64encode((CURSOR_PREFIX + subscriber_no).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(CURSOR_PREFIX):
        raise InvalidInput("cursor is not one this service handed out; start again without it.", field="cursor")
    return text[len(CURSOR_PREFIX) :]


def _check_limit(limit: int | None) -> int:
    limit = DEFAULT_LIMIT if limit is None else limit
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}.", field="limit")
    return limit


def _balance_filters(
    governorate: str | None, min_outstanding: Decimal | None, overdue: bool | None, today: date
) -> list[Any]:
    s, b = t.subscribers, t.bills
    where: list[Any] = []
    if governorate is not None:
        gov.names(governorate)
        where.append(s.c.governorate == governorate)
    if min_outstanding is not None:
        where.append(s.c.outstanding >= min_outstanding)
    if overdue is not None:
        has_overdue = exists().where(b.c.subscriber_no == s.c.subscriber_no, _overdue_bill(today))
        where.append(has_overdue if overdue else ~has_overdue)
    return where


def list_balances(
    engine: Engine,
    governorate: str | None = None,
    min_outstanding: Decimal | None = None,
    overdue: bool | None = None,
    limit: int | None = DEFAULT_LIMIT,
    cursor: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Subscribers' balances ordered by subscriber number, one page at a time (keyset paging).

    `overdue=True` keeps subscribers with something overdue on `today`, `False` those with nothing overdue.
    `next_cursor` is an opaque string to pass back for the next page, None on the last page.
    """
    today = today or date.today()
    limit = _check_limit(limit)
    s = t.subscribers
    where = _balance_filters(governorate, min_outstanding, overdue, today)
    if cursor is not None:
        where.append(s.c.subscriber_no > decode_cursor(cursor))
    query = select(s).where(*where).order_by(s.c.subscriber_no).limit(limit + 1)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        page = rows[:limit]
        overdue_sums = _overdue_by_subscriber(conn, [r["subscriber_no"] for r in page], today)
    items = [_item(r, overdue_sums.get(r["subscriber_no"], ZERO)) for r in page]
    more = len(rows) > limit
    return {"items": items, "next_cursor": encode_cursor(page[-1]["subscriber_no"]) if more else None, "unit": NEW}


def governorate_status(engine: Engine, today: date) -> dict[str, Any]:
    """Every governorate with its names, e-payment status on `today`, and projected subscriber counts."""
    with engine.connect() as conn:
        rows = {r["code"]: dict(r) for r in conn.execute(select(t.governorates)).mappings()}
    items = []
    for code in gov.codes():
        row: dict[str, Any] = rows.get(code, {})
        live_since = row.get("live_since")
        items.append(
            {
                "code": code,
                **gov.names(code),
                "e_payment": "live" if live_since is not None and live_since <= today else "not_live",
                "live_since": live_since,
                "switched_at": row.get("switched_at"),
                "subscribers": row.get("subscribers", 0),
                "enrolled_subscribers": row.get("enrolled", 0),
            }
        )
    return {"items": items, "next_cursor": None}
