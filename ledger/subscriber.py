"""The subscriber aggregate: one event stream per subscriber number, holding every fact about that account.

Commands (public methods) validate and decide; events (nested classes with `apply`) only change state, because
they run again on every replay. Money in state is `Decimal` in new pounds (SYP); a bill issued in old pounds keeps
its issued amount and unit in its event and state, converted at exactly 100:1 for balances. Dates are ISO strings
in state so that snapshots transcode without extra registrations.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from ledger import subscriber_rules as rules
from ledger.actors import current_actor
from ledger.copying import copy_aggregate
from ledger.errors import (
    AdjustmentTooLarge,
    InvalidInput,
    PaymentAlreadyReversed,
    UnknownBill,
    UnknownPayment,
)
from ledger.money import unit_on
from ledger.tariffs import TariffBook

NAMESPACE = uuid5(NAMESPACE_URL, "https://ledger.electricity.gov.sy/subscribers")


def subscriber_id(subscriber_no: str) -> UUID:
    return uuid5(NAMESPACE, subscriber_no)


class SubscriberEvent(Aggregate.Event):
    """Base of a subscriber's events: each records who recorded it and through which channel."""

    recorded_by: str
    recorded_via: str


class Subscriber(Aggregate):
    class Registered(Aggregate.Created):
        subscriber_no: str
        governorate: str
        category: str
        meter_no: str
        initial_reading_kwh: int
        name: str
        recorded_by: str
        recorded_via: str

        def apply(self, aggregate: Any) -> None:
            aggregate._on_registered(self)

    class EnrolledForEPayment(SubscriberEvent):
        bank: str
        account_ref: str

        def apply(self, aggregate: Any) -> None:
            aggregate.enrolments[self.bank] = {"account_ref": self.account_ref, "since": self.timestamp.isoformat()}

    class ReadingSubmitted(SubscriberEvent):
        reading_id: str
        meter_no: str
        reading_kwh: int
        read_at: str
        source: str
        consumption_kwh: int
        days: str | None
        flagged: bool

        def apply(self, aggregate: Any) -> None:
            aggregate._on_reading(self)

    class MeterReplaced(SubscriberEvent):
        old_meter_no: str
        old_final_reading_kwh: int
        new_meter_no: str
        new_initial_reading_kwh: int
        replaced_at: str

        def apply(self, aggregate: Any) -> None:
            aggregate._on_meter_replaced(self)

    class BillIssued(SubscriberEvent):
        bill_id: str
        cycle: str
        period_start: str
        period_end: str
        meter_no: str
        opening_kwh: int
        closing_kwh: int
        carried_kwh: int
        kwh: int
        reading_id: str
        tariff_version: str
        lines: list[dict[str, str]]
        amount: Decimal
        unit: str
        issued_on: str
        due_date: str

        def apply(self, aggregate: Any) -> None:
            aggregate._on_bill_issued(self)

    class BillAdjusted(SubscriberEvent):
        bill_id: str
        amount: Decimal
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.bills[self.bill_id]["adjusted"] += self.amount

    class PaymentReceived(SubscriberEvent):
        payment_key: str
        payment_ref: str
        bank: str
        bill_id: str
        amount: Decimal
        unit: str
        channel: str
        paid_at: str

        def apply(self, aggregate: Any) -> None:
            aggregate._on_payment(self)

    class PaymentReversed(SubscriberEvent):
        payment_key: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            payment = aggregate.payments[self.payment_key]
            payment.update(status="reversed", reversed_at=self.timestamp.isoformat(), reversal_reason=self.reason)
            aggregate.bills[payment["bill_id"]]["paid"] -= payment["amount"]

    class PaymentCleared(SubscriberEvent):
        payment_key: str
        settlement_ref: str
        cleared_at: str

        def apply(self, aggregate: Any) -> None:
            payment = aggregate.payments[self.payment_key]
            payment.update(settlement_ref=self.settlement_ref, cleared_at=self.cleared_at)
            if payment["status"] == "received":
                payment["status"] = "cleared"

    class ReadingReviewed(SubscriberEvent):
        reading_id: str
        accepted: bool
        note: str

        def apply(self, aggregate: Any) -> None:
            aggregate._on_reading_reviewed(self)

    # -- creation -------------------------------------------------------------------------------------------------

    @classmethod
    def register(
        cls, subscriber_no: str, governorate: str, category: str, meter_no: str, initial_reading_kwh: int, name: str
    ) -> Subscriber:
        rules.check_registration(category, initial_reading_kwh, name)
        actor = current_actor()
        return cls._create(
            cls.Registered,
            id=subscriber_id(subscriber_no),
            subscriber_no=subscriber_no,
            governorate=governorate,
            category=category,
            meter_no=meter_no,
            initial_reading_kwh=initial_reading_kwh,
            name=name,
            recorded_by=actor.name,
            recorded_via=actor.channel,
        )

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        if issubclass(event_class, SubscriberEvent):
            actor = current_actor()
            kwargs.setdefault("recorded_by", actor.name)
            kwargs.setdefault("recorded_via", actor.channel)
        super().trigger_event(event_class, **kwargs)

    # -- commands -------------------------------------------------------------------------------------------------

    def enrol(self, bank: str, account_ref: str) -> bool:
        """Record e-payment enrolment with a bank; False (and no event) when it is already recorded as given."""
        rules.check_account_ref(account_ref)
        if self.enrolments.get(bank, {}).get("account_ref") == account_ref:
            return False
        self.trigger_event(self.EnrolledForEPayment, bank=bank, account_ref=account_ref)
        return True

    def submit_reading(self, reading_kwh: int, read_at: datetime, source: str, now: datetime) -> str:
        """Record a reading and return its id; an identical reading submitted again returns the first one's id."""
        reading_id = rules.reading_id(self.meter["meter_no"], reading_kwh, read_at)
        existing = self.readings.get(reading_id)
        if existing is not None:
            rules.check_same_reading(existing, source)
            return reading_id
        decision = rules.judge_reading(self, reading_kwh, read_at, source, now)
        self.trigger_event(self.ReadingSubmitted, reading_id=reading_id, **decision)
        return reading_id

    def review_reading(self, reading_id: str, accepted: bool, note: str) -> None:
        rules.check_reviewable(self, reading_id, accepted)
        self.trigger_event(self.ReadingReviewed, reading_id=reading_id, accepted=accepted, note=note)

    def replace_meter(
        self, old_final_reading_kwh: int, new_meter_no: str, new_initial_reading_kwh: int, replaced_at: datetime
    ) -> None:
        rules.check_meter_replacement(self, old_final_reading_kwh, new_meter_no, new_initial_reading_kwh)
        self.trigger_event(
            self.MeterReplaced,
            old_meter_no=self.meter["meter_no"],
            old_final_reading_kwh=old_final_reading_kwh,
            new_meter_no=new_meter_no,
            new_initial_reading_kwh=new_initial_reading_kwh,
            replaced_at=replaced_at.isoformat(),
        )

    def issue_bill(self, cycle: str, tariffs: TariffBook, issued_on: date, today: date) -> str:
        """Issue the bill for `cycle` from the consumption since the last bill, priced by the tariff in force."""
        plan = rules.plan_bill(self, cycle, today)
        priced = tariffs.price(
            self.category,
            plan["kwh"],
            date.fromisoformat(plan["period_start"]),
            date.fromisoformat(plan["period_end"]),
            unit_on(issued_on),
        )
        bill_id = rules.bill_id(self.subscriber_no, cycle)
        self.trigger_event(
            self.BillIssued,
            bill_id=bill_id,
            lines=priced.lines,
            amount=priced.amount,
            unit=priced.unit,
            tariff_version=priced.tariff_version,
            issued_on=issued_on.isoformat(),
            due_date=rules.due_date(issued_on).isoformat(),
            **plan,
        )
        return bill_id

    def adjust_bill(self, bill_id: str, amount: Decimal, reason: str) -> None:
        bill = self.bill(bill_id)
        if not reason.strip():
            raise InvalidInput("An adjustment needs a reason (credit note or correction).")
        if bill["amount"] + bill["adjusted"] + amount < bill["paid"]:
            raise AdjustmentTooLarge(
                f"A credit of {-amount} would leave bill {bill_id} below the {bill['paid']} SYP already paid on it.",
                bill_id=bill_id,
            )
        self.trigger_event(self.BillAdjusted, bill_id=bill_id, amount=amount, reason=reason)

    def receive_payment(self, payment: dict[str, Any], live_since: date | None, now: datetime) -> bool:
        """Apply a bank's confirmed payment once. Returns False when this exact payment is already recorded."""
        if rules.is_replay_of(self, payment):
            return False
        rules.check_payment(self, payment, live_since, now)
        self.trigger_event(self.PaymentReceived, **rules.payment_event_fields(payment))
        return True

    def reverse_payment(self, payment_key: str, reason: str) -> None:
        payment = self.payment(payment_key)
        if payment["status"] == "reversed":
            raise PaymentAlreadyReversed(
                f"Payment {payment['payment_ref']} of {payment['bank']} was already reversed.",
                payment_key=payment_key,
            )
        if not reason.strip():
            raise InvalidInput("A reversal needs a reason.")
        self.trigger_event(self.PaymentReversed, payment_key=payment_key, reason=reason)

    def clear_payment(self, payment_key: str, settlement_ref: str, cleared_at: datetime) -> bool:
        """Mark a payment as settled into the ministry's account; False when that settlement already cleared it."""
        payment = self.payment(payment_key)
        if payment.get("settlement_ref") is not None:
            return False
        self.trigger_event(
            self.PaymentCleared,
            payment_key=payment_key,
            settlement_ref=settlement_ref,
            cleared_at=cleared_at.isoformat(),
        )
        return True

    # -- queries --------------------------------------------------------------------------------------------------

    def __deepcopy__(self, memo: dict[int, Any]) -> Subscriber:
        """Loads and commands copy state all the time; see ledger/copying.py."""
        return copy_aggregate(self)

    def bill(self, bill_id: str) -> dict[str, Any]:
        try:
            return self.bills[bill_id]
        except KeyError:
            raise UnknownBill(f"Subscriber {self.subscriber_no} has no bill {bill_id}.", bill_id=bill_id) from None

    def payment(self, payment_key: str) -> dict[str, Any]:
        try:
            return self.payments[payment_key]
        except KeyError:
            raise UnknownPayment(f"No payment {payment_key} on subscriber {self.subscriber_no}.") from None

    # -- state changes (run on every replay: no decisions here) ---------------------------------------------------

    def _on_registered(self, event: Registered) -> None:
        self.subscriber_no = event.subscriber_no
        self.governorate = event.governorate
        self.category = event.category
        self.name = event.name
        self.registered_at = event.timestamp.isoformat()
        self.meter = rules.fresh_meter(event.meter_no, event.initial_reading_kwh)
        self.carried_kwh = 0
        self.usage_history: list[dict[str, Any]] = []
        self.readings: dict[str, dict[str, Any]] = {}
        self.enrolments: dict[str, dict[str, str]] = {}
        self.bills: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}

    def _on_reading(self, event: ReadingSubmitted) -> None:
        reading = {
            "reading_id": event.reading_id,
            "meter_no": event.meter_no,
            "reading_kwh": event.reading_kwh,
            "read_at": event.read_at,
            "source": event.source,
            "consumption_kwh": event.consumption_kwh,
            "flagged": event.flagged,
            "recorded_at": event.timestamp.isoformat(),
        }
        self.readings[event.reading_id] = reading
        rules.advance_meter(self, reading, event.days)
        self.readings = rules.recent_readings(self.readings)

    def _on_reading_reviewed(self, event: ReadingReviewed) -> None:
        reading = self.readings[event.reading_id]
        reading.update(flagged=False, review="accepted" if event.accepted else "rejected", review_note=event.note)
        if event.accepted:
            rules.advance_meter(self, reading, None)

    def _on_meter_replaced(self, event: MeterReplaced) -> None:
        self.carried_kwh += event.old_final_reading_kwh - self.meter["billed_kwh"]
        self.meter = rules.fresh_meter(event.new_meter_no, event.new_initial_reading_kwh)

    def _on_bill_issued(self, event: BillIssued) -> None:
        self.bills[event.bill_id] = rules.bill_state(event)
        self.meter["billed_kwh"] = event.closing_kwh
        self.meter["billed_reading_id"] = event.reading_id
        self.carried_kwh = 0

    def _on_payment(self, event: PaymentReceived) -> None:
        self.payments[event.payment_key] = rules.payment_state(event)
        self.bills[event.bill_id]["paid"] += event.amount
