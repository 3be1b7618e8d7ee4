"""Re-checks the ledger's business invariants over the whole stored history, from the events alone.

Checked here, independently of the aggregate's own code (an audit must not trust what it audits):
1. each payment key is applied at most once: once per subscriber stream, and ledger-wide through the payment
   claim that names the subscriber it was applied to;
2. per bill, the unreversed payments never exceed the bill's amount plus its adjustments, after every event;
3. at most one bill per cycle per subscriber;
4. actual readings never go backwards on one meter (estimated and flagged readings are not actual until reviewed).

Subscriber events are streamed one subscriber at a time (keyset order on the store's unique (aggregate id,
version) index), so memory holds one account and one batch of claim look-ups, never the whole ledger. Money is
compared in new pounds (old-pound bills converted at exactly 100:1, as balances are).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from sqlalchemy import select

from ledger.audit_chain import BATCH, Row, as_row, engine, events_table, raw_columns, streamed, to_event
from ledger.claims import payment_claim_id
from ledger.money import ZERO, to_new
from ledger.subscriber import Subscriber, subscriber_id

AddFault = Callable[[int | None, str, str], None]
IdRange = tuple[UUID | None, UUID | None]
SUBSCRIBER_TOPICS = get_topic(Subscriber).split(":")[0] + ":%"
CLAIM_BATCH = 500


def stream_by_subscriber(app: Any, upto: int | None, batch: int = BATCH, ids: IdRange = (None, None)) -> Iterator[Row]:
    """Every subscriber event with position <= upto, ordered by (subscriber, version); only subscribers whose
    aggregate id is in `ids` (lowest included, first excluded; None: unbounded)."""
    table = events_table(app)
    query = select(*raw_columns(table)).where(table.c.topic.like(SUBSCRIBER_TOPICS))
    if ids[0] is not None:
        query = query.where(table.c.originator_id >= ids[0])
    if ids[1] is not None:
        query = query.where(table.c.originator_id < ids[1])
    if upto is not None:
        query = query.where(table.c.id <= upto)
    return streamed(app, query.order_by(table.c.originator_id, table.c.originator_version), batch)


class Account:
    """What the invariants need to remember about one subscriber while its events stream past."""

    def __init__(self, originator_id: UUID, add: AddFault, claims: ClaimCheck) -> None:
        self.originator_id, self.add, self.claims = originator_id, add, claims
        self.subscriber_no = str(originator_id)
        self.version = 0
        self.bills: dict[str, dict[str, Decimal]] = {}
        self.cycles: set[str] = set()
        self.payments: dict[str, dict[str, Any]] = {}
        self.meters: dict[str, int] = {}
        self.held: dict[str, tuple[str, int]] = {}  # flagged readings awaiting review: id -> (meter, kWh)

    def check_version(self, version: int, position: int) -> None:
        """Versions of one stream run 1, 2, 3...: a missing one means a removed event."""
        if version != self.version + 1:
            self.add(
                position,
                "version_gap",
                f"the events of subscriber {self.subscriber_no} jump from version "
                f"{self.version} to {version}: an event is missing",
            )
        self.version = version

    def apply(self, event: Any, position: int) -> None:
        handler = getattr(self, "on_" + type(event).__name__, None)
        if handler is not None:
            handler(event, position)

    def on_Registered(self, event: Any, position: int) -> None:
        self.subscriber_no = event.subscriber_no
        self.meters[event.meter_no] = event.initial_reading_kwh

    def on_BillIssued(self, event: Any, position: int) -> None:
        if event.bill_id in self.bills or event.cycle in self.cycles:
            self.add(
                position,
                "duplicate_bill",
                f"subscriber {self.subscriber_no} was billed a second time for cycle {event.cycle}",
            )
        self.cycles.add(event.cycle)
        self.bills[event.bill_id] = {"due": to_new(event.amount, event.unit), "paid": ZERO}

    def on_BillAdjusted(self, event: Any, position: int) -> None:
        bill = self._bill(event.bill_id, position)
        if bill is not None:
            bill["due"] += event.amount
            self._check_bill(event.bill_id, bill, position)

    def on_PaymentReceived(self, event: Any, position: int) -> None:
        if event.payment_key in self.payments:
            self.add(
                position,
                "double_payment",
                f"payment {event.payment_key} was applied twice to subscriber {self.subscriber_no}",
            )
        self.claims.expect(event.payment_key, self.originator_id, position)
        bill = self._bill(event.bill_id, position)
        self.payments[event.payment_key] = {"bill_id": event.bill_id, "amount": event.amount, "reversed": False}
        if bill is not None:
            bill["paid"] += event.amount
            self._check_bill(event.bill_id, bill, position)

    def on_PaymentReversed(self, event: Any, position: int) -> None:
        payment = self._payment(event.payment_key, position)
        if payment is None:
            return
        if payment["reversed"]:
            self.add(position, "double_reversal", f"payment {event.payment_key} was reversed twice")
            return
        payment["reversed"] = True
        bill = self.bills.get(payment["bill_id"])
        if bill is not None:
            bill["paid"] -= payment["amount"]

    def on_PaymentCleared(self, event: Any, position: int) -> None:
        self._payment(event.payment_key, position)

    def on_ReadingSubmitted(self, event: Any, position: int) -> None:
        """No reading of any source may lie below the meter's last actual one; only an actual one moves it."""
        self._not_backwards(event.meter_no, event.reading_kwh, position)
        if event.flagged:
            self.held[event.reading_id] = (event.meter_no, event.reading_kwh)
        elif event.source != "estimated":
            self._actual(event.meter_no, event.reading_kwh)

    def on_ReadingReviewed(self, event: Any, position: int) -> None:
        held = self.held.pop(event.reading_id, None)
        if held is not None and event.accepted:
            self._actual(*held)  # the aggregate ignores an accepted reading that later ones overtook

    def on_MeterReplaced(self, event: Any, position: int) -> None:
        self._not_backwards(event.old_meter_no, event.old_final_reading_kwh, position)
        self.meters[event.new_meter_no] = event.new_initial_reading_kwh

    def _not_backwards(self, meter_no: str, kwh: int, position: int) -> None:
        last = self.meters.get(meter_no)
        if last is not None and kwh < last:
            self.add(
                position,
                "reading_backwards",
                f"meter {meter_no} of subscriber {self.subscriber_no} went back from {last} to {kwh} kWh",
            )

    def _actual(self, meter_no: str, kwh: int) -> None:
        self.meters[meter_no] = max(kwh, self.meters.get(meter_no, kwh))

    def _bill(self, bill_id: str, position: int) -> dict[str, Decimal] | None:
        bill = self.bills.get(bill_id)
        if bill is None:
            self.add(
                position,
                "unknown_bill",
                f"an event refers to bill {bill_id}, never issued to subscriber {self.subscriber_no}",
            )
        return bill

    def _payment(self, key: str, position: int) -> dict[str, Any] | None:
        payment = self.payments.get(key)
        if payment is None:
            self.add(
                position,
                "unknown_payment",
                f"an event refers to payment {key}, never received by subscriber {self.subscriber_no}",
            )
        return payment

    def _check_bill(self, bill_id: str, bill: dict[str, Decimal], position: int) -> None:
        if bill["paid"] > bill["due"]:
            self.add(
                position,
                "overpayment",
                f"bill {bill_id} has {bill['paid']} SYP of unreversed payments against {bill['due']} SYP due",
            )


class ClaimCheck:
    """Ledger-wide uniqueness: every applied payment key has one claim, naming the subscriber it was applied to."""

    def __init__(self, app: Any, upto: int | None, add: AddFault) -> None:
        self.app, self.upto, self.add = app, upto, add
        self.pending: list[tuple[str, UUID, int]] = []
        self.checked = 0

    def expect(self, key: str, originator_id: UUID, position: int) -> None:
        self.pending.append((key, originator_id, position))
        if len(self.pending) >= CLAIM_BATCH:
            self.flush()

    def flush(self) -> None:
        claimants = self._claimants({payment_claim_id(key) for key, _, _ in self.pending})
        for key, originator_id, position in self.pending:
            claimant = claimants.get(key)
            if claimant is None:
                self.add(position, "unclaimed_payment", f"payment {key} was applied without its ledger-wide claim")
            elif subscriber_id(claimant) != originator_id:
                self.add(
                    position,
                    "double_payment",
                    f"payment {key} is claimed by subscriber {claimant} but was also applied to another subscriber",
                )
        self.checked += len(self.pending)
        self.pending = []

    def _claimants(self, ids: set[UUID]) -> dict[str, str]:
        if not ids:
            return {}
        table = events_table(self.app)
        query = select(*raw_columns(table)).where(table.c.originator_id.in_(ids), table.c.originator_version == 1)
        if self.upto is not None:
            query = query.where(table.c.id <= self.upto)
        with engine(self.app).connect() as conn:
            records = conn.execute(query).all()
        found: dict[str, str] = {}
        for record in records:
            try:
                event = to_event(self.app, as_row(record))
                found[event.payment_key] = event.subscriber_no
            except Exception:  # an unreadable claim counts as missing; the chain pass names the damaged row
                continue
        return found


def check_invariants(
    app: Any, upto: int | None, add: AddFault, bar: Any = None, ids: IdRange = (None, None)
) -> dict[str, int]:
    """Stream every subscriber's events (those with ids in `ids`) and report each broken invariant through `add`;
    returns counts."""
    claims = ClaimCheck(app, upto, add)
    counts = {"subscribers": 0, "events": 0}
    account: Account | None = None
    for row in stream_by_subscriber(app, upto, ids=ids):
        if account is None or account.originator_id != row.originator_id:
            account = Account(row.originator_id, add, claims)
            counts["subscribers"] += 1
        account.check_version(row.version, row.position)
        counts["events"] += 1
        if bar is not None:
            bar.update(1)
        try:
            event = to_event(app, row)
        except Exception as error:  # stored bytes that no longer decode: a finding, not a crash
            add(row.position, "unreadable", f"the stored event cannot be decoded: {error!r}")
            continue
        account.apply(event, row.position)
    claims.flush()
    if bar is not None:
        bar.close()
    counts["payments"] = claims.checked
    return counts
