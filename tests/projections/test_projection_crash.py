"""A runner killed with SIGKILL in the middle of catching up leaves the read models exactly at its last committed
batch, and the next runner resumes from there: nothing is applied twice, nothing is skipped, and the result equals a
rebuild from scratch. Runs on SQLite and on PostgreSQL, with the runner in a separate process."""

from __future__ import annotations

import time

import pytest
from eventsourcing.utils import get_topic
from sqlalchemy import func, select

from ledger.subscriber import Subscriber
from projections import tables as t
from projections.runner import ProjectionRunner
from tests.projections.projection_helpers import dump_read_models, seed_bulk
from tests.projections.runner_processes import finish, position, reader, start_runner, wait_for

pytestmark = pytest.mark.slow


def count_events(app, event_class, up_to: int) -> int:
    found = app.recorder.select_notifications(
        0, 100_000, stop=up_to, topics=[get_topic(event_class)], inclusive_of_start=False
    )
    return len(found)


def count_rows(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def assert_read_models_stop_exactly_at(app, engine, stopped_at: int) -> None:
    """Every kind of row counts exactly the events up to the position: no half-applied batch."""
    p = t.payments
    assert count_rows(engine, t.subscribers) == count_events(app, Subscriber.Registered, stopped_at)
    assert count_rows(engine, t.bills) == count_events(app, Subscriber.BillIssued, stopped_at)
    assert count_rows(engine, p) == count_events(app, Subscriber.PaymentReceived, stopped_at)
    assert count_rows(engine, p, p.c.settlement_ref.is_not(None)) == count_events(
        app, Subscriber.PaymentCleared, stopped_at
    )
    assert count_rows(engine, p, p.c.status == "reversed") == count_events(app, Subscriber.PaymentReversed, stopped_at)


def test_a_runner_killed_mid_batch_resumes_without_applying_twice_or_skipping(database_url, make_ledger):
    app = make_ledger(database_url)
    last = seed_bulk(app, 250)
    assert last > 2500
    engine = reader(database_url)
    try:
        doomed = start_runner(database_url, "--once", "--batch-size", "150", delay=0.3)
        wait_for(lambda: position(engine) > 0, what="the first committed batch")
        time.sleep(0.15)  # now inside the next batch's open transaction
        doomed.kill()
        doomed.communicate(timeout=30)
        stopped_at = position(engine)
        assert 0 < stopped_at < last
        assert_read_models_stop_exactly_at(app, engine, stopped_at)

        status, err = finish(start_runner(database_url, "--once", "--wait", "--interval", "0.1"))
        assert status == 0, err
        assert position(engine) == last
        resumed = dump_read_models(engine)
        runner = ProjectionRunner(app)
        with runner.locked():
            runner.rebuild(progress=False)
        runner.close()
        assert dump_read_models(engine) == resumed
    finally:
        engine.dispose()
