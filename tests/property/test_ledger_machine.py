"""The real ledger and a plain model, driven side by side by hypothesis.

The model is a few dicts of ints and Decimals that say, for every command, whether the ledger must accept it (and
with what result) or refuse it (and with which error). After every step the invariants of DESIGN.md are checked
against the store itself: no double charge, no overpayment, one bill per cycle, readings never backwards; and a
second application on the same database, and a full replay of the events without snapshots, both show exactly the
live views (balances are derived, never stored). The application under test runs with its aggregate cache, as in
production; the other one has none and loads each subscriber from its latest snapshot (every 50 events), so cache,
snapshots and full replay are held to the same views.

Each example works on its own subscribers and references (prefixed by a tag), so one database serves a whole test;
that keeps the PostgreSQL run affordable.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import reduce
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger import LedgerApplication, views
from ledger.errors import (
    AdjustmentTooLarge,
    BillAlreadyIssued,
    FeeNotAllowed,
    InvalidCycle,
    InvalidInput,
    LedgerError,
    NotEnrolled,
    NothingToBill,
    Overpayment,
    PaymentAlreadyReversed,
    PaymentRefConflict,
    ReadingIdConflict,
    ReadingOutOfOrder,
    ReadingWentBackwards,
    SettlementRefConflict,
    UnknownPayment,
)
from ledger.subscriber import Subscriber, subscriber_id
from tests.conftest import FixedClock, create_pg_database

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
FIRST_READ = datetime(2025, 11, 2, 9, tzinfo=UTC)
CYCLES = ["2025-C6", "2026-C1", "2026-C2", "2026-C3", "2026-C4", "2026-C5", "2026-C6", "2027-C1"]
PAID_TIMES = [datetime(2026, 3, 1, 10, tzinfo=UTC), datetime(2026, 11, 20, 8, 30, tzinfo=UTC)]
BUSINESS_DAYS = [date(2026, 11, 19), date(2026, 11, 20)]
REFS = ["T1", "T2", "T3", "T4"]
SETTLEMENTS = ["S1", "S2"]
SUBSCRIBERS = 2
ZERO = Decimal("0.00")

amounts = st.one_of(
    st.sampled_from([Decimal("0.01"), Decimal("100.00"), Decimal("1000.00"), Decimal("1800.00")]),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("4000.00"), places=2),
)


@dataclass(frozen=True)
class Refused:
    """What the model expects instead of a result: the ledger must raise exactly this `LedgerError`."""

    error: type[LedgerError]


def price(kwh: int) -> Decimal:
    """Decision 687/2025 for a residential cycle, in new pounds: 6 up to 300 kWh, 14 above."""
    return Decimal(6 * min(kwh, 300) + 14 * max(kwh - 300, 0)).quantize(Decimal("0.01"))


@dataclass
class Meter:
    no: str
    last_actual: int
    last_actual_at: datetime | None = None
    last_read_at: datetime | None = None
    billable: int = 0
    billable_id: str | None = None
    billed: int = 0
    billed_id: str | None = None

    @classmethod
    def fresh(cls, no: str, initial: int) -> Meter:
        return cls(no, initial, billable=initial, billed=initial)


@dataclass
class Account:
    no: str
    meter: Meter
    meters: int = 1
    clock: datetime = FIRST_READ
    carried: int = 0
    history: list[tuple[int, Fraction]] = field(default_factory=list)
    readings: dict[tuple[str, int, datetime], dict[str, Any]] = field(default_factory=dict)
    bills: dict[str, dict[str, Any]] = field(default_factory=dict)
    banks: set[str] = field(default_factory=set)


class LedgerMachine(RuleBasedStateMachine):
    """Drives a `LedgerApplication` on `url` beside the model; see the module docstring."""

    # Set by `run_machine`: the application under test (configured as in production, with its aggregate cache) and
    # another one on the same database without a cache, which loads every subscriber from its latest snapshot and
    # the events after it, as a restarted process would. Both serve every example of a run: each example has its
    # own subscribers.
    app: LedgerApplication
    other: LedgerApplication
    clock = FixedClock(NOW)

    def __init__(self) -> None:
        super().__init__()
        self.tag = uuid.uuid4().hex[:8]
        self.unchecked_steps = 0
        self.accounts: list[Account] = []
        self.payments: dict[tuple[str, str], dict[str, Any]] = {}
        self.settlements: dict[tuple[str, str], dict[str, Any]] = {}

    def teardown(self) -> None:
        if self.accounts:
            self.compare_with(self.other)

    # -- running a command against the model's expectation -------------------------------------------------------

    def expect(self, expected: Any, command: Any, stores: bool = True) -> Any:
        """Run `command`. A refusal must be the expected error and store nothing; an accepted command must store
        events, unless it is a replay (`stores=False`) of something already recorded, which must store none."""
        before = self.app.recorder.max_notification_id()
        if isinstance(expected, Refused):
            try:
                command()
            except LedgerError as error:
                assert type(error) is expected.error, f"expected {expected.error.__name__}, got {error!r}"
                assert error.detail
                assert self.app.recorder.max_notification_id() == before, "a refused command stored an event"
                return None
            raise AssertionError(f"the ledger accepted what the model refuses with {expected.error.__name__}")
        result = command()
        stored = self.app.recorder.max_notification_id() != before
        assert stored == stores, "a replay stored events" if stored else "an accepted command stored nothing"
        return result

    # -- setup ----------------------------------------------------------------------------------------------------

    @initialize()
    def register_subscribers(self) -> None:
        for i in range(SUBSCRIBERS):
            no = f"{self.tag}-{i}"
            meter = f"{self.tag}-M{i}-1"
            self.app.register_subscriber(no, "SY-DI", "residential", meter, 1000, f"Subscriber {i}")
            self.app.enrol(no, "CBS", "****4321")
            account = Account(no, Meter.fresh(meter, 1000), banks={"CBS"})
            if i == 0:
                self.app.enrol(no, "REB", "****9876")
                account.banks.add("REB")
            self.accounts.append(account)
            # Start every example with a bill on each account, so payments meet from the first step.
            self._submit(account, 1400, FIRST_READ, "reader")
            self.issue_a_bill(i, "2025-C6")

    def account(self, index: int) -> Account:
        return self.accounts[index % len(self.accounts)]

    # -- readings -------------------------------------------------------------------------------------------------

    @rule(
        i=st.integers(0, SUBSCRIBERS - 1),
        delta=st.integers(-60, 900),
        days=st.integers(0, 45),
        source=st.sampled_from(["reader", "self", "estimated"]),
    )
    def submit_reading(self, i: int, delta: int, days: int, source: str) -> None:
        account = self.account(i)
        read_at = min(account.clock + timedelta(days=days), NOW)
        self._submit(account, account.meter.last_actual + delta, read_at, source)

    @rule(i=st.integers(0, SUBSCRIBERS - 1), back=st.integers(1, 20), delta=st.integers(0, 300))
    def submit_an_older_reading(self, i: int, back: int, delta: int) -> None:
        account = self.account(i)
        self._submit(account, account.meter.last_actual + delta, account.clock - timedelta(days=back), "reader")

    @rule(i=st.integers(0, SUBSCRIBERS - 1), pick=st.integers(0, 100), same_source=st.booleans())
    def resubmit_a_reading(self, i: int, pick: int, same_source: bool) -> None:
        account = self.account(i)
        current = [r for r in account.readings.values() if r["meter_no"] == account.meter.no]
        if current:
            reading = current[pick % len(current)]
            source = reading["source"] if same_source else ("self" if reading["source"] != "self" else "reader")
            self._submit(account, reading["reading_kwh"], reading["at"], source)

    def _submit(self, account: Account, kwh: int, read_at: datetime, source: str) -> None:
        expected = self._judge(account, kwh, read_at, source)
        replay = isinstance(expected, dict) and "reading_id" in expected
        result = self.expect(
            expected, lambda: self.app.submit_reading(account.no, kwh, read_at, source), stores=not replay
        )
        if result is None:
            return
        if replay:
            assert result["reading_id"] == expected["reading_id"]
            return
        assert (result["consumption_kwh"], result["flagged"]) == (expected["consumption"], expected["flagged"]), (
            result,
            expected,
        )
        self._record_reading(account, result, read_at, expected)

    def _judge(self, account: Account, kwh: int, read_at: datetime, source: str) -> Any:
        meter = account.meter
        known = account.readings.get((meter.no, kwh, read_at))
        if known is not None:
            return known if known["source"] == source else Refused(ReadingIdConflict)
        if kwh < 0:
            return Refused(InvalidInput)
        if meter.last_read_at is not None and read_at < meter.last_read_at:
            return Refused(ReadingOutOfOrder)
        if kwh < meter.last_actual:
            return Refused(ReadingWentBackwards)
        consumption = kwh - meter.last_actual
        days = (
            None
            if meter.last_actual_at is None
            else max(Fraction(int((read_at - meter.last_actual_at).total_seconds()), 86400), Fraction(1))
        )
        used = sum(d for _, d in account.history)
        average = Fraction(30) if used <= 0 else max(Fraction(sum(k for k, _ in account.history)) / used, Fraction(1))
        flagged = consumption > 10 * average * (days if days is not None else 61)
        return {"consumption": consumption, "days": days, "flagged": flagged}

    def _record_reading(
        self, account: Account, result: dict[str, Any], read_at: datetime, judged: dict[str, Any]
    ) -> None:
        meter = account.meter
        reading = {**result, "at": read_at, "review": None}
        account.readings[(meter.no, result["reading_kwh"], read_at)] = reading
        account.clock = max(account.clock, read_at)
        meter.last_read_at = read_at if meter.last_read_at is None else max(meter.last_read_at, read_at)
        if not result["flagged"]:
            self._advance(account, reading, judged["days"])

    def _advance(self, account: Account, reading: dict[str, Any], days: Fraction | None) -> None:
        meter = account.meter
        if reading["reading_kwh"] < meter.last_actual:
            return
        if reading["source"] != "estimated":
            if days is not None:
                account.history = [*account.history, (reading["consumption_kwh"], days)][-12:]
            meter.last_actual, meter.last_actual_at = reading["reading_kwh"], reading["at"]
        meter.billable, meter.billable_id = reading["reading_kwh"], reading["reading_id"]

    @rule(i=st.integers(0, SUBSCRIBERS - 1), pick=st.integers(0, 100), accepted=st.booleans())
    def review_a_flagged_reading(self, i: int, pick: int, accepted: bool) -> None:
        account = self.account(i)
        flagged = [r for r in account.readings.values() if r["flagged"]]
        if not flagged:
            return
        reading = flagged[pick % len(flagged)]
        meter = account.meter
        overtaken = meter.last_actual_at is not None and reading["at"] < meter.last_actual_at
        backwards = (
            accepted and reading["meter_no"] == meter.no and overtaken and (reading["reading_kwh"] > meter.last_actual)
        )
        expected = Refused(ReadingWentBackwards) if backwards else None
        result = self.expect(
            expected,
            lambda: self.app.review_reading(account.no, reading["reading_id"], accepted, "checked against a photo"),
        )
        if result is None:
            return
        reading.update(flagged=False, review="accepted" if accepted else "rejected")
        if accepted and reading["meter_no"] == meter.no:
            self._advance(account, reading, None)

    @rule(i=st.integers(0, SUBSCRIBERS - 1), extra=st.integers(-5, 200), new_initial=st.integers(0, 50))
    def replace_the_meter(self, i: int, extra: int, new_initial: int) -> None:
        account = self.account(i)
        old = account.meter
        final = old.last_actual + extra
        new_no = f"{self.tag}-M{i}-{account.meters + 1}"
        if final < 0:
            expected: Any = Refused(InvalidInput)
        else:
            expected = Refused(ReadingWentBackwards) if final < old.last_actual else None
        result = self.expect(
            expected, lambda: self.app.replace_meter(account.no, final, new_no, new_initial, account.clock)
        )
        if result is not None:
            account.carried += final - old.billed
            account.meter = Meter.fresh(new_no, new_initial)
            account.meters += 1

    # -- bills ----------------------------------------------------------------------------------------------------

    @rule(i=st.integers(0, SUBSCRIBERS - 1), cycle=st.sampled_from(CYCLES))
    def issue_a_bill(self, i: int, cycle: str) -> None:
        account = self.account(i)
        meter = account.meter
        bill_id = f"{account.no}-{cycle}"
        closing = max(meter.billable, meter.billed)
        kwh = closing - meter.billed + account.carried
        if cycle == "2027-C1":
            expected: Any = Refused(InvalidCycle)
        elif bill_id in account.bills:
            expected = Refused(BillAlreadyIssued)
        elif (meter.billable_id in (None, meter.billed_id) and account.carried == 0) or kwh < 0:
            expected = Refused(NothingToBill)
        else:
            expected = None
        bill = self.expect(expected, lambda: self.app.issue_bill(account.no, cycle))
        if bill is None:
            return
        assert (bill["bill_id"], bill["kwh"], bill["amount"], bill["paid"]) == (bill_id, kwh, price(kwh), ZERO)
        account.bills[bill_id] = {"amount": price(kwh), "adjusted": ZERO, "paid": ZERO}
        meter.billed, meter.billed_id = closing, meter.billable_id or meter.billed_id or ""
        account.carried = 0

    @rule(
        i=st.integers(0, SUBSCRIBERS - 1),
        pick=st.integers(0, 100),
        amount=st.integers(-4000, 500).filter(bool).map(lambda n: Decimal(n).quantize(Decimal("0.01"))),
    )
    def adjust_a_bill(self, i: int, pick: int, amount: Decimal) -> None:
        account = self.account(i)
        if not account.bills:
            return
        bill_id = sorted(account.bills)[pick % len(account.bills)]
        bill = account.bills[bill_id]
        too_large = bill["amount"] + bill["adjusted"] + amount < bill["paid"]
        expected = Refused(AdjustmentTooLarge) if too_large else None
        result = self.expect(expected, lambda: self.app.adjust_bill(account.no, bill_id, amount, "correction"))
        if result is not None:
            bill["adjusted"] += amount
            assert result["outstanding"] == bill["amount"] + bill["adjusted"] - bill["paid"]

    # -- payments -------------------------------------------------------------------------------------------------

    @rule(
        i=st.integers(0, SUBSCRIBERS - 1),
        pick=st.integers(0, 100),
        bank=st.sampled_from(["CBS", "REB"]),
        ref=st.sampled_from(REFS),
        amount=amounts,
        channel=st.sampled_from(["web", "app"]),
        paid_at=st.sampled_from(PAID_TIMES),
        fee=st.sampled_from([None, None, None, "5.00"]),
    )
    def pay(
        self, i: int, pick: int, bank: str, ref: str, amount: Decimal, channel: str, paid_at: datetime, fee: str | None
    ) -> None:
        account = self.account(i)
        if account.bills:
            bill_id = sorted(account.bills)[pick % len(account.bills)]
            self._pay(account, bank, f"{self.tag}-{ref}", bill_id, amount, channel, paid_at, fee)

    @rule(pick=st.integers(0, 100))
    def retry_a_payment(self, pick: int) -> None:
        """A bank that did not hear the answer sends the same payment again."""
        if self.payments:
            (bank, ref), p = sorted(self.payments.items())[pick % len(self.payments)]
            account = next(a for a in self.accounts if a.no == p["subscriber_no"])
            self._pay(account, bank, ref, p["bill_id"], p["amount"], p["channel"], p["paid_at"], None)

    def _pay(
        self,
        account: Account,
        bank: str,
        ref: str,
        bill_id: str,
        amount: Decimal,
        channel: str,
        paid_at: datetime,
        fee: str | None,
    ) -> None:
        key = (bank, ref)
        existing = self.payments.get(key)
        bill = account.bills[bill_id]
        content = (bill_id, amount, channel, paid_at)
        if existing is not None and existing["subscriber_no"] != account.no:
            expected: Any = Refused(PaymentRefConflict)
        elif existing is not None:
            same = (existing["bill_id"], existing["amount"], existing["channel"], existing["paid_at"]) == content
            expected = existing if same else Refused(PaymentRefConflict)
        elif fee is not None:
            expected = Refused(FeeNotAllowed)
        elif bank not in account.banks:
            expected = Refused(NotEnrolled)
        elif amount > bill["amount"] + bill["adjusted"] - bill["paid"]:
            expected = Refused(Overpayment)
        else:
            expected = None
        result = self.expect(
            expected,
            lambda: self.app.receive_payment(bank, ref, account.no, bill_id, str(amount), channel, paid_at, fee=fee),
            stores=existing is None,
        )
        if result is None:
            return
        payment, created = result
        if existing is not None:
            assert created is False and payment == existing["answer"], "a replay must answer as the first time"
            return
        assert created is True and payment["amount"] == amount and payment["status"] == "received"
        bill["paid"] += amount
        self.payments[key] = {
            "subscriber_no": account.no,
            "bill_id": bill_id,
            "amount": amount,
            "channel": channel,
            "paid_at": paid_at,
            "status": "received",
            "settlement_ref": None,
            "answer": payment,
        }

    @rule(pick=st.integers(0, 100), unknown=st.booleans())
    def reverse_a_payment(self, pick: int, unknown: bool) -> None:
        if unknown or not self.payments:
            ref = f"{self.tag}-unknown"
            self.expect(Refused(UnknownPayment), lambda: self.app.reverse_payment("CBS", ref, "who?"))
            return
        (bank, ref), p = sorted(self.payments.items())[pick % len(self.payments)]
        expected = Refused(PaymentAlreadyReversed) if p["status"] == "reversed" else None
        result = self.expect(expected, lambda: self.app.reverse_payment(bank, ref, "customer dispute"))
        if result is not None:
            assert result["status"] == "reversed"
            p["status"] = "reversed"
            account = next(a for a in self.accounts if a.no == p["subscriber_no"])
            account.bills[p["bill_id"]]["paid"] -= p["amount"]

    # -- settlements ----------------------------------------------------------------------------------------------

    @rule(
        bank=st.sampled_from(["CBS", "REB"]),
        sref=st.sampled_from(SETTLEMENTS),
        refs=st.lists(st.sampled_from([*REFS, "T9"]), unique=True, max_size=4),
        day=st.sampled_from(BUSINESS_DAYS),
        total=st.sampled_from([None, Decimal("1.00")]),
    )
    def settle(self, bank: str, sref: str, refs: list[str], day: date, total: Decimal | None) -> None:
        refs = [f"{self.tag}-{r}" for r in refs]
        sref = f"{self.tag}-{sref}"
        if total is None:
            total = sum((self.payments[(bank, r)]["amount"] for r in refs if (bank, r) in self.payments), ZERO)
        existing = self.settlements.get((bank, sref))
        if existing is not None:
            same = (existing["day"], sorted(existing["refs"]), existing["total"]) == (day, sorted(refs), total)
            expected: Any = existing if same else Refused(SettlementRefConflict)
        else:
            expected = self._reconcile(bank, sref, refs)
        result = self.expect(
            expected, lambda: self.app.settle(bank, sref, day, refs, str(total)), stores=existing is None
        )
        if result is None:
            return
        report, created = result
        if existing is not None:
            assert created is False and report == existing["report"]
            return
        assert created is True
        assert {k: report[k] for k in ("matched", "unknown", "mismatched")} == expected["report"]
        for ref in expected["clears"]:
            self.payments[(bank, ref)].update(settlement_ref=sref)
            if self.payments[(bank, ref)]["status"] == "received":
                self.payments[(bank, ref)]["status"] = "cleared"
        self.settlements[(bank, sref)] = {"day": day, "refs": refs, "total": total, "report": report}

    def _reconcile(self, bank: str, sref: str, refs: list[str]) -> dict[str, Any]:
        report: dict[str, list[Any]] = {"matched": [], "unknown": [], "mismatched": []}
        clears = []
        for ref in refs:
            p = self.payments.get((bank, ref))
            if p is None:
                report["unknown"].append(ref)
            elif p["settlement_ref"] not in (None, sref):
                report["mismatched"].append({"payment_ref": ref, "reason": "already_cleared"})
            elif p["status"] == "reversed":
                report["mismatched"].append({"payment_ref": ref, "reason": "reversed"})
                clears.append(ref)
            else:
                report["matched"].append(ref)
                clears.append(ref)
        return {"report": report, "clears": clears}

    # -- snapshots ------------------------------------------------------------------------------------------------

    @rule(i=st.integers(0, SUBSCRIBERS - 1), times=st.integers(25, 55))
    def change_the_enrolment_many_times(self, i: int, times: int) -> None:
        """Cheap events, saved in one go, so that subscribers pass 50 events and are loaded from snapshots."""
        account = self.account(i)
        sub = self.app.load_subscriber(account.no)
        for n in range(times):
            sub.enrol("CBS", f"****{n % 2}{n % 2}{n % 2}{n % 2}")
        sub.enrol("CBS", "****4321")
        self.app.save(sub)

    # -- invariants: the ledger is observed once per step, then every invariant is checked against it -----------

    def observe(self) -> dict[str, Any]:
        """Each subscriber as the ledger loads it (from its latest snapshot on), checked against a full replay."""
        seen: dict[str, Any] = {"payments": {}}
        today = self.clock.now.date()
        for account in self.accounts:
            events = list(self.app.events.get(subscriber_id(account.no)))
            state = aggregate_state(self.app.load_subscriber(account.no), today)
            replayed = reduce(lambda agg, event: event.mutate(agg), events, None)
            assert aggregate_state(replayed, today) == state, "loading from a snapshot differs from a full replay"
            seen[account.no] = {**state, "events": events}
            seen["payments"].update(state["payments"])
        return seen

    @invariant()
    def the_invariants_hold(self) -> None:
        if not self.accounts:
            return
        seen = self.observe()
        self.unchecked_steps += 1
        self.each_payment_reference_is_applied_at_most_once(seen)
        self.no_bill_is_paid_beyond_its_amount_plus_adjustments(seen)
        self.there_is_at_most_one_bill_per_cycle(seen)
        self.readings_never_go_backwards_on_a_meter(seen)
        self.payments_and_balances_match_the_model(seen)

    def each_payment_reference_is_applied_at_most_once(self, seen: dict[str, Any]) -> None:
        received: Counter[str] = Counter()
        for account in self.accounts:
            received.update(
                e.payment_key for e in seen[account.no]["events"] if isinstance(e, Subscriber.PaymentReceived)
            )
        assert all(n == 1 for n in received.values()), received
        assert set(received) == {f"{bank}:{ref}" for bank, ref in self.payments}

    def no_bill_is_paid_beyond_its_amount_plus_adjustments(self, seen: dict[str, Any]) -> None:
        for account in self.accounts:
            live = [
                p
                for key, p in seen["payments"].items()
                if p["subscriber_no"] == account.no and p["status"] != "reversed"
            ]
            for bill in seen[account.no]["bills"]:
                paid = sum((p["amount"] for p in live if p["bill_id"] == bill["bill_id"]), ZERO)
                model = account.bills[bill["bill_id"]]
                assert bill["paid"] == paid == model["paid"] <= bill["amount"] + bill["adjusted"]
                assert (bill["amount"], bill["adjusted"]) == (model["amount"], model["adjusted"])
                assert bill["outstanding"] == bill["amount"] + bill["adjusted"] - paid >= ZERO

    def there_is_at_most_one_bill_per_cycle(self, seen: dict[str, Any]) -> None:
        for account in self.accounts:
            cycles = Counter(e.cycle for e in seen[account.no]["events"] if isinstance(e, Subscriber.BillIssued))
            assert all(n == 1 for n in cycles.values()), cycles
            assert sorted(b["bill_id"] for b in seen[account.no]["bills"]) == sorted(account.bills)

    def readings_never_go_backwards_on_a_meter(self, seen: dict[str, Any]) -> None:
        for account in self.accounts:
            shown = seen[account.no]["readings"]
            assert len(shown) == len(account.readings)
            counted = [
                r for r in shown if r["source"] != "estimated" and not r["flagged"] and r["review"] != "rejected"
            ]
            for meter in {r["meter_no"] for r in counted}:
                values = [
                    r["reading_kwh"] for r in sorted(counted, key=lambda r: r["read_at"]) if r["meter_no"] == meter
                ]
                assert values == sorted(values), (meter, values)
            assert seen[account.no]["subscriber"]["last_reading_kwh"] == account.meter.last_actual

    def payments_and_balances_match_the_model(self, seen: dict[str, Any]) -> None:
        for (bank, ref), p in self.payments.items():
            shown = seen["payments"][f"{bank}:{ref}"]
            assert (shown["status"], shown["settlement_ref"], shown["amount"]) == (
                p["status"],
                p["settlement_ref"],
                p["amount"],
            )
        for account in self.accounts:
            balance = seen[account.no]["subscriber"]["balance"]
            mine = [p for p in self.payments.values() if p["subscriber_no"] == account.no]
            live = [p for p in mine if p["status"] != "reversed"]
            assert balance["paid"] == sum((p["amount"] for p in live), ZERO)
            assert balance["cleared"] == sum((p["amount"] for p in live if p["status"] == "cleared"), ZERO)
            assert balance["refunds_due"] == sum(
                (p["amount"] for p in mine if p["status"] == "reversed" and p["settlement_ref"]), ZERO
            )
            assert balance["billed"] == sum((b["amount"] for b in account.bills.values()), ZERO)

    @precondition(lambda self: self.unchecked_steps >= 5)
    @rule()
    def another_application_and_a_full_replay_show_the_live_state(self) -> None:
        self.compare_with(self.other)
        self.unchecked_steps = 0

    def compare_with(self, other: LedgerApplication) -> None:
        """`other` holds nothing in memory: it loads from the store (and its snapshots) as a restarted one would."""
        for account in self.accounts:
            live = live_state(self.app, account.no)
            assert live_state(other, account.no) == live
            events = list(self.app.events.get(subscriber_id(account.no)))
            replayed = reduce(lambda agg, event: event.mutate(agg), events, None)
            assert aggregate_state(replayed, self.clock.now.date()) == live


def live_state(app: LedgerApplication, no: str) -> dict[str, Any]:
    """What the application's queries show of one subscriber."""
    payments = app.load_subscriber(no).payments
    return {
        "subscriber": app.subscriber(no),
        "bills": app.bills(no),
        "readings": app.readings(no),
        "payments": {key: app.payment(p["bank"], p["payment_ref"]) for key, p in payments.items()},
    }


def aggregate_state(sub: Any, today: date) -> dict[str, Any]:
    """The same, computed straight from an aggregate's state."""
    return {
        "subscriber": views.subscriber_view(sub, today),
        "bills": [views.bill_view(sub, b, today) for b in sub.bills.values()],
        "readings": [views.reading_view(r) for r in sub.readings.values()],
        "payments": {key: views.payment_view(sub, p) for key, p in sub.payments.items()},
    }


def run_machine(url: str, examples: int, steps: int) -> None:
    apps = [
        LedgerApplication(env={"LEDGER_DATABASE_URL": url, **extra}, clock=LedgerMachine.clock)
        for extra in ({}, {"LEDGER_AGGREGATE_CACHE": "0"})
    ]
    assert apps[1].subscribers.cache is None, "the other application must load from the store every time"
    machine = type("Machine", (LedgerMachine,), {"app": apps[0], "other": apps[1]})
    try:
        run_state_machine_as_test(machine, settings=settings(max_examples=examples, stateful_step_count=steps))
    finally:
        for app in apps:
            app.close()


def sized(sqlite_examples: int) -> int:
    """Scale with the hypothesis profile (dev 25, ci 60 examples) without letting a run grow past seconds."""
    return max(5, min(sqlite_examples, settings().max_examples * sqlite_examples // 60))


def test_the_ledger_behaves_like_the_model_on_sqlite(tmp_path):
    run_machine(f"sqlite:///{tmp_path}/machine.db", examples=sized(40), steps=40)


@pytest.mark.postgres
def test_the_ledger_behaves_like_the_model_on_postgres():
    url, drop = create_pg_database()
    try:
        run_machine(url, examples=sized(20), steps=30)
    finally:
        drop()


def test_a_subscriber_with_hundreds_of_events_loads_from_snapshots_as_a_full_replay(database_url, clock):
    url = database_url  # on PostgreSQL a load reads the snapshot and the events after it in one query
    app = LedgerApplication(env={"LEDGER_DATABASE_URL": url}, clock=clock)
    try:
        app.register_subscriber("DI-1", "SY-DI", "residential", "M1", 1000, "Many events")
        app.enrol("DI-1", "CBS", "****4321")
        read_at = datetime(2025, 11, 2, 9, tzinfo=UTC)
        for n, cycle in enumerate(CYCLES[:-1]):
            for step in range(20):
                read_at += timedelta(days=2)
                app.submit_reading("DI-1", 1000 + 300 * n + 15 * (step + 1), read_at, "reader")
            bill = app.issue_bill("DI-1", cycle)
            for k in range(5):
                app.receive_payment("CBS", f"TX{n}-{k}", "DI-1", bill["bill_id"], "10.00", "app", PAID_TIMES[0])
            app.reverse_payment("CBS", f"TX{n}-0", "duplicate")
            app.settle("CBS", f"S{n}", BUSINESS_DAYS[0], [f"TX{n}-{k}" for k in range(5)], "50.00")
        events = list(app.events.get(subscriber_id("DI-1")))
        assert len(events) > 200
        snapshots = list(app.snapshots.get(subscriber_id("DI-1")))
        assert [s.originator_version for s in snapshots] == list(range(50, len(events) + 1, 50))
        for snapshot in snapshots:  # taken from the subscriber in hand: the same as replaying the stored events
            replayed_then = reduce(lambda agg, event: event.mutate(agg), events[: snapshot.originator_version], None)
            assert snapshot.state == type(snapshot).take(replayed_then).state, snapshot.originator_version
        fresh = LedgerApplication(env={"LEDGER_DATABASE_URL": url}, clock=clock)
        try:
            replayed = reduce(lambda agg, event: event.mutate(agg), events, None)
            assert live_state(fresh, "DI-1") == live_state(app, "DI-1") == aggregate_state(replayed, clock.now.date())
        finally:
            fresh.close()
    finally:
        app.close()
