"""The audit tests' world: a small realistic ledger, and a tamperer that edits the stored rows directly.

The tamperer uses its own SQLAlchemy engine on the same URL (psycopg2 on PostgreSQL, sqlite3 on SQLite), as someone
with write access to the database would, bypassing the application entirely.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, text

from ledger.actors import acting_as

MARCH = datetime(2026, 3, 1, 10, tzinfo=UTC)


def seed(app: Any) -> None:
    """Two subscribers in Damascus with readings, bills, payments, a reversal, an adjustment and a settlement."""
    with acting_as("staff-test", "api"):
        for no, meter in (("DI-1", "M1"), ("DI-2", "M2")):
            app.register_subscriber(no, "SY-DI", "residential", meter, 1000, f"Subscriber {no}")
            app.enrol(no, "CBS", "****4321")
            app.submit_reading(no, 1400, datetime(2026, 2, 20, tzinfo=UTC), "reader")
            app.issue_bill(no, "2026-C1")
    with acting_as("cbs-test", "api"):
        app.receive_payment("CBS", "TX1", "DI-1", "DI-1-2026-C1", "1000.00", "web", MARCH)
        app.receive_payment("CBS", "TX2", "DI-2", "DI-2-2026-C1", "3200.00", "app", MARCH)
        app.receive_payment("CBS", "TX3", "DI-1", "DI-1-2026-C1", "200.00", "web", MARCH)
        app.reverse_payment("CBS", "TX3", "duplicate debit")
        app.settle("CBS", "S1", date(2026, 3, 2), ["TX1", "TX2"], "4200.00")
    with acting_as("staff-test", "api"):
        app.adjust_bill("DI-1", "DI-1-2026-C1", Decimal("-100.00"), "credit note: estimated reading corrected")


class Tamperer:
    """Direct edits of the event table, as an attacker with database access would make them."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    def run(self, sql: str, **params: Any) -> Any:
        with self.engine.begin() as conn:
            return conn.execute(text(sql), params)

    def row(self, position: int) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT * FROM ledger_events WHERE id = :p"), {"p": position}).one()

    def positions(self) -> list[int]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT id FROM ledger_events ORDER BY id"))]

    def flip_byte(self, position: int, needle: bytes, replacement: bytes) -> None:
        state = bytes(self.row(position).state)
        assert needle in state
        self.run(
            "UPDATE ledger_events SET state = :s WHERE id = :p", s=state.replace(needle, replacement, 1), p=position
        )

    def delete(self, position: int) -> None:
        self.run("DELETE FROM ledger_events WHERE id = :p", p=position)

    def swap(self, a: int, b: int) -> None:
        """Exchange the whole content of two rows, keeping their ids (the unique index forces a detour)."""
        ra, rb = self.row(a), self.row(b)
        self.delete(a)
        self.delete(b)
        for position, source in ((a, rb), (b, ra)):
            self.insert(position, source.originator_id, source.originator_version, source.topic, bytes(source.state))

    def insert(self, position: int, originator_id: Any, version: int, topic: str, state: bytes) -> None:
        self.run(
            "INSERT INTO ledger_events (id, originator_id, originator_version, topic, state) "
            "VALUES (:p, :o, :v, :t, :s)",
            p=position,
            o=originator_id,
            v=version,
            t=topic,
            s=state,
        )
