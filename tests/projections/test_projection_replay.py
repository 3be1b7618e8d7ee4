"""Balances are derived, never stored as truth (invariant 5): for random histories, every read model equals what a
fresh replay of the events gives, however the events were batched, and a rebuild reproduces the tables exactly.

Expected values come from `ledger.views` over subscribers loaded afresh from the repository, and, for the
dashboards, from a naive recomputation over those subscribers' state (tests/projections/projection_helpers.py).
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ledger import LedgerApplication, views
from projections import queries
from projections import tables as t
from projections.runner import ProjectionRunner
from projections.verify import check_projections
from tests.conftest import FixedClock, create_pg_database
from tests.projections.ledger_world import STARTS, World, operations, prologue
from tests.projections.projection_helpers import (
    all_subscribers,
    dump_read_models,
    expected_arrears,
    expected_collection,
)

FAST_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None  # memory-backed: commits need no disk flush
BALANCE_KEYS = ("billed", "adjusted", "paid", "cleared", "outstanding", "overdue", "refunds_due", "unit")


def rows(engine: Any, table: Any, key: str) -> dict[Any, Any]:
    with engine.connect() as conn:
        return {r[key]: dict(r) for r in conn.execute(select(table)).mappings()}


def check_subscribers(engine: Any, subs: list[Any], today: Any) -> None:
    for sub in subs:
        view = views.subscriber_view(sub, today)
        got = queries.subscriber_balance(engine, sub.subscriber_no, today)
        assert got is not None
        for key in ("subscriber_no", "governorate", "category", "meter_no", "name", "last_reading_kwh"):
            assert got[key] == view[key], key
        assert got["balance"] == {k: view["balance"][k] for k in BALANCE_KEYS}
        assert got["enrolled_banks"] == sorted(sub.enrolments)
        live = [instant(p["paid_at"]) for p in sub.payments.values() if p["status"] != "reversed"]
        assert got["last_payment_at"] == (max(live) if live else None)


def instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def check_bills_and_payments(engine: Any, subs: list[Any], today: Any) -> None:
    bills, payments = rows(engine, t.bills, "bill_id"), rows(engine, t.payments, "payment_ref")
    assert len(bills) == sum(len(s.bills) for s in subs)
    assert len(payments) == sum(len(s.payments) for s in subs)
    for sub in subs:
        for bill in sub.bills.values():
            view, got = views.bill_view(sub, bill, today), bills[bill["bill_id"]]
            for key in (
                "subscriber_no",
                "cycle",
                "amount",
                "amount_issued",
                "unit_issued",
                "adjusted",
                "paid",
                "outstanding",
                "kwh",
                "tariff_version",
            ):
                assert got[key] == view[key], key
            assert got["due_date"].isoformat() == view["due_date"]
            cleared = [
                p["amount"]
                for p in sub.payments.values()
                if p["bill_id"] == bill["bill_id"] and p["status"] == "cleared"
            ]
            assert got["cleared"] == sum(cleared, Decimal("0.00"))
        for payment in sub.payments.values():
            view, got = views.payment_view(sub, payment), payments[payment["payment_ref"]]
            for key in ("bank", "subscriber_no", "bill_id", "amount", "channel", "status", "settlement_ref"):
                assert got[key] == view[key], key
            for key in ("paid_at", "cleared_at", "reversed_at", "received_at"):
                assert got[key] == instant(view[key]), key


def check_review_queue(engine: Any, subs: list[Any]) -> None:
    flagged = {rid for s in subs for rid, r in s.readings.items() if r["flagged"]}
    assert set(rows(engine, t.review_queue, "reading_id")) == flagged


def check_governorates(engine: Any, app: Any, subs: list[Any]) -> None:
    got = {g["code"]: g for g in queries.governorate_status(engine, app.today())["items"]}
    for expected in app.governorates():
        mine = got[expected["code"]]
        assert (mine["e_payment"], mine["live_since"] and mine["live_since"].isoformat()) == (
            expected["e_payment"],
            expected["live_since"],
        )
        assert mine["subscribers"] == sum(1 for s in subs if s.governorate == expected["code"])
        assert mine["enrolled_subscribers"] == sum(
            1 for s in subs if s.governorate == expected["code"] and s.enrolments
        )


def check_dashboards(engine: Any, subs: list[Any], today: Any) -> None:
    cycles = {b["cycle"] for s in subs for b in s.bills.values()}
    for cycle in cycles:
        for governorate in (None, "SY-DI"):
            got = queries.collection_dashboard(engine, cycle, governorate)
            expected = expected_collection(subs, cycle, governorate, today)
            assert {k: got[k] for k in expected} == expected
            assert sum(p["bills"] for p in got["by_governorate"]) == got["bills"]
    for governorate in (None, "SY-DR"):
        got = queries.arrears(engine, governorate, today)
        found = {b["bucket"]: b["outstanding"] for b in got["buckets"] if b["outstanding"]}
        expected = expected_arrears(subs, governorate, today)
        assert found == {k: v for k, v in expected.items() if k != "not_yet_due"}
        assert got["not_yet_due"] == expected.get("not_yet_due", Decimal("0.00"))


def check_paging(engine: Any, subs: list[Any], today: Any) -> None:
    for governorate, overdue in ((None, None), ("SY-DI", None), (None, True), (None, False)):
        seen, cursor = [], None
        while True:
            page = queries.list_balances(engine, governorate, None, overdue, 2, cursor, today)
            seen += [item["subscriber_no"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        expected = sorted(
            s.subscriber_no
            for s in subs
            if governorate in (None, s.governorate)
            and (overdue is None or (views.balance(s, today)["overdue"] > 0) == overdue)
        )
        assert seen == expected


def check_everything(app: Any, engine: Any, today: Any) -> None:
    """Compare every read model with a fresh application's replay of the same store (no cache, no shared state)."""
    fresh = LedgerApplication(env={"LEDGER_DATABASE_URL": str(app.recorder.datastore.engine.url)}, clock=app.clock)
    try:
        subs = all_subscribers(fresh)
    finally:
        fresh.close()
    check_bills_and_payments(engine, subs, today)
    check_review_queue(engine, subs)
    check_governorates(engine, app, subs)
    for day in (today, today + timedelta(days=45), today + timedelta(days=200)):
        check_subscribers(engine, subs, day)
        check_dashboards(engine, subs, day)
        check_paging(engine, subs, day)


def played(app: Any, clock: Any, runner: Any, start: Any, ops: list[Any]) -> World:
    """The world after its prologue and operations, the read models caught up where the operations say and at the
    end."""
    world = World(app, clock)
    world.start(start)
    for op in ops:
        runner.catch_up() if op[0] == "project" else world.play(op)
    runner.catch_up()
    return world


def _note_variety(app: Any, engine: Any) -> None:
    """Tell `--hypothesis-show-statistics` which kinds of events the examples produced."""
    from hypothesis import event

    with engine.connect() as conn:
        for table in (t.bills, t.payments, t.review_queue):
            event(f"{table.name}: {'some' if conn.execute(select(table)).first() else 'none'}")
        statuses = conn.execute(select(t.payments.c.status).distinct()).scalars().all()
        event(f"payment statuses: {sorted(statuses)}")
        units = conn.execute(select(t.bills.c.unit_issued).distinct()).scalars().all()
        event(f"bill units: {sorted(units)}")


@given(
    start=prologue,
    ops=st.lists(operations, min_size=8, max_size=40),
    now=st.sampled_from(STARTS),
    batch_size=st.sampled_from([1, 3, 500]),
)
def test_every_read_model_equals_a_fresh_replay_and_a_rebuild_reproduces_it(start, ops, now, batch_size):
    with tempfile.TemporaryDirectory(dir=FAST_DIR) as tmp:
        clock = FixedClock(now)
        app = LedgerApplication(env={"LEDGER_DATABASE_URL": f"sqlite:///{tmp}/ledger.db"}, clock=clock)
        runner = ProjectionRunner(app, batch_size=batch_size)
        try:
            with runner.locked():
                world = played(app, clock, runner, start, ops)
                assert runner.position() == app.recorder.max_notification_id()
                check_everything(app, runner.engine, world.today())
                _note_variety(app, runner.engine)
                assert list(check_projections(app, None)) == []
                before = dump_read_models(runner.engine)
                runner.rebuild(progress=False)
                assert dump_read_models(runner.engine) == before
        finally:
            runner.close()
            app.close()


@pytest.mark.postgres
@settings(max_examples=15)
@given(start=prologue, ops=st.lists(operations, min_size=8, max_size=40), now=st.sampled_from(STARTS))
def test_a_rebuild_by_whole_aggregates_gives_the_tables_catching_up_in_log_order_gives(start, ops, now):
    """PostgreSQL rebuilds by aggregate, not in log order (projections/rebuild.py): the tables must not differ."""
    url, drop = create_pg_database()
    clock = FixedClock(now)
    app = LedgerApplication(env={"LEDGER_DATABASE_URL": url}, clock=clock)
    runner = ProjectionRunner(app, batch_size=5)
    try:
        with runner.locked():
            world = played(app, clock, runner, start, ops)
            in_log_order = dump_read_models(runner.engine)
            assert runner.rebuild(progress=False) == app.recorder.max_notification_id()
            assert dump_read_models(runner.engine) == in_log_order
            check_everything(app, runner.engine, world.today())
    finally:
        runner.close()
        app.close()
        drop()
