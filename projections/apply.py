"""How each ledger event changes the read models: one small function per event class, over a `WorkingSet`.

These functions mirror the aggregates' own `apply` methods (ledger/subscriber.py, ledger/governorate.py) so that a
read model always equals what `ledger.views` derives from a fresh replay. Money is converted to new pounds (`SYP`)
at exactly 100:1 with `ledger.money.to_new`; a subscriber's totals are summed again from its bills and payments
when the batch is flushed. An event of a class this module does not know stops the runner: projecting it wrongly
in silence would be worse than stopping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from eventsourcing.utils import get_topic

from ledger.claims import PaymentClaim, Settlement
from ledger.governorate import Governorate
from ledger.money import NEW, ZERO, to_new
from ledger.subscriber import Subscriber
from projections.workingset import ProjectionError, Row, WorkingSet

Handler = Callable[[WorkingSet, Any], None]


def _id(event: Any) -> str:
    return str(event.originator_id)


# -- subscribers ----------------------------------------------------------------------------------------------------


def registered(ws: WorkingSet, e: Any) -> None:
    ws.add_subscriber(
        {
            "subscriber_no": e.subscriber_no,
            "subscriber_id": _id(e),
            "governorate": e.governorate,
            "category": e.category,
            "meter_no": e.meter_no,
            "name": e.name,
            "last_reading_kwh": e.initial_reading_kwh,
            "enrolled_banks": "",
            "registered_at": e.timestamp,
            "billed": ZERO,
            "adjusted": ZERO,
            "paid": ZERO,
            "cleared": ZERO,
            "outstanding": ZERO,
            "refunds_due": ZERO,
            "last_payment_at": None,
            "unit": NEW,
        }
    )
    gov = ws.governorate(e.governorate)
    gov["subscribers"] += 1
    ws.governorates.changed(gov)


def enrolled(ws: WorkingSet, e: Any) -> None:
    sub = ws.subscriber(_id(e))
    banks = {b for b in sub["enrolled_banks"].split(",") if b}
    if e.bank in banks:
        return
    if not banks:
        gov = ws.governorate(sub["governorate"])
        gov["enrolled"] += 1
        ws.governorates.changed(gov)
    sub["enrolled_banks"] = ",".join(sorted(banks | {e.bank}))
    ws.subscribers.changed(sub)


def _advance_meter(ws: WorkingSet, sub: Row, meter_no: str, reading_kwh: int, source: str) -> None:
    """As `ledger.subscriber_rules.advance_meter` moves `last_actual_kwh` for an accepted reading."""
    if meter_no != sub["meter_no"] or reading_kwh < sub["last_reading_kwh"] or source == "estimated":
        return
    sub["last_reading_kwh"] = reading_kwh
    ws.subscribers.changed(sub)


def reading_submitted(ws: WorkingSet, e: Any) -> None:
    sub = ws.subscriber(_id(e))
    key = (e.reading_id, sub["subscriber_no"])
    ws.review_queue.get(ws.conn, key)
    if not e.flagged:
        ws.review_queue.remove(key)  # a same-id reading submitted again, now accepted, replaces it
        _advance_meter(ws, sub, e.meter_no, e.reading_kwh, e.source)
        return
    ws.review_queue.put(
        {
            "reading_id": e.reading_id,
            "subscriber_no": sub["subscriber_no"],
            "governorate": sub["governorate"],
            "meter_no": e.meter_no,
            "reading_kwh": e.reading_kwh,
            "consumption_kwh": e.consumption_kwh,
            "read_at": e.read_at,
            "source": e.source,
            "recorded_at": e.timestamp,
        }
    )


def reading_reviewed(ws: WorkingSet, e: Any) -> None:
    sub = ws.subscriber(_id(e))
    key = (e.reading_id, sub["subscriber_no"])
    reading = ws.review_queue.get(ws.conn, key)
    if reading is None:
        raise ProjectionError(f"reading {e.reading_id} was reviewed but is not in the review queue")
    ws.review_queue.remove(key)
    if e.accepted:
        _advance_meter(ws, sub, reading["meter_no"], reading["reading_kwh"], reading["source"])


def meter_replaced(ws: WorkingSet, e: Any) -> None:
    sub = ws.subscriber(_id(e))
    sub.update(meter_no=e.new_meter_no, last_reading_kwh=e.new_initial_reading_kwh)
    ws.subscribers.changed(sub)


# -- bills and payments ---------------------------------------------------------------------------------------------


def bill_issued(ws: WorkingSet, e: Any) -> None:
    sub = ws.subscriber(_id(e))
    amount = to_new(e.amount, e.unit)
    ws.bills.put(
        {
            "bill_id": e.bill_id,
            "subscriber_no": sub["subscriber_no"],
            "governorate": sub["governorate"],
            "cycle": e.cycle,
            "kwh": e.kwh,
            "tariff_version": e.tariff_version,
            "amount_issued": e.amount,
            "unit_issued": e.unit,
            "amount": amount,
            "adjusted": ZERO,
            "paid": ZERO,
            "cleared": ZERO,
            "outstanding": amount,
            "issued_on": date.fromisoformat(e.issued_on),
            "due_date": date.fromisoformat(e.due_date),
            "issued_at": e.timestamp,
            "unit": NEW,
        }
    )
    ws.totals_stale.add(sub["subscriber_no"])


def _change_bill(ws: WorkingSet, bill: Row, **deltas: Any) -> None:
    for column, delta in deltas.items():
        bill[column] += delta
    bill["outstanding"] = bill["amount"] + bill["adjusted"] - bill["paid"]
    ws.bills.changed(bill)
    ws.totals_stale.add(bill["subscriber_no"])


def bill_adjusted(ws: WorkingSet, e: Any) -> None:
    _change_bill(ws, ws.bill(e.bill_id), adjusted=e.amount)


def payment_received(ws: WorkingSet, e: Any) -> None:
    sub = ws.subscriber(_id(e))
    bill = ws.bill(e.bill_id)
    amount = to_new(e.amount, e.unit)
    ws.payments.put(
        {
            "bank": e.bank,
            "payment_ref": e.payment_ref,
            "subscriber_no": sub["subscriber_no"],
            "governorate": sub["governorate"],
            "bill_id": e.bill_id,
            "cycle": bill["cycle"],
            "amount": amount,
            "channel": e.channel,
            "status": "received",
            "paid_at": datetime.fromisoformat(e.paid_at),
            "received_at": e.timestamp,
            "cleared_at": None,
            "settlement_ref": None,
            "reversed_at": None,
            "posting_delay_s": None,
            "unit": NEW,
        }
    )
    _change_bill(ws, bill, paid=amount)


def payment_reversed(ws: WorkingSet, e: Any) -> None:
    payment = ws.payment(e.payment_key)
    bill = ws.bill(payment["bill_id"])
    cleared = payment["amount"] if payment["status"] == "cleared" else ZERO
    payment.update(status="reversed", reversed_at=e.timestamp)
    ws.payments.changed(payment)
    _change_bill(ws, bill, paid=-payment["amount"], cleared=-cleared)


def payment_cleared(ws: WorkingSet, e: Any) -> None:
    payment = ws.payment(e.payment_key)
    cleared_at = datetime.fromisoformat(e.cleared_at)
    delay = int((cleared_at - payment["paid_at"]).total_seconds())
    payment.update(settlement_ref=e.settlement_ref, cleared_at=cleared_at, posting_delay_s=delay)
    ws.payments.changed(payment)
    ws.totals_stale.add(payment["subscriber_no"])
    if payment["status"] == "received":
        payment["status"] = "cleared"
        _change_bill(ws, ws.bill(payment["bill_id"]), cleared=payment["amount"])


# -- governorates ---------------------------------------------------------------------------------------------------


def governorate_listed(ws: WorkingSet, e: Any) -> None:
    gov = ws.governorate(e.code)
    gov.update(governorate_id=_id(e), listed=True)
    ws.governorate_by_id[_id(e)] = e.code
    ws.governorates.changed(gov)


def e_payment_switched(ws: WorkingSet, e: Any) -> None:
    gov = ws.governorate_by_aggregate(_id(e))
    gov.update(live_since=date.fromisoformat(e.effective_from) if e.live else None, switched_at=e.timestamp)
    gov["switches"] += 1
    ws.governorates.changed(gov)


# -- settlements ----------------------------------------------------------------------------------------------------


def settlement_received(ws: WorkingSet, e: Any) -> None:
    report = e.report
    ws.settlements.put(
        {
            "bank": e.bank,
            "settlement_ref": e.settlement_ref,
            "business_date": date.fromisoformat(e.business_date),
            "total": e.total,
            "matched_total": Decimal(report.get("matched_total", "0.00")),
            "listed": len(e.payment_refs),
            "matched": len(report.get("matched", [])),
            "unknown": len(report.get("unknown", [])),
            "mismatched": len(report.get("mismatched", [])),
            "received_at": e.timestamp,
        }
    )


HANDLERS: dict[str, Handler] = {
    get_topic(Subscriber.Registered): registered,
    get_topic(Subscriber.EnrolledForEPayment): enrolled,
    get_topic(Subscriber.ReadingSubmitted): reading_submitted,
    get_topic(Subscriber.ReadingReviewed): reading_reviewed,
    get_topic(Subscriber.MeterReplaced): meter_replaced,
    get_topic(Subscriber.BillIssued): bill_issued,
    get_topic(Subscriber.BillAdjusted): bill_adjusted,
    get_topic(Subscriber.PaymentReceived): payment_received,
    get_topic(Subscriber.PaymentReversed): payment_reversed,
    get_topic(Subscriber.PaymentCleared): payment_cleared,
    get_topic(Governorate.Listed): governorate_listed,
    get_topic(Governorate.EPaymentSwitched): e_payment_switched,
    get_topic(Settlement.Received): settlement_received,
}
IGNORED = frozenset({get_topic(PaymentClaim.Claimed)})
"""Events that change no read model: a claim only reserves a reference."""


def is_projected(topic: str) -> bool:
    if topic in HANDLERS:
        return True
    if topic in IGNORED:
        return False
    raise ProjectionError(f"no projection knows event {topic}; update projections/apply.py before projecting it")


S = Subscriber
NEEDS_SUBSCRIBER = (
    S.EnrolledForEPayment,
    S.ReadingSubmitted,
    S.ReadingReviewed,
    S.MeterReplaced,
    S.BillIssued,
    S.PaymentReceived,
)
NEEDS_PAYMENT = (S.PaymentReversed, S.PaymentCleared)
NEEDS_BILL = (S.BillAdjusted, S.PaymentReceived)
NEEDS_READING = (S.ReadingSubmitted, S.ReadingReviewed)


def preload(ws: WorkingSet, events: list[Any]) -> None:
    """Load in bulk, before applying, every existing row the batch's events will touch."""
    ws.load_governorates()
    ws.load_subscribers_by_id({_id(e) for e in events if isinstance(e, NEEDS_SUBSCRIBER)})
    keys = [e.payment_key.partition(":") for e in events if isinstance(e, NEEDS_PAYMENT)]
    ws.payments.load(ws.conn, [(bank, ref) for bank, _, ref in keys])
    bill_ids = {e.bill_id for e in events if isinstance(e, NEEDS_BILL)}
    ws.bills.load(ws.conn, bill_ids | {row["bill_id"] for row in ws.payments.rows.values() if row is not None})
    numbers = ws.subscriber_no_by_id  # a subscriber not stored yet has no queued reading yet
    readings = [(e.reading_id, numbers[_id(e)]) for e in events if isinstance(e, NEEDS_READING) and _id(e) in numbers]
    ws.review_queue.load(ws.conn, readings)


def apply_all(ws: WorkingSet, events: list[Any]) -> None:
    preload(ws, events)
    apply_events(ws, events)
    ws.flush()


def apply_events(ws: WorkingSet, events: list[Any]) -> None:
    """Change the working set's rows for each event, in order (nothing is written until `ws.flush()`)."""
    for event in events:
        HANDLERS[get_topic(type(event))](ws, event)
