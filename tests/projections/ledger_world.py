"""Random ledger histories for the projection properties: hypothesis draws a list of operations and `World` plays
them on a real `LedgerApplication`. Operations the ledger refuses (a `LedgerError`) are simply skipped: the point is
the variety of the events that do get recorded, not the rules (tests/property checks those).

The clock starts in November or late December 2025, or in February 2026, so that bills are issued in old pounds,
new pounds or both (the pound was redenominated on 2026-01-01).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from ledger.cycles import Cycle
from ledger.errors import LedgerError

STARTS = (
    datetime(2025, 11, 10, 9, tzinfo=UTC),
    datetime(2025, 12, 25, 9, tzinfo=UTC),
    datetime(2026, 2, 10, 9, tzinfo=UTC),
)
GOVERNORATES = ("SY-DI", "SY-DI", "SY-HL", "SY-HL", "SY-DR", "SY-DY")
BANKS = ("CBS", "REB")
CHANNELS = ("web", "app", "branch", "hub")
ADJUSTMENTS = [Decimal(a) for a in ("-500.00", "-0.01", "10.00", "250.50")]

small = st.integers(min_value=0, max_value=5)
register = st.tuples(
    st.just("register"), small, st.sampled_from(GOVERNORATES), st.sampled_from(["residential", "commercial"])
)
meter_cycle = st.tuples(
    st.just("cycle"), small, st.sampled_from([50, 400, 900, 200000]), st.sampled_from(["reader", "self", "estimated"])
)
pay = st.tuples(
    st.just("pay"), small, small, st.integers(1, 4), small, st.sampled_from(CHANNELS), st.sampled_from([0, 2, 50])
)
settle = st.tuples(st.just("settle"), st.sampled_from(BANKS), st.lists(small, min_size=1, max_size=3))
advance = st.tuples(st.just("advance"), st.sampled_from([1, 24, 240, 960, 1500]))
WEIGHTED = [
    (meter_cycle, 4),
    (pay, 6),
    (settle, 4),
    (advance, 3),
    (st.tuples(st.just("reverse"), small), 3),
    (st.tuples(st.just("adjust"), small, small, st.sampled_from(ADJUSTMENTS)), 2),
    (register, 1),
    (st.tuples(st.just("enrol"), small, st.sampled_from(BANKS)), 1),
    (
        st.tuples(
            st.just("read"),
            small,
            st.sampled_from([0, 50, 400, 900, 200000]),
            st.sampled_from([0, 1, 30]),
            st.sampled_from(["reader", "self", "estimated"]),
        ),
        1,
    ),
    (st.tuples(st.just("review"), small, st.booleans()), 1),
    (st.tuples(st.just("replace"), small, st.sampled_from([0, 20])), 1),
    (st.tuples(st.just("bill"), small, st.sampled_from([0, 0, 1])), 1),
    (st.tuples(st.just("switch"), st.sampled_from(["SY-DY", "SY-DR"])), 2),
    (
        st.tuples(
            st.just("project"),
        ),
        1,
    ),
]
operations = st.sampled_from([s for s, weight in WEIGHTED for _ in range(weight)]).flatmap(lambda s: s)
prologue = st.lists(
    st.tuples(
        st.sampled_from(GOVERNORATES),
        st.sampled_from(["residential", "commercial"]),
        st.sampled_from([("CBS",), ("REB",), ("CBS", "REB")]),
    ),
    min_size=1,
    max_size=4,
)
"""Subscribers to register (and enrol) before the random operations start: governorate, category, banks."""


class World:
    """Plays operations on a ledger, remembering the names it handed out so later operations can refer to them."""

    def __init__(self, app: Any, clock: Any) -> None:
        self.app = app
        self.clock = clock
        self.subscribers: list[str] = []
        self.flagged: list[tuple[str, str]] = []
        self.payments: list[tuple[str, str]] = []
        self.counter = 0

    def play(self, op: tuple[Any, ...]) -> None:
        with contextlib.suppress(LedgerError):
            getattr(self, "op_" + op[0])(*op[1:])

    def _sub(self, i: int) -> str:
        if not self.subscribers:
            raise LedgerError("no subscriber yet")
        return self.subscribers[i % len(self.subscribers)]

    def _bill(self, no: str, j: int) -> dict[str, Any]:
        bills = self.app.bills(no)
        if not bills:
            raise LedgerError("no bill yet")
        return bills[j % len(bills)]

    def _ago(self, hours: int) -> datetime:
        return self.clock.now - timedelta(hours=hours)

    def start(self, subscribers: list[tuple[str, str, tuple[str, ...]]]) -> None:
        for i, (governorate, category, banks) in enumerate(subscribers):
            self.op_register(i, governorate, category)
            for bank in banks:
                self.op_enrol(i, bank)
            self.play(("cycle", i, 400, "reader"))

    def op_cycle(self, i: int, delta: int, source: str) -> None:
        self.op_read(i, delta, 0, source)
        self.op_bill(i, 0)

    def op_register(self, i: int, governorate: str, category: str) -> None:
        no = f"{governorate[3:]}-{len(self.subscribers)}-{i}"
        self.app.register_subscriber(no, governorate, category, f"M-{no}", 100, f"Subscriber {no}")
        self.subscribers.append(no)

    def op_enrol(self, i: int, bank: str) -> None:
        self.app.enrol(self._sub(i), bank, "****" + str(1000 + i))

    def op_read(self, i: int, delta: int, hours_ago: int, source: str) -> None:
        no = self._sub(i)
        last = self.app.subscriber(no)["last_reading_kwh"]
        reading = self.app.submit_reading(no, last + delta, self._ago(hours_ago), source)
        if reading["flagged"]:
            self.flagged.append((no, reading["reading_id"]))

    def op_review(self, k: int, accepted: bool) -> None:
        if self.flagged:
            no, reading_id = self.flagged.pop(k % len(self.flagged))
            self.app.review_reading(no, reading_id, accepted, "checked on site")

    def op_replace(self, i: int, extra: int) -> None:
        no = self._sub(i)
        self.counter += 1
        final = self.app.subscriber(no)["last_reading_kwh"] + extra
        self.app.replace_meter(no, final, f"N{self.counter}", 5, self.clock.now)

    def op_bill(self, i: int, back: int) -> None:
        cycle = Cycle.containing(self.clock.now.date())
        for _ in range(back):
            cycle = cycle.previous()
        self.app.issue_bill(self._sub(i), cycle.name, issued_on=self.clock.now.date())

    def op_adjust(self, i: int, j: int, amount: Decimal) -> None:
        no = self._sub(i)
        self.app.adjust_bill(no, self._bill(no, j)["bill_id"], amount, "correction")

    def op_pay(self, i: int, j: int, quarters: int, k: int, channel: str, hours_ago: int) -> None:
        no = self._sub(i)
        bill = self._bill(no, j)
        banks = [e["bank"] for e in self.app.subscriber(no)["enrolments"]] or ["CBS"]
        bank = banks[k % len(banks)]
        amount = (bill["outstanding"] * quarters / 4).quantize(Decimal("0.01"))
        self.counter += 1
        ref = f"T{self.counter}"
        self.app.receive_payment(bank, ref, no, bill["bill_id"], amount, channel, self._ago(hours_ago))
        self.payments.append((bank, ref))

    def op_reverse(self, k: int) -> None:
        if self.payments:
            bank, ref = self.payments[k % len(self.payments)]
            self.app.reverse_payment(bank, ref, "customer dispute")

    def op_settle(self, bank: str, picks: list[int]) -> None:
        mine = [ref for b, ref in self.payments if b == bank]
        refs = sorted({mine[k % len(mine)] for k in picks}) if mine else []
        if not refs:
            return
        total = sum((self.app.payment(bank, ref)["amount"] for ref in refs), Decimal("0.00"))
        self.counter += 1
        self.app.settle(bank, f"S{self.counter}", self.clock.now.date(), refs, total)

    def op_advance(self, hours: int) -> None:
        self.clock.now += timedelta(hours=hours)

    def op_switch(self, code: str) -> None:
        """Switch e-payment off where it is on, on where it is off."""
        live = self.app.governorate(code)["live_since"] is None
        self.app.switch_e_payment(code, live, self.clock.now.date())

    def today(self) -> date:
        return self.clock.now.date()
