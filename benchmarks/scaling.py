"""Flat cost as history grows: loading an account with 1,000 events against one with 10, and one subscriber's
balance with 10,000 subscribers stored against many more.

The account loads use the ledger's automatic snapshots (every 50 events) and no in-process cache, so each load reads
the store. For the balance, the event table and the read model are grown with SQL copies of a registration and of
a read-model row: the query reads only its own subscriber's rows, so what matters is the size of the tables and
their indexes, which the copies grow exactly as real subscribers would. Times are medians of repeated calls.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.databases import Scratch
from benchmarks.ledger_scenarios import ledger_app, seed_subscribers
from ledger.subscriber import Subscriber, subscriber_id
from projections import queries
from projections import tables as t
from projections.runner import ProjectionRunner


def _median_ms(call: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def load_cost(db: Scratch, repeat: int = 50) -> dict[str, float]:
    """Median ms to load a subscriber with 10 events and one with 1,000 (snapshots as in production)."""
    app = ledger_app(db, LEDGER_AGGREGATE_CACHE="0")
    first, now = datetime(2025, 1, 1, tzinfo=UTC), datetime.now(UTC)
    for no, events in (("L-10", 10), ("L-1000", 1000)):
        sub = Subscriber.register(no, "SY-DI", "residential", f"M{no}", 0, "Long history")
        app.save(sub)
        for n in range(events - 1):  # one save per reading, so snapshots are taken as they would be
            sub.submit_reading(n + 1, first + timedelta(hours=n), "reader", now)
            app.save(sub)
    found = {
        no: _median_ms(functools.partial(app.repository.get, subscriber_id(no)), repeat) for no in ("L-10", "L-1000")
    }
    app.close()
    return {"load_10_events_ms": found["L-10"], "load_1000_events_ms": found["L-1000"]}


def _pad_events(db: Scratch, app: Any, count: int) -> None:
    """`count` more registrations in the event table: copies of one under fresh ids (PostgreSQL)."""
    table = app.recorder.events_record_cls.__table__.name
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
            f"SELECT md5('pad' || i)::uuid, 1, topic, state FROM {table}, generate_series(1, %s) AS i "
            f"WHERE id = (SELECT min(id) FROM {table} WHERE topic LIKE %s)",
            (count, "%Subscriber.Registered"),
        )


def _pad_read_model(db: Scratch, template: str, count: int) -> None:
    """`count` more rows in the subscribers' read model, copies of `template` under other numbers."""
    columns = [c.name for c in t.subscribers.columns]
    made = {"subscriber_no": "'PAD-' || lpad(i::text, 9, '0')", "subscriber_id": "md5('pad' || i)"}
    values = ", ".join(made.get(name, name) for name in columns)
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO {t.subscribers.name} ({', '.join(columns)}) SELECT {values} "
            f"FROM {t.subscribers.name}, generate_series(1, %s) AS i WHERE subscriber_no = %s",
            (count, template),
        )


def balance_cost(db: Scratch, small: int, large: int, repeat: int = 200) -> dict[str, float]:
    """Median ms of a subscriber's balance (from its events, and from the read model) at `small` and `large`."""
    app = ledger_app(db, LEDGER_AGGREGATE_CACHE="0")
    numbers = seed_subscribers(app, small, "S")
    app.billing_run("2026-C5", "SY-DI")
    runner = ProjectionRunner(app)
    with runner.locked():
        runner.catch_up()
    probe, today = numbers[len(numbers) // 2], app.today()
    engine = runner.engine

    def measure() -> tuple[float, float]:
        return (
            _median_ms(lambda: app.subscriber(probe), repeat),
            _median_ms(lambda: queries.subscriber_balance(engine, probe, today), repeat),
        )

    from_events_small, read_model_small = measure()
    _pad_events(db, app, large - small)
    _pad_read_model(db, probe, large - small)
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute("ANALYZE")
    from_events_large, read_model_large = measure()
    runner.close()
    app.close()
    return {
        f"balance_from_events_{small}_ms": from_events_small,
        f"balance_from_events_{large}_ms": from_events_large,
        f"balance_read_model_{small}_ms": read_model_small,
        f"balance_read_model_{large}_ms": read_model_large,
    }
