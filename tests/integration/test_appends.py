"""Appends on PostgreSQL go through one server-side function, whether they commit on their own (autocommit) or
inside a transaction someone opened on the recorder (ledger/pg_append.py, ledger/persistence.py)."""

from __future__ import annotations

import pytest

from ledger.subscriber import subscriber_id

pytestmark = pytest.mark.postgres


def register(app, no):
    app.register_subscriber(no, "SY-DI", "residential", f"M{no}", 1000, f"Subscriber {no}")


def test_saves_inside_an_open_transaction_commit_or_roll_back_with_it(pg_url, make_ledger):
    app = make_ledger(pg_url)
    before = app.recorder.max_notification_id()
    with app.recorder.transaction(commit=True):
        register(app, "DI-1")
        register(app, "DI-2")
    with pytest.raises(RuntimeError), app.recorder.transaction(commit=True):
        register(app, "DI-3")
        raise RuntimeError("roll back")
    ids = [n.id for n in app.recorder.select_notifications(start=before + 1, limit=100)]
    assert ids == [before + 1, before + 2]
    assert [type(e).__name__ for e in app.events.get(subscriber_id("DI-2"))] == ["Registered"]
    assert list(app.events.get(subscriber_id("DI-3"))) == []
