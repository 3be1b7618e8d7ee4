"""Baselines measured in the same run as the ledger: raw SQL inserts and reads, the naive library, a CRUD ledger.

Rates are operations per second. The raw table has the shape of the event table (id, originator_id, version,
topic, state bytes with a unique (originator_id, version) index), and rows carry a state of realistic size.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from decimal import Decimal

from benchmarks.databases import Scratch

STATE = json.dumps(
    {
        "payment_key": "CBS:TX0000001",
        "bill_id": "DI-000001-2026-C5",
        "amount": "1000.00",
        "channel": "web",
        "paid_at": "2026-10-21T10:00:00+00:00",
        "recorded_by": "bank:CBS",
    }
).encode()


def _param(db: Scratch) -> str:
    return "%s" if db.backend == "postgres" else "?"


def create_raw_table(db: Scratch, name: str = "raw_events") -> None:
    conn = db.connect()
    serial = "BIGSERIAL" if db.backend == "postgres" else "INTEGER"
    blob = "BYTEA" if db.backend == "postgres" else "BLOB"
    cur = conn.cursor()
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {name} (id {serial} PRIMARY KEY, originator_id TEXT NOT NULL, "
        f"originator_version BIGINT NOT NULL, topic TEXT NOT NULL, state {blob} NOT NULL)"
    )
    cur.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_agg ON {name} (originator_id, originator_version)")
    _commit(db, conn)
    conn.close()


def _commit(db: Scratch, conn) -> None:
    if db.backend == "postgres":
        conn.commit()


def _insert_sql(db: Scratch, name: str, rows: int = 1) -> str:
    p = _param(db)
    values = ", ".join([f"({p}, {p}, {p}, {p})"] * rows)
    return f"INSERT INTO {name} (originator_id, originator_version, topic, state) VALUES {values}"


def raw_single_inserts(db: Scratch, count: int, clients: int = 1) -> float:
    """Rows per second with one INSERT per transaction, from `clients` connections at once."""
    create_raw_table(db)
    per_client = max(count // clients, 1)

    def work() -> None:
        conn = db.connect()
        cur = conn.cursor()
        sql = _insert_sql(db, "raw_events")
        for _ in range(per_client):
            if db.backend == "sqlite":
                cur.execute("BEGIN IMMEDIATE")
            cur.execute(sql, (str(uuid.uuid4()), 1, "ledger.subscriber:Subscriber.PaymentReceived", STATE))
            conn.commit()
        conn.close()

    return _timed_threads(work, clients, per_client * clients)


def _timed_threads(work, clients: int, operations: int) -> float:
    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return operations / (time.perf_counter() - started)


def raw_batch_inserts(db: Scratch, count: int, batch: int = 1000) -> float:
    """Rows per second with one multi-row INSERT of `batch` rows per transaction."""
    create_raw_table(db, "raw_batch")
    conn = db.connect()
    cur = conn.cursor()
    rows = max(batch if db.backend == "postgres" else 200, 1)  # SQLite caps bound parameters per statement
    sql = _insert_sql(db, "raw_batch", rows)
    started = time.perf_counter()
    done = 0
    while done < count:
        if db.backend == "sqlite":
            cur.execute("BEGIN IMMEDIATE")
        for _ in range(0, batch, rows):
            params: list[object] = []
            for _ in range(rows):
                params += [str(uuid.uuid4()), 1, "ledger.subscriber:Subscriber.BillIssued", STATE]
            cur.execute(sql, params)
        conn.commit()
        done += batch
    rate = done / (time.perf_counter() - started)
    conn.close()
    return rate


def raw_read_decode(db: Scratch, table: str) -> float:
    """Rows per second reading a whole event table in order with a server-side cursor and decoding each state."""
    conn = db.connect()
    cur = conn.cursor("reader") if db.backend == "postgres" else conn.cursor()
    if db.backend == "postgres":
        cur.itersize = 5000
    started = time.perf_counter()
    cur.execute(f"SELECT id, originator_id, originator_version, topic, state FROM {table} ORDER BY id")
    rows = 0
    for row in cur:
        json.loads(bytes(row[4]))
        rows += 1
    rate = rows / (time.perf_counter() - started)
    conn.close()
    return rate


def crud_payments(db: Scratch, count: int, bills: int = 200) -> float:
    """A team without event sourcing: one payment row plus an UPDATE of the bill's paid balance per transaction."""
    conn = db.connect()
    cur = conn.cursor()
    cur.execute("CREATE TABLE crud_bills (bill_id TEXT PRIMARY KEY, amount NUMERIC(18,2), paid NUMERIC(18,2))")
    cur.execute("CREATE TABLE crud_payments (payment_key TEXT PRIMARY KEY, bill_id TEXT, amount NUMERIC(18,2))")
    p = _param(db)
    for n in range(bills):
        cur.execute(f"INSERT INTO crud_bills VALUES ({p}, {p}, {p})", (f"B{n}", "1000000.00", "0.00"))
    _commit(db, conn)
    lock = " FOR UPDATE" if db.backend == "postgres" else ""
    started = time.perf_counter()
    for n in range(count):
        if db.backend == "sqlite":
            cur.execute("BEGIN IMMEDIATE")
        bill = f"B{n % bills}"
        cur.execute(f"SELECT amount, paid FROM crud_bills WHERE bill_id = {p}{lock}", (bill,))
        amount, paid = cur.fetchone()
        assert Decimal(str(paid)) + 1 <= Decimal(str(amount))
        cur.execute(f"INSERT INTO crud_payments VALUES ({p}, {p}, {p})", (f"CBS:T{n}", bill, "1.00"))
        cur.execute(f"UPDATE crud_bills SET paid = paid + 1 WHERE bill_id = {p}", (bill,))
        conn.commit()
    rate = count / (time.perf_counter() - started)
    conn.close()
    return rate
