"""A rebuild from nothing, by whole aggregates: each aggregate's events in one batch, so nothing is ever looked up.

Catching up in log order has to look up, for every batch, the rows its events touch that earlier batches made
(a payment's bill, a clearing's payment), and to UPDATE them again: most of a rebuild's time went there. A rebuild
starts from empty tables, so it can take the events in another order: up to a fixed position `upto`, ordered by
aggregate and version (the event table's primary key), and cut into batches only between aggregates. Then a
batch holds every row its aggregates will ever have, knows that a row it does not hold does not exist, and writes
each row once, finished (with COPY on PostgreSQL).

The result is the same as replaying in log order, because the projections of different aggregates touch different
rows (a subscriber's bills, payments and queued readings carry its own number; a settlement is its own aggregate):
all except a governorate's row, which subscribers' registrations and enrolments count into. Those counts are sums,
so their order does not matter; the governorate rows are kept in memory for the whole rebuild (there are a few
dozen) and written once at the end. The tests compare both orders table by table.

A range of aggregate ids can be rebuilt on its own (`ids`), which is how the work splits over processes
(projections/rebuild_parts.py): the ranges' rows never overlap, and their governorate counts add up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from sqlalchemy import select
from sqlalchemy.engine import Engine

from ledger.money import ZERO
from ledger.read_ahead import read_ahead
from projections import apply
from projections import tables as t
from projections.workingset import Row, TableRows, WorkingSet

IdRange = tuple[UUID | None, UUID | None]
BATCH_EVENTS = 5000  # at least this many events per batch (an aggregate is never split, so a batch may hold more)


class Governorates:
    """The governorate rows of a whole rebuild (or of one range of it), kept in memory from batch to batch."""

    def __init__(self) -> None:
        self.rows = TableRows(t.governorates, complete=True)
        self.by_id: dict[str, str] = {}


class WholeAggregates(WorkingSet):
    """The rows of one batch that holds every event of each of its aggregates, in a rebuild from nothing."""

    def __init__(self, conn: Any, governorates: Governorates) -> None:
        super().__init__(conn)
        for rows in self.flushed():
            rows.complete = True
        self.governorates = governorates.rows
        self.governorate_by_id = governorates.by_id

    def load_subscribers_by_id(self, ids: Any) -> None:
        """Nothing to load: a subscriber this batch has not registered does not exist."""

    def load_governorates(self) -> None:
        """Nothing to load: the rebuild holds them all."""

    def flushed(self) -> tuple[TableRows, ...]:
        return (self.subscribers, self.bills, self.payments, self.review_queue, self.settlements)

    def flush(self) -> None:
        """Sum each subscriber's totals here, from its bills and payments, all of which this batch holds; then write
        every row once (they are all new). The sums are those of `workingset.refresh_totals`."""
        sum_totals(self.subscribers.rows, self.bills.rows, self.payments.rows)
        for rows in self.flushed():
            rows.flush(self.conn)
        self.totals_stale.clear()


Rows = dict[Any, Row | None]


def sum_totals(subscribers: Rows, bills: Rows, payments: Rows) -> None:
    """Set each subscriber row's totals from the given bills and payments, as `workingset.REFRESH_TOTALS` sums them
    in SQL: billed, adjusted and outstanding over its bills; paid and the last payment over its payments not
    reversed; cleared over the cleared ones; refunds due over the reversed ones a settlement had listed."""
    totals = {no: _zero_totals() for no, row in subscribers.items() if row is not None}
    for bill in filter(None, bills.values()):
        into = totals[bill["subscriber_no"]]
        into["billed"] += bill["amount"]
        into["adjusted"] += bill["adjusted"]
        into["outstanding"] += bill["outstanding"]
    for payment in filter(None, payments.values()):
        into, status = totals[payment["subscriber_no"]], payment["status"]
        if status == "reversed":
            into["refunds_due"] += payment["amount"] if payment["settlement_ref"] is not None else ZERO
            continue
        into["paid"] += payment["amount"]
        into["cleared"] += payment["amount"] if status == "cleared" else ZERO
        last = into["last_payment_at"]
        into["last_payment_at"] = payment["paid_at"] if last is None else max(last, payment["paid_at"])
    for no, found in totals.items():
        row = subscribers[no]
        assert row is not None
        row.update(found)


def _zero_totals() -> dict[str, Any]:
    return {
        "billed": ZERO,
        "adjusted": ZERO,
        "outstanding": ZERO,
        "paid": ZERO,
        "cleared": ZERO,
        "refunds_due": ZERO,
        "last_payment_at": None,
    }


def project_range(
    app: Any,
    engine: Engine,
    upto: int,
    ids: IdRange = (None, None),
    done: Callable[[int], None] = lambda _read: None,
) -> tuple[int, Governorates]:
    """Project every event at or below `upto` of the aggregates in `ids` into `engine`'s (empty) read models, one
    transaction per batch; returns the number of events read and the governorate rows, which are not written.
    `done(n)` is called after each batch with the number of events it read."""
    governorates = Governorates()
    read = 0
    for count, events in read_ahead(batches(app, upto, ids), "rebuild-reader"):
        with engine.begin() as conn:
            ws = WholeAggregates(conn, governorates)
            apply.apply_events(ws, events)
            ws.flush()
        read += count
        done(count)
    return read, governorates


def batches(app: Any, upto: int, ids: IdRange, size: int | None = None) -> Iterator[tuple[int, list[Any]]]:
    """(events read, the projected ones decoded) for batches of whole aggregates, in aggregate and version order.

    One query, streamed with a server-side cursor: ordered by the primary key, it reads the table's index once."""
    size = size or BATCH_EVENTS
    table = app.recorder.events_record_cls.__table__
    c = table.c
    query = select(c.originator_id, c.originator_version, c.topic, c.state).where(c.id <= upto)
    if ids[0] is not None:
        query = query.where(c.originator_id >= ids[0])
    if ids[1] is not None:
        query = query.where(c.originator_id < ids[1])
    query = query.order_by(c.originator_id, c.originator_version)
    rows: list[Any] = []
    with app.recorder.datastore.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=size).execute(query)
        for chunk in result.partitions():
            rows += chunk
            cut = _last_boundary(rows) if len(rows) >= size else 0
            if cut:
                yield cut, _decoded(app, rows[:cut])
                rows = rows[cut:]
    if rows:
        yield len(rows), _decoded(app, rows)


def _last_boundary(rows: list[Any]) -> int:
    """How many rows come before the last aggregate's first row (0 if they are all of one aggregate)."""
    last = rows[-1].originator_id
    cut = len(rows)
    while cut and rows[cut - 1].originator_id == last:
        cut -= 1
    return cut


def _decoded(app: Any, rows: list[Any]) -> list[Any]:
    to_event = app.mapper.to_domain_event
    return [
        to_event(StoredEvent(originator_id=r[0], originator_version=r[1], topic=r[2], state=bytes(r[3])))
        for r in rows
        if apply.is_projected(r[2])
    ]
