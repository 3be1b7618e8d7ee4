"""The rows one batch of events touches: loaded in bulk, changed in memory, written back in the batch's transaction.

Handlers (`projections.apply`) never issue SQL themselves; they read and change plain dicts here. `flush` then
inserts, updates and deletes exactly the rows that changed, so a batch of 500 events costs a handful of statements
instead of thousands. Money in the dicts is `Decimal` in new pounds, instants are timezone-aware datetimes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, func, insert, literal, select, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from projections import tables as t
from projections.copying import copy_rows

Row = dict[str, Any]
CHUNK = 400  # keys per IN (...) list: well inside SQLite's limit on bound parameters


class ProjectionError(RuntimeError):
    """The events contradict the read models (an unknown bill, payment or subscriber): stop rather than guess."""


def chunks(conn: Connection, keys: Sequence[Hashable]) -> Iterator[Sequence[Hashable]]:
    """The keys in lists of CHUNK on SQLite (its limit on bound parameters); on PostgreSQL all at once, as arrays."""
    size = len(keys) if conn.dialect.name == "postgresql" else CHUNK
    for start in range(0, len(keys), max(size, 1)):
        yield keys[start : start + size]


def key_in(conn: Connection, columns: list[Any], keys: Sequence[Hashable]) -> Any:
    """`columns` IN `keys`; a key is a value for one column, else a tuple.

    On PostgreSQL the keys go as one array per column, unnested: a plan that is the same for any number of keys,
    where a list of composite literals is planned as hundreds of OR-ed index probes.
    """
    if conn.dialect.name != "postgresql":
        return columns[0].in_(keys) if len(columns) == 1 else tuple_(*columns).in_(keys)
    values = [list(keys)] if len(columns) == 1 else [list(part) for part in zip(*keys, strict=True)]
    arrays = [func.unnest(literal(v, ARRAY(c.type))) for c, v in zip(columns, values, strict=True)]
    return tuple_(*columns).in_(select(*arrays)) if len(columns) > 1 else columns[0].in_(select(*arrays))


class TableRows:
    """One table's rows of this batch, keyed by primary key; `None` marks a row that does not (or no longer) exist."""

    def __init__(self, table: Table, complete: bool = False) -> None:
        self.table = table
        # complete: the batch already holds every row there is (a rebuild by whole aggregates), so a key it does not
        # hold has no row and is never looked up
        self.complete = complete
        self.pk = [c.name for c in table.primary_key.columns]
        # A row's key: the value of a one-column key, else the tuple of the key's values (called for every change).
        self.key_of: Callable[[Row], Hashable] = itemgetter(*self.pk)
        self.rows: dict[Hashable, Row | None] = {}
        self.in_db: set[Hashable] = set()
        self.touched: set[Hashable] = set()

    def load(self, conn: Connection, keys: Iterable[Hashable]) -> None:
        missing = [k for k in set(keys) if k not in self.rows]
        if self.complete:
            self.rows.update(dict.fromkeys(missing))
            return
        columns = [self.table.c[name] for name in self.pk]
        for chunk in chunks(conn, missing):
            for found in conn.execute(select(self.table).where(key_in(conn, columns, chunk))).mappings():
                self.loaded(dict(found))
            for key in chunk:
                self.rows.setdefault(key, None)

    def loaded(self, row: Row) -> None:
        """Keep a row just read from the table, unless this batch already holds (and may have changed) it."""
        key = self.key_of(row)
        if key not in self.rows:
            self.rows[key] = row
            self.in_db.add(key)

    def get(self, conn: Connection, key: Hashable) -> Row | None:
        if key not in self.rows:
            self.load(conn, [key])
        return self.rows[key]

    def put(self, row: Row) -> None:
        key = self.key_of(row)
        self.rows[key] = row
        self.touched.add(key)

    def remove(self, key: Hashable) -> None:
        if self.rows.get(key) is not None:
            self.rows[key] = None
            self.touched.add(key)

    def changed(self, row: Row) -> None:
        self.touched.add(self.key_of(row))

    def flush(self, conn: Connection) -> None:
        current = [(k, self.rows[k]) for k in self.touched]
        inserts = [row for k, row in current if row is not None and k not in self.in_db]
        updates = [row for k, row in current if row is not None and k in self.in_db]
        deletes = [k for k, row in current if row is None and k in self.in_db]
        if deletes:
            conn.execute(delete(self.table).where(self._pk_match()), [self._pk_params(k) for k in deletes])
        if inserts and conn.dialect.name == "postgresql":
            copy_rows(conn, self.table, inserts)
        elif inserts:
            conn.execute(insert(self.table), inserts)
        if updates:
            values: dict[str, Any] = {c.name: bindparam(c.name) for c in self.table.columns if c.name not in self.pk}
            statement = update(self.table).where(self._pk_match()).values(values)
            conn.execute(statement, [{**row, **self._pk_params(self.key_of(row))} for row in updates])
        self.in_db = {k for k, row in self.rows.items() if row is not None}
        self.touched.clear()

    def _pk_match(self) -> Any:
        return and_(*(self.table.c[name] == bindparam(f"pk_{name}") for name in self.pk))

    def _pk_params(self, key: Hashable) -> dict[str, Any]:
        values: tuple[Any, ...] = (key,) if len(self.pk) == 1 else cast(tuple[Any, ...], key)
        return {f"pk_{name}": value for name, value in zip(self.pk, values, strict=True)}


class WorkingSet:
    """Every table's rows for one batch, plus the subscribers whose totals must be summed again afterwards."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.subscribers = TableRows(t.subscribers)
        self.bills = TableRows(t.bills)
        self.payments = TableRows(t.payments)
        self.review_queue = TableRows(t.review_queue)
        self.governorates = TableRows(t.governorates)
        self.settlements = TableRows(t.settlements)
        self.subscriber_no_by_id: dict[str, str] = {}
        self.governorate_by_id: dict[str, str] = {}
        self.totals_stale: set[str] = set()

    # -- loading --------------------------------------------------------------------------------------------------

    def load_subscribers_by_id(self, ids: Iterable[str]) -> None:
        """Load the subscribers' rows by aggregate id (one SELECT of whole rows per chunk of ids)."""
        missing = [i for i in set(ids) if i not in self.subscriber_no_by_id]
        s = t.subscribers
        for chunk in chunks(self.conn, missing):
            for found in self.conn.execute(select(s).where(key_in(self.conn, [s.c.subscriber_id], chunk))).mappings():
                self.subscriber_no_by_id[found["subscriber_id"]] = found["subscriber_no"]
                self.subscribers.loaded(dict(found))

    def load_governorates(self) -> None:
        for found in self.conn.execute(select(t.governorates)).mappings():
            row = dict(found)
            self.governorates.rows[row["code"]] = row
            self.governorates.in_db.add(row["code"])
            if row["governorate_id"]:
                self.governorate_by_id[row["governorate_id"]] = row["code"]

    # -- access for handlers --------------------------------------------------------------------------------------

    def subscriber(self, subscriber_id: str) -> Row:
        if subscriber_id not in self.subscriber_no_by_id:
            self.load_subscribers_by_id([subscriber_id])
        return self._require(self.subscribers, self.subscriber_no_by_id.get(subscriber_id), "subscriber", subscriber_id)

    def add_subscriber(self, row: Row) -> None:
        self.subscriber_no_by_id[row["subscriber_id"]] = row["subscriber_no"]
        self.subscribers.put(row)

    def bill(self, bill_id: str) -> Row:
        return self._require(self.bills, bill_id, "bill", bill_id)

    def payment(self, payment_key: str) -> Row:
        bank, _, ref = payment_key.partition(":")
        return self._require(self.payments, (bank, ref), "payment", payment_key)

    def governorate(self, code: str) -> Row:
        row = self.governorates.get(self.conn, code)
        if row is None:  # a subscriber of a governorate not listed (yet): count it all the same
            row = {
                "code": code,
                "governorate_id": None,
                "live_since": None,
                "switches": 0,
                "switched_at": None,
                "subscribers": 0,
                "enrolled": 0,
                "listed": False,
            }
            self.governorates.put(row)
        return row

    def governorate_by_aggregate(self, governorate_id: str) -> Row:
        code = self.governorate_by_id.get(governorate_id)
        if code is None:
            raise ProjectionError(f"governorate aggregate {governorate_id} was never listed")
        return self.governorate(code)

    def _require(self, rows: TableRows, key: Hashable | None, kind: str, shown: object) -> Row:
        row = None if key is None else rows.get(self.conn, key)
        if row is None:
            raise ProjectionError(f"an event refers to {kind} {shown}, which the read model does not have")
        return row

    # -- writing --------------------------------------------------------------------------------------------------

    def flush(self) -> None:
        for rows in self.flushed():
            rows.flush(self.conn)
        refresh_totals(self.conn, sorted(self.totals_stale))
        self.totals_stale.clear()

    def flushed(self) -> tuple[TableRows, ...]:
        return (self.governorates, self.subscribers, self.bills, self.payments, self.review_queue, self.settlements)


def _totals_statement() -> Any:
    s, b, p = t.subscribers, t.bills, t.payments

    def bill_sum(column: Any) -> Any:
        return t.money_sum(column, b.c.subscriber_no == s.c.subscriber_no)

    def payment_sum(*where: Any) -> Any:
        return t.money_sum(p.c.amount, p.c.subscriber_no == s.c.subscriber_no, *where)

    live = p.c.status != "reversed"
    return (
        update(s)
        .where(s.c.subscriber_no.in_(bindparam("nos", expanding=True)))
        .values(
            billed=bill_sum(b.c.amount),
            adjusted=bill_sum(b.c.adjusted),
            outstanding=bill_sum(b.c.outstanding),
            paid=payment_sum(live),
            cleared=payment_sum(p.c.status == "cleared"),
            refunds_due=payment_sum(p.c.status == "reversed", p.c.settlement_ref.is_not(None)),
            last_payment_at=select(func.max(p.c.paid_at))
            .where(p.c.subscriber_no == s.c.subscriber_no, live)
            .scalar_subquery(),
        )
    )


REFRESH_TOTALS = _totals_statement()


def refresh_totals(conn: Connection, subscriber_nos: list[str]) -> None:
    """Sum each subscriber's bills and payments again: the subscriber row's totals are never added to by hand."""
    for start in range(0, len(subscriber_nos), CHUNK):
        conn.execute(REFRESH_TOTALS, {"nos": subscriber_nos[start : start + CHUNK]})
