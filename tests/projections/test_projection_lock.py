"""Only one projection runner writes at a time: a second one exits with a clear message (status 75) or, with
--wait, stands by until the first is done; and a batch whose starting position moved under it is rolled back."""

from __future__ import annotations

import signal

import pytest
from sqlalchemy import update

from projections import tables as t
from projections.locking import RunnerBusy, WriterLock
from projections.runner import ProjectionRunner
from projections.tracking import PositionMoved
from tests.projections.projection_helpers import dump_read_models, seed_bulk
from tests.projections.runner_processes import finish, position, reader, start_runner, wait_for


@pytest.mark.slow
def test_a_second_runner_process_exits_or_waits_while_the_first_holds_the_lock(database_url, make_ledger):
    app = make_ledger(database_url)
    last = seed_bulk(app, 60)
    engine = reader(database_url)
    try:
        follower = start_runner(database_url, "--interval", "0.05")
        wait_for(lambda: position(engine) == last, what="the follower to catch up")
        status, err = finish(start_runner(database_url, "--once"), timeout=60)
        assert status == 75, err
        assert "another projection runner" in err and "--wait" in err
        standby = start_runner(database_url, "--once", "--wait", "--interval", "0.05")
        last = seed_bulk(app, 30, seed=1, prefix="C")
        wait_for(lambda: position(engine) == last, what="the follower to project new events")
        follower.send_signal(signal.SIGTERM)
        assert finish(follower)[0] == 0
        assert finish(standby)[0] == 0
        assert position(engine) == last
        together = dump_read_models(engine)
        runner = ProjectionRunner(app)
        with runner.locked():
            runner.rebuild(progress=False)
        runner.close()
        assert dump_read_models(engine) == together
    finally:
        engine.dispose()


def test_the_writer_lock_is_exclusive_until_released(database_url, make_ledger):
    make_ledger(database_url)
    one, two = reader(database_url), reader(database_url)
    first, second = WriterLock(one), WriterLock(two)
    try:
        first.acquire()
        assert not second.try_acquire()
        with pytest.raises(RunnerBusy, match="another projection runner"):
            second.acquire(wait=True, interval=0.05, timeout=0.2)
        first.release()
        second.acquire()
        assert second.held
    finally:
        first.release()
        second.release()
        one.dispose()
        two.dispose()


def test_a_runner_without_the_lock_writes_nothing(sqlite_url, make_ledger):
    app = make_ledger(sqlite_url)
    runner = ProjectionRunner(app)
    with pytest.raises(RuntimeError, match="writer lock"):
        runner.run_batch()
    runner.close()


def test_a_batch_is_rolled_back_when_its_starting_position_moved(database_url, make_ledger):
    app = make_ledger(database_url)
    seed_bulk(app, 5)
    runner = ProjectionRunner(app, batch_size=10)
    with runner.locked():
        runner.run_batch()
        with runner.engine.begin() as conn:  # a rogue writer that ignored the lock
            conn.execute(update(t.tracking).values(notification_id=t.tracking.c.notification_id + 1))
        before = dump_read_models(runner.engine)
        with pytest.raises(PositionMoved):
            runner.run_batch()
        assert dump_read_models(runner.engine) == before
    runner.close()
