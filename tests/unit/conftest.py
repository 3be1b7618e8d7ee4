"""Fixtures for the aggregate's unit tests: a ledger on a fresh SQLite file and a way to assert a clean refusal.

Every refused command must raise its own `LedgerError` subclass with a sentence a clerk can read, and must leave the
store exactly as it was: `refused` checks both, comparing the highest notification id before and after.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.errors import LedgerError
from ledger.subscriber import subscriber_id

FEB_2026 = datetime(2026, 2, 20, 9, tzinfo=UTC)


@pytest.fixture
def app(sqlite_url, make_ledger):
    return make_ledger(sqlite_url)


@pytest.fixture
def refused(app) -> Callable[..., Any]:
    """`with refused(ErrorClass, "words in the message"):` - the command fails cleanly and stores nothing."""

    @contextmanager
    def check(error_class: type[LedgerError], match: str = "") -> Iterator[None]:
        before = app.recorder.max_notification_id()
        with pytest.raises(error_class, match=re.escape(match) if match else None) as caught:
            yield
        error = caught.value
        assert type(error) is error_class, f"expected exactly {error_class.__name__}, got {type(error).__name__}"
        assert isinstance(error.detail, str) and len(error.detail.split()) >= 4 and error.detail == str(error)
        assert error.rule and error.kind in {"not_found", "conflict", "unprocessable", "forbidden"}
        assert app.recorder.max_notification_id() == before, "a refused command stored an event"

    return check


@pytest.fixture
def register(app) -> Callable[..., dict[str, Any]]:
    """`register("DR-1", "SY-DR")`: a residential subscriber on meter M1 at 1000 kWh unless told otherwise."""

    def make(
        no: str = "DI-1",
        governorate: str = "SY-DI",
        category: str = "residential",
        meter: str = "M1",
        initial: int = 1000,
    ) -> dict[str, Any]:
        return app.register_subscriber(no, governorate, category, meter, initial, f"Subscriber {no}")

    return make


@pytest.fixture
def subscriber(app, register) -> str:
    """DI-1 in Damascus, residential, meter M1 at 1000 kWh, enrolled with CBS."""
    register()
    app.enrol("DI-1", "CBS", "****4321")
    return "DI-1"


@pytest.fixture
def bill(app, subscriber) -> dict[str, Any]:
    """DI-1's 2026-C1 bill for 400 kWh: 3200.00 SYP, nothing paid."""
    app.submit_reading(subscriber, 1400, FEB_2026, "reader")
    return app.issue_bill(subscriber, "2026-C1")


@pytest.fixture
def events_of(app) -> Callable[[str], list[Any]]:
    """The stored events of one subscriber, in order."""

    def read(subscriber_no: str) -> list[Any]:
        return list(app.events.get(subscriber_id(subscriber_no)))

    return read
