"""Random days of payments, reversals and settlements (with replays, unknown references, partial and late files).

Beside the real ledger runs a plain model of each payment's status. After every step: every payment is in exactly
one of received, cleared or reversed, as the model says; the clearing positions add up (their differences sum to
the breaks, since every business date is in the past); and a replayed settlement changes nothing.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ledger import LedgerApplication
from ledger.errors import LedgerError
from projections.clearing import clearing_positions
from projections.fresh import ReadSide
from tests.conftest import FixedClock

BANKS = ("CBS", "REB")
DAYS = [date(2026, 10, 1) + timedelta(days=n) for n in range(4)]
TODAY = datetime(2026, 11, 20, 9, tzinfo=UTC)


class ClearingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.app = LedgerApplication(
            env={"LEDGER_DATABASE_URL": f"sqlite:///{self.folder.name}/l.db"}, clock=FixedClock(TODAY)
        )
        self.side = ReadSide(self.app)
        self.status: dict[tuple[str, str], str] = {}
        self.amount: dict[tuple[str, str], Decimal] = {}
        self.settled: dict[tuple[str, str], tuple[list[str], str]] = {}
        self.reports: dict[tuple[str, str], dict] = {}
        self.bills: dict[str, str] = {}
        self.count = 0

    @initialize()
    def subscribers(self) -> None:
        for bank in BANKS:
            no = f"DI-{bank}"
            self.app.register_subscriber(no, "SY-DI", "residential", f"M-{bank}", 0, "Subscriber")
            self.app.enrol(no, bank, "****0001")
            self.app.submit_reading(no, 3000, datetime(2026, 9, 30, tzinfo=UTC), "reader")
            self.bills[bank] = self.app.issue_bill(no, "2026-C5")["bill_id"]

    @rule(bank=st.sampled_from(BANKS), day=st.sampled_from(DAYS), cents=st.integers(100, 50000))
    def pay(self, bank: str, day: date, cents: int) -> None:
        self.count += 1
        ref, amount = f"T{self.count}", Decimal(cents) / 100
        paid_at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=10)
        try:
            self.app.receive_payment(bank, ref, f"DI-{bank}", self.bills[bank], str(amount), "web", paid_at)
        except LedgerError:
            return  # an overpayment: the model records nothing either
        self.status[(bank, ref)], self.amount[(bank, ref)] = "received", amount

    @precondition(lambda self: self.status)
    @rule(data=st.data())
    def reverse(self, data) -> None:
        bank, ref = data.draw(st.sampled_from(sorted(self.status)))
        try:
            self.app.reverse_payment(bank, ref, "debit failed")
        except LedgerError:
            assert self.status[(bank, ref)] == "reversed"
            return
        self.status[(bank, ref)] = "reversed"

    @rule(
        bank=st.sampled_from(BANKS), day=st.sampled_from(DAYS), data=st.data(), off=st.booleans(), unknown=st.booleans()
    )
    def settle(self, bank: str, day: date, data, off: bool, unknown: bool) -> None:
        mine = sorted(ref for (b, ref) in self.status if b == bank)
        refs = data.draw(st.lists(st.sampled_from(mine), unique=True, max_size=4)) if mine else []
        refs += ["NO-SUCH-REF"] if unknown or not refs else []
        listed = sum((self.amount.get((bank, r), Decimal(0)) for r in refs), Decimal(0))
        total = listed + (Decimal("1.00") if off else 0)
        key = (bank, f"S{len(self.settled) + 1}")
        report, created = self.app.settle(bank, key[1], day, refs, f"{total:.2f}")
        assert created
        self.settled[key], self.reports[key] = (refs, f"{total:.2f}"), report
        for ref in refs:
            if self.status.get((bank, ref)) == "received":
                self.status[(bank, ref)] = "cleared"

    @precondition(lambda self: self.settled)
    @rule(data=st.data())
    def replay_a_settlement(self, data) -> None:
        key = data.draw(st.sampled_from(sorted(self.settled)))
        refs, total = self.settled[key]
        before = self.app.recorder.max_notification_id()
        report, created = self.app.settle(key[0], key[1], self._day_of(key), refs, total)
        assert not created and report == self.reports[key]
        assert self.app.recorder.max_notification_id() == before

    def _day_of(self, key: tuple[str, str]) -> date:
        return date.fromisoformat(self.reports[key]["business_date"])

    @invariant()
    def every_payment_has_the_one_status_the_model_says(self) -> None:
        for (bank, ref), status in self.status.items():
            assert self.app.payment(bank, ref)["status"] == status

    @invariant()
    def clearing_positions_add_up_to_the_breaks(self) -> None:
        self.side.ensure_fresh()
        positions = clearing_positions(self.side.engine, today=TODAY.date())
        differences = sum((item["difference"] for item in positions["items"]), Decimal(0))
        breaks = sum((bank["break_amount"] for bank in positions["banks"].values()), Decimal(0))
        assert differences == breaks
        owed = sum((a for k, a in self.amount.items() if self.status[k] != "reversed"), Decimal(0))
        settled = sum((Decimal(t) for _, t in self.settled.values()), Decimal(0))
        assert differences == owed - settled

    def teardown(self) -> None:
        self.side.close()
        self.app.close()
        self.folder.cleanup()


TestClearingMachine = ClearingMachine.TestCase
EXAMPLES = 25 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 10
TestClearingMachine.settings = settings(max_examples=EXAMPLES, stateful_step_count=15, deadline=None)
