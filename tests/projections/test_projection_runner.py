"""The runner's modes: catch up in batches, follow new events (across PostgreSQL's gaps in ids), rebuild, stop on
an event it does not know, and the `project` command's options and exit statuses."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from click.testing import CliRunner
from eventsourcing.persistence import StoredEvent
from sqlalchemy import text

from projections import apply, aside, queries
from projections.cli import EXIT_BUSY, project
from projections.locking import WriterLock
from projections.runner import ProjectionRunner
from projections.workingset import ProjectionError
from tests.projections.ledger_world import World
from tests.projections.projection_helpers import dump_read_models, seed_bulk
from tests.projections.runner_processes import reader, wait_for


def test_catching_up_in_small_batches_gives_the_same_tables_as_one_big_batch(database_url, make_ledger):
    app = make_ledger(database_url)
    last = seed_bulk(app, 30)
    runner = ProjectionRunner(app, batch_size=7)
    with runner.locked():
        assert runner.catch_up() == last
        small = dump_read_models(runner.engine)
        runner.batch_size = 10_000
        runner.rebuild(progress=False)
        assert dump_read_models(runner.engine) == small
        assert runner.catch_up() == 0
    runner.close()


def test_the_live_read_models_answer_throughout_a_rebuild_and_survive_one_that_fails(
    database_url, make_ledger, monkeypatch
):
    app = make_ledger(database_url)
    last = seed_bulk(app, 30)
    runner = ProjectionRunner(app, batch_size=7)
    live = runner.engine
    with runner.locked():
        runner.catch_up()
        before = dump_read_models(live)
        real_apply, batches, during = apply.apply_events, [], []

        def apply_then_fail(ws, events):
            batches.append(len(events))
            during.append(dump_read_models(live))  # what readers see while the rebuild is under way
            if len(batches) == 3:
                raise RuntimeError("the rebuild dies here")
            real_apply(ws, events)

        monkeypatch.setattr(apply, "apply_events", apply_then_fail)
        monkeypatch.setattr("projections.rebuild.BATCH_EVENTS", 7)
        with pytest.raises(RuntimeError, match="dies here"):
            runner.rebuild(progress=False)
        assert during == [before] * 3 and dump_read_models(live) == before and runner.position() == last
        monkeypatch.setattr(apply, "apply_events", real_apply)
        assert runner.rebuild(progress=False) == last
        assert dump_read_models(live) == before and runner.position() == last
        if live.dialect.name == "sqlite":
            assert not aside.side_file(live).exists()
        else:
            with live.connect() as conn:
                left = conn.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname = 'rm_rebuild'")).scalar()
            assert left == 0
    runner.close()


def test_a_follower_projects_events_recorded_after_it_started(database_url, make_ledger):
    app = make_ledger(database_url)
    seed_bulk(app, 5)
    runner = ProjectionRunner(app)
    stop = threading.Event()
    with runner.locked():
        follower = threading.Thread(target=runner.follow, kwargs={"interval": 0.02, "should_stop": stop.is_set})
        follower.start()
        try:
            if app.recorder.datastore.engine.dialect.name == "postgresql":
                with app.recorder.datastore.engine.begin() as conn:  # burn ids, as rolled-back inserts do
                    conn.execute(text("SELECT nextval('ledger_events_id_seq') FROM generate_series(1, 5)"))
            last = seed_bulk(app, 5, seed=2, prefix="F")
            wait_for(lambda: runner.position() == last, timeout=30, what="the follower")
        finally:
            stop.set()
            follower.join(timeout=30)
    engine = app.recorder.datastore.engine
    assert queries.subscriber_balance(engine, "F00004", app.today()) is not None
    runner.close()


def test_an_event_no_projection_knows_stops_the_runner_and_a_rebuild(database_url, make_ledger):
    app = make_ledger(database_url)
    seed_bulk(app, 3)
    runner = ProjectionRunner(app)
    with runner.locked():
        runner.catch_up()
        before = runner.position()
        stranger = StoredEvent(
            originator_id=app.recorder.select_notifications(0, 1)[0].originator_id,
            originator_version=99,
            topic="ledger.future:Unheard",
            state=b"{}",
        )
        app.recorder.insert_events([stranger])
        with pytest.raises(ProjectionError, match="ledger.future:Unheard"):
            runner.catch_up()
        assert runner.position() == before
        if app.recorder.datastore.engine.dialect.name == "postgresql":  # there the live tables outlive a rebuild
            tables = dump_read_models(runner.engine)
            with pytest.raises(ProjectionError, match="ledger.future:Unheard"):
                runner.rebuild(progress=False)
            assert runner.position() == before and dump_read_models(runner.engine) == tables
    runner.close()


def test_the_project_command_catches_up_once_and_exits_75_when_busy(sqlite_url, make_ledger):
    app = make_ledger(sqlite_url)
    last = seed_bulk(app, 10)
    cli = CliRunner()
    env = {"LEDGER_DATABASE_URL": sqlite_url}
    done = cli.invoke(project, ["--once"], env=env)
    assert done.exit_code == 0, done.output
    runner = ProjectionRunner(app)
    assert runner.position() == last
    runner.close()
    assert cli.invoke(project, ["--rebuild", "--once"], env=env).exit_code == 0
    engine = reader(sqlite_url)
    lock = WriterLock(engine)
    lock.acquire()
    try:
        busy = cli.invoke(project, ["--once"], env=env)
        assert busy.exit_code == EXIT_BUSY
        assert "another projection runner" in busy.output
    finally:
        lock.release()
        engine.dispose()


@pytest.mark.postgres
def test_a_rebuild_split_over_processes_gives_the_tables_of_one_in_log_order(pg_url, make_ledger, clock, monkeypatch):
    """Three processes, each rebuilding a range of aggregates: their governorate counts must add up, and the
    governorates' own fields (listed, switched) come from the part holding their events."""
    app = make_ledger(pg_url)
    seed_bulk(app, 40)
    world = World(app, clock)
    world.start([("SY-DR", "residential", ("CBS",)), ("SY-DY", "commercial", ("REB",))])
    for op in [
        ("switch", "SY-DY"),
        ("switch", "SY-DR"),
        ("advance", 30),
        ("switch", "SY-DR"),
        ("pay", 0, 0, 2, 0, "web", 2),
    ]:
        world.play(op)
    runner = ProjectionRunner(app)
    with runner.locked():
        runner.catch_up()
        in_log_order = dump_read_models(runner.engine)
        monkeypatch.setattr("projections.rebuild_parts.PARALLEL_FROM_EVENTS", 0)
        assert runner.rebuild(progress=False, workers=3) == app.recorder.max_notification_id()
        assert dump_read_models(runner.engine) == in_log_order
    runner.close()


def test_two_subscribers_with_the_same_meter_number_keep_their_own_flagged_readings(database_url, make_ledger, clock):
    """A reading's id is derived from the meter number, the kWh and the instant, so two subscribers registered with
    the same meter number (a data-entry slip the ledger does not refuse) can submit readings with the same id: the
    review queue keeps one row per subscriber, in log order and in a rebuild alike."""
    app = make_ledger(database_url)
    read_at = clock.now - timedelta(days=1)
    for no in ("DI-1", "DI-2"):
        app.register_subscriber(no, "SY-DI", "residential", "M-SHARED", 100, f"Subscriber {no}")
    flagged = [app.submit_reading(no, 900_000, read_at, "reader") for no in ("DI-1", "DI-2")]
    assert flagged[0]["reading_id"] == flagged[1]["reading_id"] and all(r["flagged"] for r in flagged)
    runner = ProjectionRunner(app)
    with runner.locked():
        runner.catch_up()
        assert queued(runner.engine) == [("DI-1", flagged[0]["reading_id"]), ("DI-2", flagged[1]["reading_id"])]
        in_log_order = dump_read_models(runner.engine)
        runner.rebuild(progress=False)
        assert dump_read_models(runner.engine) == in_log_order
        app.review_reading("DI-2", flagged[1]["reading_id"], True, "checked on site")
        runner.catch_up()
        assert queued(runner.engine) == [("DI-1", flagged[0]["reading_id"])]
    runner.close()


def queued(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT subscriber_no, reading_id FROM rm_review_queue ORDER BY subscriber_no"))
        return [tuple(row) for row in found]
