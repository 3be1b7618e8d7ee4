"""Loading a batch of subscribers at once gives exactly what the repository gives, with or without snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ledger.bulk import load_subscribers
from ledger.subscriber import subscriber_id


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
