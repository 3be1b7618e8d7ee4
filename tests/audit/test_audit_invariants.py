"""`verify` re-checks the business invariants over the whole history, from the events alone.

Events that the commands would refuse are recorded here by triggering them on the aggregate directly, the way a
bug or a rogue writer could; the chain is intact, so only the invariant pass can catch them.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.audit import seal, verify
from ledger.cycles import Cycle
from ledger.errors import LedgerError
from tests.audit.audit_world import MARCH, seed


@pytest.fixture
def app(sqlite_url, make_ledger):
    ledger = make_ledger(sqlite_url)
    seed(ledger)
    return ledger


def record(app, subscriber_no, event_name, **fields):
    sub = app.load_subscriber(subscriber_no)
    sub.trigger_event(getattr(sub, event_name), **fields)
    app.save(sub)
    return app.recorder.max_notification_id()


def payment(key: str, amount: str, bill_id: str = "DI-1-2026-C1") -> dict:
    bank, ref = key.split(":")
    return {
        "payment_key": key,
        "payment_ref": ref,
        "bank": bank,
        "bill_id": bill_id,
        "amount": Decimal(amount),
        "unit": "SYP",
        "channel": "web",
        "paid_at": MARCH.isoformat(),
    }


def kinds(report) -> set[tuple[int, str]]:
    return {(f["position"], f["kind"]) for f in report["faults"]}


def test_a_seeded_ledger_keeps_every_invariant(app):
    report = verify(app)
    assert report["ok"], report["faults"]
    assert report["invariants"] == {"subscribers": 2, "events": 15, "payments": 3}


def test_a_payment_beyond_the_bill_is_reported_as_overpayment(app):
    position = record(app, "DI-1", "PaymentReceived", **payment("CBS:X9", "5000.00"))
    report = verify(app)
    assert (position, "overpayment") in kinds(report)
    assert (position, "unclaimed_payment") in kinds(report)


def test_a_payment_key_applied_to_two_subscribers_is_a_double_payment(app):
    position = record(app, "DI-2", "PaymentReceived", **payment("CBS:TX1", "1.00", bill_id="DI-2-2026-C1"))
    report = verify(app)
    assert not report["ok"] and (position, "double_payment") in kinds(report)


def test_the_same_payment_key_twice_on_one_subscriber_is_a_double_payment(app):
    position = record(app, "DI-1", "PaymentReceived", **payment("CBS:TX1", "1.00"))
    assert (position, "double_payment") in kinds(verify(app))


def test_a_second_bill_for_a_cycle_is_reported(app):
    bill = app.load_subscriber("DI-1").bills["DI-1-2026-C1"]
    position = record(
        app,
        "DI-1",
        "BillIssued",
        bill_id="DI-1-2026-C1-bis",
        cycle="2026-C1",
        period_start=bill["period_start"],
        period_end=bill["period_end"],
        meter_no="M1",
        opening_kwh=1000,
        closing_kwh=1400,
        carried_kwh=0,
        kwh=400,
        reading_id="r",
        tariff_version=bill["tariff_version"],
        lines=[],
        amount=Decimal("3200.00"),
        unit="SYP",
        issued_on="2026-03-05",
        due_date="2026-04-04",
    )
    assert (position, "duplicate_bill") in kinds(verify(app))


def test_a_reading_below_the_last_actual_one_is_reported(app):
    position = record(
        app,
        "DI-2",
        "ReadingSubmitted",
        reading_id="back",
        meter_no="M2",
        reading_kwh=1300,
        read_at=datetime(2026, 4, 1, tzinfo=UTC).isoformat(),
        source="reader",
        consumption_kwh=-100,
        days="30",
        flagged=False,
    )
    report = verify(app)
    assert [(f["position"], f["kind"]) for f in report["faults"]] == [(position, "reading_backwards")]


def test_an_estimate_above_a_later_actual_reading_is_not_a_fault(app):
    app.submit_reading("DI-2", 1900, datetime(2026, 4, 1, tzinfo=UTC), "estimated")
    app.submit_reading("DI-2", 1500, datetime(2026, 4, 20, tzinfo=UTC), "reader")
    seal(app)
    assert verify(app)["ok"]


def test_an_extra_check_adds_its_faults_and_a_broken_one_is_reported(app):
    def projection_matches_replay(ledger, upto):
        return [{"position": upto, "kind": "projection", "detail": "balance of DI-1 differs"}]

    def broken(ledger, upto):
        raise RuntimeError("boom")

    report = verify(app, extra_checks=[projection_matches_replay, broken])
    assert [f["kind"] for f in report["faults"]] == ["projection", "check_error"]
    assert report["fault_count"] == 2 and not report["ok"]


step = st.one_of(
    st.tuples(st.sampled_from(["self", "reader", "estimated"]), st.integers(-50, 400)),
    st.tuples(st.just("jump"), st.integers(5_000, 50_000)),
    st.tuples(st.just("review"), st.booleans()),
    st.tuples(st.just("replace"), st.integers(-20, 100)),
    st.tuples(st.sampled_from(["bill", "pay", "pay", "reverse", "adjust"]), st.integers(-60, 100)),
)


class Account:
    """Drives one subscriber through readings (estimated, flagged, reviewed), meter changes, bills and money."""

    def __init__(self, app, clock, no: str) -> None:
        self.app, self.clock, self.no, self.meters, self.refs = app, clock, no, 1, []

    def run(self, kind: str, n) -> None:
        self.clock.now += timedelta(days=16)
        with contextlib.suppress(LedgerError):
            getattr(self, "_" + kind, self._read)(kind, n)

    def _read(self, source: str, delta: int) -> None:
        last = self.app.subscriber(self.no)["last_reading_kwh"]
        self.app.submit_reading(self.no, last + delta, self.clock.now, source)

    def _jump(self, _: str, delta: int) -> None:
        self._read("self", delta)

    def _review(self, _: str, accepted: bool) -> None:
        held = [r for r in self.app.readings(self.no) if r["flagged"]]
        if held:
            self.app.review_reading(self.no, held[-1]["reading_id"], accepted, "checked on site")

    def _replace(self, _: str, delta: int) -> None:
        last = self.app.subscriber(self.no)["last_reading_kwh"]
        self.meters += 1
        self.app.replace_meter(self.no, last + delta, f"{self.no}-M{self.meters}", 0, self.clock.now)

    def _bill(self, _: str, __: int) -> None:
        with contextlib.suppress(LedgerError):
            self._read("reader", 150)
        self.app.issue_bill(self.no, Cycle.containing(self.clock.now.date()).name)

    def _pay(self, _: str, percent: int) -> None:
        bills = [b for b in self.app.bills(self.no) if b["outstanding"] > 0]
        if not bills:
            self._bill("bill", 0)
            bills = [b for b in self.app.bills(self.no) if b["outstanding"] > 0]
        if bills and percent > 0:
            amount = max((bills[-1]["outstanding"] * percent / 100).quantize(Decimal("0.01")), Decimal("0.01"))
            self.refs.append(f"{self.no}-P{len(self.refs)}")
            self.app.receive_payment("CBS", self.refs[-1], self.no, bills[-1]["bill_id"], amount, "web", self.clock.now)

    def _reverse(self, _: str, __: int) -> None:
        if self.refs:
            self.app.reverse_payment("CBS", self.refs[-1], "recalled")

    def _adjust(self, _: str, n: int) -> None:
        bills = self.app.bills(self.no)
        if bills and n:
            self.app.adjust_bill(self.no, bills[-1]["bill_id"], Decimal(n), "correction")


@pytest.fixture
def shared_app(sqlite_url, make_ledger):
    return make_ledger(sqlite_url)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
@given(steps=st.lists(step, min_size=3, max_size=25))
def test_whatever_the_commands_accept_keeps_every_invariant_verify_checks(shared_app, clock, steps):
    clock.now = datetime(2026, 1, 10, tzinfo=UTC)
    no = f"DI-{uuid.uuid4().hex[:10]}"
    shared_app.register_subscriber(no, "SY-DI", "residential", "M1", 1000, "Subscriber")
    shared_app.enrol(no, "CBS", "****0001")
    account = Account(shared_app, clock, no)
    for kind, n in steps:
        account.run(kind, n)
    report = verify(shared_app)
    assert report["ok"], report["faults"]


@pytest.mark.parametrize("workers", [2, 3])
def test_the_invariant_pass_split_over_processes_reports_exactly_what_one_pass_would(app, monkeypatch, workers):
    from ledger import audit_parallel

    positions = [
        record(app, "DI-1", "PaymentReceived", **payment("CBS:X9", "5000.00")),
        record(app, "DI-2", "PaymentReceived", **payment("CBS:TX1", "1.00", bill_id="DI-2-2026-C1")),
    ]
    here = verify(app)
    monkeypatch.setattr(audit_parallel, "PARALLEL_FROM_EVENTS", 1)
    started = []
    real_start = audit_parallel.start_invariants
    monkeypatch.setattr("ledger.audit.start_invariants", lambda *a: started.append(real_start(*a)) or started[-1])
    elsewhere = verify(app, workers=workers)
    assert started and len(started[0].processes) == workers, "the invariant pass did not run in other processes"
    assert {(positions[0], "overpayment"), (positions[1], "double_payment")} <= kinds(elsewhere)
    for key in ("ok", "faults", "invariants", "events", "digest"):
        assert elsewhere[key] == here[key], key


def test_the_id_ranges_of_the_parts_cover_every_subscriber_exactly_once(app):
    from ledger.audit_invariants import check_invariants
    from ledger.audit_parallel import id_range

    whole = check_invariants(app, None, lambda *finding: None)
    parts = [check_invariants(app, None, lambda *finding: None, ids=id_range(i, 64)) for i in range(64)]
    for name in whole:
        assert sum(part[name] for part in parts) == whole[name], name
    assert max(part["subscribers"] for part in parts) == 1  # DI-1 and DI-2 fall in different ranges
    assert [id_range(i, 3)[1] for i in range(2)] == [id_range(i, 3)[0] for i in range(1, 3)]
    assert id_range(0, 3)[0] is None and id_range(2, 3)[1] is None
