"""Loading a batch of subscribers at once gives exactly what the repository gives, with or without snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.utils import get_topic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.bulk import aggregates_at, load_subscribers, notification_pages
from ledger.subscriber import Subscriber, subscriber_id


def test_a_batch_loads_as_the_repository_would_across_snapshots(database_url, make_ledger):
    app = make_ledger(database_url)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    for no, readings in (("DI-1", 0), ("DI-2", 3), ("DI-3", 120)):  # DI-3 passes two snapshots (every 50 events)
        app.register_subscriber(no, "SY-DI", "residential", f"M-{no}", 0, "Subscriber")
        for n in range(readings):
            app.submit_reading(no, n + 1, first + timedelta(hours=n), "reader")
    loaded = load_subscribers(app, ["DI-1", "DI-2", "DI-3", "DI-404"])
    assert sorted(loaded) == ["DI-1", "DI-2", "DI-3"]
    for no, sub in loaded.items():
        expected = app.repository.get(subscriber_id(no))
        assert (sub.version, sub.__dict__) == (expected.version, expected.__dict__)
    assert loaded["DI-3"].version == 121 and loaded["DI-3"].meter["last_actual_kwh"] == 120


def test_aggregates_at_a_position_replay_exactly_the_events_up_to_it(database_url, make_ledger):
    app = make_ledger(database_url)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    app.register_subscriber("DI-1", "SY-DI", "residential", "M-1", 0, "Subscriber")
    for n in range(60):  # past a snapshot, which a replay at a position must not use
        app.submit_reading("DI-1", n + 1, first + timedelta(hours=n), "reader")
    middle = app.recorder.max_notification_id()
    app.submit_reading("DI-1", 100, first + timedelta(days=30), "reader")
    ids = [subscriber_id("DI-1"), subscriber_id("DI-404")]
    at_middle = aggregates_at(app, ids, middle)[subscriber_id("DI-1")]
    expected = app.repository.get(subscriber_id("DI-1"), version=61)
    assert (at_middle.version, at_middle.__dict__) == (expected.version, expected.__dict__)
    assert list(aggregates_at(app, ids, app.recorder.max_notification_id())) == [subscriber_id("DI-1")]


@given(page=st.integers(1, 7), window=st.integers(1, 30), upto_cut=st.integers(0, 10))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_notification_pages_yield_every_one_of_the_topic_once_in_order(registered, page, window, upto_cut):
    app, topic = registered
    upto = app.recorder.max_notification_id() - upto_cut
    everything = app.recorder.select_notifications(0, 10_000, stop=upto, topics=[topic], inclusive_of_start=False)
    paged = [n.id for found in notification_pages(app, topic, upto, page, window) for n in found]
    assert paged == [n.id for n in everything] and len(paged) > 0


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    from ledger import LedgerApplication

    app = LedgerApplication(env={"LEDGER_DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('pages')}/l.db"})
    for n in range(25):
        app.register_subscriber(f"DI-{n}", "SY-DI", "residential", f"M-{n}", 0, "Subscriber")
        app.enrol(f"DI-{n}", "CBS", "****0001")
    yield app, get_topic(Subscriber.Registered)
    app.close()


def test_the_ledgers_projector_replays_exactly_as_the_librarys(app_with_history):
    from eventsourcing.application import project_aggregate

    app, no = app_with_history
    ours = app.repository.get(subscriber_id(no))
    library = app.repository.get(subscriber_id(no), projector_func=project_aggregate)
    assert (ours.version, ours.__dict__) == (library.version, library.__dict__) and ours.version > 50


@pytest.fixture
def app_with_history(sqlite_url, make_ledger):
    app = make_ledger(sqlite_url)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    app.register_subscriber("DI-1", "SY-DI", "residential", "M-1", 0, "Subscriber")
    for n in range(70):
        app.submit_reading("DI-1", n + 1, first + timedelta(hours=n), "reader")
    return app, "DI-1"
