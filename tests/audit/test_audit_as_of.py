"""As-of replay: for random histories and random instants, the replayed account equals what the live ledger
showed at that instant.

Events carry the time eventsourcing stamped them with (its own clock, not the ledger's), so after every command the
test records the aggregate's real last-event time, the event position, the ledger's `today` and the live account
(from the application's public queries). Any instant between two records must replay to the earlier one.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.audit import InvalidAsOf, NotYetRegistered
from ledger.errors import LedgerError, UnknownSubscriber
from ledger.history import account_as_of
from ledger.subscriber import subscriber_id

START = datetime(2026, 3, 5, 10, tzinfo=UTC)
NO = "DI-7"

command = st.tuples(st.sampled_from(["read", "bill", "pay", "reverse", "adjust", "settle"]), st.integers(1, 100))


class Driver:
    """Runs drawn commands against a real ledger; a command that needs an earlier step (a bill before a payment)
    takes it first. After every step that recorded events it notes the instant, position, today and live account."""

    def __init__(self, app, clock, no: str) -> None:
        self.app, self.clock, self.no = app, clock, no
        self.kwh, self.refs, self.settled, self.seen = 1000, [], 0, []
        app.register_subscriber(no, "SY-DI", "residential", "M7", 1000, "Subscriber seven")
        self.note()
        app.enrol(no, "CBS", "****0007")
        self.note()

    def note(self) -> None:
        sub = self.app.repository.get(subscriber_id(self.no))
        if not self.seen or sub.version != self.seen[-1][1]:
            self.seen.append(
                (
                    sub.modified_on,
                    sub.version,
                    self.app.recorder.max_notification_id(),
                    self.clock.now.date(),
                    live_account(self.app, self.no, self.refs),
                )
            )

    def run(self, name: str, n: int) -> None:
        with contextlib.suppress(LedgerError):
            getattr(self, name)(n)
        self.note()

    def read(self, n: int) -> None:
        self.kwh += n
        self.app.submit_reading(self.no, self.kwh, self.clock.now - timedelta(minutes=60 - len(self.seen)), "reader")
        self.note()

    def bill(self, n: int) -> None:
        today = self.clock.now.date()
        cycle = f"{today.year}-C{(today.month - 1) // 2 + 1}"
        if any(b["cycle"] == cycle for b in self.app.bills(self.no)):
            return
        self.read(n or 150)
        self.app.issue_bill(self.no, cycle)

    def _open_bill(self, n: int) -> dict | None:
        bills = [b for b in self.app.bills(self.no) if b["outstanding"] > 0]
        if not bills:
            self.bill(n)
            self.note()
            bills = [b for b in self.app.bills(self.no) if b["outstanding"] > 0]
        return bills[-1] if bills else None

    def pay(self, percent: int) -> None:
        bill = self._open_bill(percent)
        if bill is not None:
            amount = max((bill["outstanding"] * percent / 100).quantize(Decimal("0.01")), Decimal("0.01"))
            ref = f"{self.no}-T{len(self.refs)}"
            self.app.receive_payment("CBS", ref, self.no, bill["bill_id"], amount, "web", self.clock.now)
            self.refs.append(ref)

    def _with_status(self, status: str) -> list[str]:
        return [r for r in self.refs if self.app.payment("CBS", r)["status"] == status]

    def reverse(self, n: int) -> None:
        if not self._with_status("received"):
            self.pay(n or 50)
            self.note()
        live = self._with_status("received") + self._with_status("cleared")
        if live:
            self.app.reverse_payment("CBS", live[-1], "bank recalled the debit")

    def adjust(self, n: int) -> None:
        bill = self._open_bill(abs(n))
        if bill is not None and n != 50:
            self.app.adjust_bill(self.no, bill["bill_id"], Decimal(n - 50), "correction")

    def settle(self, n: int) -> None:
        if not self._with_status("received"):
            self.pay(n or 100)
            self.note()
        received = self._with_status("received")
        if received:
            self.settled += 1
            total = sum((self.app.payment("CBS", r)["amount"] for r in received), Decimal(0))
            self.app.settle("CBS", f"{self.no}-S{self.settled}", self.clock.now.date(), received, total)


def live_account(app, no: str, refs: list[str]) -> dict:
    return {
        **app.subscriber(no),
        "bills": app.bills(no),
        "readings": app.readings(no),
        "payments": sorted((app.payment("CBS", r) for r in refs), key=lambda p: p["payment_ref"]),
    }


def replayed(app, no, today, **as_of) -> dict:
    account = account_as_of(app, no, today=today, **as_of)
    account.pop("replayed")
    account["payments"] = sorted(account["payments"], key=lambda p: p["payment_ref"])
    return account


@pytest.fixture
def shared_app(sqlite_url, make_ledger):
    """One ledger for every example: each example gets a subscriber of its own (building a ledger takes long)."""
    return make_ledger(sqlite_url)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
@given(
    commands=st.lists(st.tuples(command, st.integers(1, 20)), min_size=1, max_size=10),
    probes=st.lists(st.integers(0, 10**9), max_size=6),
)
def test_the_account_as_of_any_instant_equals_the_live_account_then(shared_app, clock, commands, probes):
    app, no = shared_app, f"DI-{uuid.uuid4().hex[:10]}"
    clock.now = START
    driver = Driver(app, clock, no)
    for (name, n), days in commands:
        clock.now += timedelta(days=days)
        driver.run(name, n)
    seen = driver.seen
    for stamp, _, position, today, live in seen:
        assert replayed(app, no, today, as_of=stamp) == live
        assert replayed(app, no, today, as_of_position=position) == live
    first, span = seen[0][0], seen[-1][0] - seen[0][0] + timedelta(seconds=2)
    for probe in probes:
        instant = first - timedelta(seconds=1) + span * probe // 10**9
        earlier = [s for s in seen if s[0] <= instant]
        if not earlier:
            with pytest.raises(NotYetRegistered):
                account_as_of(app, no, as_of=instant)
        else:
            assert replayed(app, no, earlier[-1][3], as_of=instant) == earlier[-1][4]


def test_a_position_before_registration_is_refused(sqlite_url, make_ledger):
    app = make_ledger(sqlite_url)
    before = app.recorder.max_notification_id()
    app.register_subscriber(NO, "SY-DI", "residential", "M7", 1000, "Subscriber seven")
    with pytest.raises(NotYetRegistered):
        account_as_of(app, NO, as_of_position=before)
    assert account_as_of(app, NO, as_of_position=before + 1)["replayed"]["version"] == 1


def test_bad_as_of_arguments_are_refused(sqlite_url, make_ledger):
    app = make_ledger(sqlite_url)
    app.register_subscriber(NO, "SY-DI", "residential", "M7", 1000, "Subscriber seven")
    with pytest.raises(InvalidAsOf):
        account_as_of(app, NO, as_of=datetime(2026, 3, 1), as_of_position=3)  # noqa: DTZ001
    with pytest.raises(InvalidAsOf):
        account_as_of(app, NO, as_of=datetime(2026, 3, 1))  # noqa: DTZ001
    with pytest.raises(UnknownSubscriber):
        account_as_of(app, "NOPE", as_of=START)
