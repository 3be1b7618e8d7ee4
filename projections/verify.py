"""Verify the read models against a fresh replay of the ledger: a check for `ledger verify` (invariant 5).

`check_projections(app, upto)` has the shape of `ledger.audit`'s extra checks: it yields faults, dicts with
`position`, `kind` and `detail`. It reads the read models in one consistent snapshot, takes their tracking position
P, and replays every subscriber and governorate from the event store as it stood at P (the repository at the
aggregate's last version with a notification id <= P), so a runner that is still catching up is no fault. Money is
compared as `Decimal` in new pounds; `overdue`, which depends on the day, is derived at query time and not stored.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection

from ledger import views
from ledger.bulk import aggregates_at, notification_pages
from ledger.governorate import Governorate
from ledger.processes import PARALLEL_FROM_EVENTS, Part, database_url, id_range, results
from ledger.subscriber import Subscriber
from projections import tables as t
from projections import tracking
from projections.runner import sqlite_engine

PAGE = 200
PARTS = max(2, min(8, os.cpu_count() or 2))  # processes for a large ledger
IdRange = tuple[UUID | None, UUID | None]
KIND = "projection_mismatch"
SUBSCRIBER_FIELDS = ("governorate", "category", "meter_no", "name", "last_reading_kwh")
BALANCE_FIELDS = ("billed", "adjusted", "paid", "cleared", "outstanding", "refunds_due")
BILL_FIELDS = ("subscriber_no", "cycle", "amount", "amount_issued", "unit_issued", "adjusted", "paid", "outstanding")
PAYMENT_FIELDS = ("subscriber_no", "bill_id", "amount", "channel", "status", "settlement_ref")


def fault(detail: str) -> dict[str, Any]:
    return {"position": None, "kind": KIND, "detail": detail}


@contextmanager
def snapshot(app: Any) -> Iterator[Connection]:
    """A read-only connection that sees the read models as of one instant throughout."""
    engine = sqlite_engine(app, "BEGIN")
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn
    finally:
        if engine is not app.recorder.datastore.engine:
            engine.dispose()


Faults = Iterator[dict[str, Any]]


def _compare(what: str, got: dict[str, Any] | None, expected: dict[str, Any], fields: tuple[str, ...]) -> Faults:
    if got is None:
        yield fault(f"{what} is missing from the read models")
        return
    for name in fields:
        if got[name] != expected[name]:
            yield fault(f"{what}: {name} is {got[name]!r} in the read models but {expected[name]!r} on replay")


def _rows(conn: Connection, table: Any, key: Any, subscriber_nos: list[str]) -> dict[Any, dict[str, Any]]:
    found = conn.execute(select(table).where(table.c.subscriber_no.in_(subscriber_nos))).mappings()
    return {key(row): dict(row) for row in found}


def _check_subscriber(
    sub: Any, row: dict[str, Any] | None, bills: dict[Any, Any], payments: dict[Any, Any], today: date
) -> Faults:
    view = views.subscriber_view(sub, today)
    expected = {**view, **view["balance"]}
    yield from _compare(f"subscriber {sub.subscriber_no}", row, expected, SUBSCRIBER_FIELDS + BALANCE_FIELDS)
    for bill_id, bill in sub.bills.items():
        bill_view = views.bill_view(sub, bill, today)
        yield from _compare(f"bill {bill_id}", bills.pop(bill_id, None), bill_view, BILL_FIELDS)
    for payment in sub.payments.values():
        key = (payment["bank"], payment["payment_ref"])
        payment_view = views.payment_view(sub, payment)
        yield from _compare(
            f"payment {payment['bank']}:{payment['payment_ref']}", payments.pop(key, None), payment_view, PAYMENT_FIELDS
        )


def _check_page(app: Any, conn: Connection, ids: list[UUID], position: int) -> Faults:
    replayed = aggregates_at(app, ids, position)
    subs = [replayed[i] for i in ids if i in replayed]
    nos = [s.subscriber_no for s in subs]
    rows = _rows(conn, t.subscribers, lambda r: r["subscriber_no"], nos)
    bills = _rows(conn, t.bills, lambda r: r["bill_id"], nos)
    payments = _rows(conn, t.payments, lambda r: (r["bank"], r["payment_ref"]), nos)
    for sub in subs:
        yield from _check_subscriber(sub, rows.get(sub.subscriber_no), bills, payments, app.today())
    for bill_id in bills:
        yield fault(f"bill {bill_id} is in the read models but not in the ledger")
    for bank, ref in payments:
        yield fault(f"payment {bank}:{ref} is in the read models but not in the ledger")


def _registered(app: Any, position: int, ids: IdRange) -> Iterator[list[UUID]]:
    """The subscribers registered up to `position` whose ids are in `ids`, in pages of PAGE, in log order."""
    low, high = ids
    page: list[UUID] = []
    for found in notification_pages(app, get_topic(Subscriber.Registered), position, PAGE):
        page += [
            n.originator_id
            for n in found
            if (low is None or n.originator_id >= low) and (high is None or n.originator_id < high)
        ]
        while len(page) >= PAGE:
            yield page[:PAGE]
            page = page[PAGE:]
    if page:
        yield page


def _projected(conn: Connection, ids: IdRange) -> int:
    """How many subscribers the read models hold with aggregate ids in `ids` (ids are stored as canonical text,
    whose order is the UUIDs' order)."""
    s = t.subscribers
    query = select(func.count()).select_from(s)
    if ids[0] is not None:
        query = query.where(s.c.subscriber_id >= str(ids[0]))
    if ids[1] is not None:
        query = query.where(s.c.subscriber_id < str(ids[1]))
    return int(conn.execute(query).scalar_one())


def _check_governorates(app: Any, conn: Connection, position: int) -> Faults:
    rows = {r["governorate_id"]: dict(r) for r in conn.execute(select(t.governorates)).mappings()}
    topic = get_topic(Governorate.Listed)
    listed = app.recorder.select_notifications(0, 1000, stop=position, topics=[topic], inclusive_of_start=False)
    replayed = aggregates_at(app, [n.originator_id for n in listed], position)
    for n in listed:
        governorate = replayed[n.originator_id]
        row = rows.get(str(n.originator_id))
        live_since = None if row is None or row["live_since"] is None else row["live_since"].isoformat()
        if row is None or live_since != governorate.live_since:
            yield fault(
                f"governorate {governorate.code}: e-payment live since {live_since!r} in the read models "
                f"but {governorate.live_since!r} on replay"
            )


def check_projections(app: Any, upto: int | None = None) -> Faults:
    """Faults wherever a read model differs from the replay of the events it says it has applied.

    `upto` (the audit's last verified position) is not needed: the read models are compared at their own position.
    On PostgreSQL a large ledger is checked in PARTS other processes, each taking one range of subscriber ids
    (`python -m projections.verify PART PARTS`): the check replays every subscriber, and alone it took most of a
    verification's time on one core.
    """
    url = database_url(app)
    large = (app.recorder.max_notification_id() or 0) >= PARALLEL_FROM_EVENTS
    if url is None or app.recorder.datastore.engine.dialect.name != "postgresql" or not large:
        yield from check_range(app, (None, None))
        return
    for found in results([Part(url, "projections.verify", [str(part), str(PARTS)]) for part in range(PARTS)]):
        yield from found


def check_range(app: Any, ids: IdRange) -> Faults:
    """The check over the subscribers whose aggregate ids are in `ids`; the governorates with the first range."""
    with snapshot(app) as conn:
        if not inspect(conn).has_table(t.tracking.name):
            return
        position = tracking.position(conn, app.name)
        registered = 0
        for page in _registered(app, position, ids):
            registered += len(page)
            yield from _check_page(app, conn, page, position)
        projected = _projected(conn, ids)
        if projected != registered:
            within = "" if ids == (None, None) else f" with ids from {ids[0] or 'the lowest'} below {ids[1] or 'none'}"
            yield fault(f"{projected} subscribers in the read models, {registered} registered up to {position}{within}")
        if ids[0] is None:
            yield from _check_governorates(app, conn, position)


if __name__ == "__main__":
    from ledger.application import LedgerApplication

    part, parts = (int(arg) for arg in sys.argv[1:3])
    ledger = LedgerApplication()
    try:
        print(json.dumps(list(check_range(ledger, id_range(part, parts)))), flush=True)
    finally:
        ledger.close()
