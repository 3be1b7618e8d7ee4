"""On PostgreSQL a batch's new read-model rows go in with COPY: every value must come back exactly as an INSERT of
the same row stores it, awkward text, NULLs, defaults, money, instants and days included, and bad money is
refused the same way."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, insert, select

from projections import tables as t
from projections.copying import copy_rows
from projections.workingset import key_in

pytestmark = pytest.mark.postgres

AWKWARD = ["tab\there", "line\nbreak", "cr\rhere", "back\\slash", "\\N", "", "حلب الشهباء", "'quoted' \"both\""]


def _subscriber(number: int, name: str) -> dict:
    row = {
        "subscriber_no": f"HL-{number}",
        "subscriber_id": f"00000000-0000-0000-0000-{number:012d}",
        "governorate": "SY-HL",
        "category": "residential",
        "meter_no": f"M{number}",
        "name": name,
        "last_reading_kwh": 10**12 + number,
        "registered_at": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=3))),
        "billed": Decimal("1234567890123456.78"),
        "paid": Decimal("0.10"),
        "last_payment_at": None if number % 2 else datetime(2026, 5, 6, tzinfo=UTC),
    }
    return row  # enrolled_banks, adjusted, cleared, outstanding, refunds_due and unit take their defaults


@pytest.fixture
def engine(pg_url):
    engine = create_engine(pg_url)
    t.metadata.create_all(engine, tables=[t.subscribers, t.governorates])
    yield engine
    engine.dispose()


def _dump(engine, table):
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()]


def test_copied_rows_read_back_exactly_as_inserted_rows(engine):
    rows = [_subscriber(n, name) for n, name in enumerate(AWKWARD)]
    with engine.begin() as conn:
        conn.execute(insert(t.subscribers), rows)
    inserted = _dump(engine, t.subscribers)
    with engine.begin() as conn:
        conn.execute(t.subscribers.delete())
        copy_rows(conn, t.subscribers, rows)
    copied = _dump(engine, t.subscribers)
    assert copied == inserted
    assert [row["name"] for row in copied] == [
        rows[n]["name"] for n in sorted(range(len(rows)), key=lambda n: f"HL-{n}")
    ]
    assert {row["unit"] for row in copied} == {"SYP"} and {row["refunds_due"] for row in copied} == {Decimal("0.00")}


def test_booleans_days_and_defaults_of_other_columns(engine):
    rows = [
        {"code": "SY-HL", "governorate_id": None, "live_since": date(2025, 1, 1), "listed": True},
        {"code": "SY-DR", "governorate_id": "g-dr", "live_since": None, "switched_at": None},
    ]
    with engine.begin() as conn:
        copy_rows(conn, t.governorates, rows)
    dumped = {row["code"]: row for row in _dump(engine, t.governorates)}
    assert dumped["SY-HL"]["listed"] is True and dumped["SY-DR"]["listed"] is False
    assert dumped["SY-HL"]["live_since"] == date(2025, 1, 1) and dumped["SY-DR"]["live_since"] is None
    assert dumped["SY-DR"]["switches"] == 0 and dumped["SY-DR"]["governorate_id"] == "g-dr"


@pytest.mark.parametrize("amount", [0.1, Decimal("0.001")])
def test_money_that_an_insert_refuses_is_refused_and_nothing_is_written(engine, amount):
    row = {**_subscriber(1, "Lina"), "paid": amount}
    with pytest.raises((TypeError, ValueError)), engine.begin() as conn:
        copy_rows(conn, t.subscribers, [row])
    assert _dump(engine, t.subscribers) == []


def test_a_row_missing_a_required_value_is_refused(engine):
    row = _subscriber(1, "Lina")
    del row["meter_no"]
    with pytest.raises(KeyError, match="meter_no"), engine.begin() as conn:
        copy_rows(conn, t.subscribers, [row])


def test_array_key_lookups_find_single_and_composite_keys(engine):
    rows = [_subscriber(n, f"name {n}") for n in range(5)]
    with engine.begin() as conn:
        copy_rows(conn, t.subscribers, rows)
        single = conn.execute(
            select(t.subscribers.c.subscriber_no).where(
                key_in(conn, [t.subscribers.c.subscriber_no], ["HL-1", "HL-3", "XX"])
            )
        ).scalars()
        assert sorted(single) == ["HL-1", "HL-3"]
        pair = [t.subscribers.c.subscriber_no, t.subscribers.c.meter_no]
        found = conn.execute(select(*pair).where(key_in(conn, pair, [("HL-2", "M2"), ("HL-4", "M3")]))).all()
        assert [tuple(row) for row in found] == [("HL-2", "M2")]
