"""The decisions behind the subscriber's commands, as plain functions over its state.

Kept apart from `subscriber.py` so that the aggregate reads as a list of commands and events. Every function that
raises does so before any event is recorded, so a refused command leaves nothing behind.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from ledger import readings
from ledger.cycles import Cycle
from ledger.errors import (
    BillAlreadyIssued,
    FeeNotAllowed,
    GovernorateNotLive,
    InvalidAmount,
    InvalidCycle,
    InvalidInput,
    NotEnrolled,
    NothingToBill,
    Overpayment,
    PaymentRefConflict,
    ReadingIdConflict,
    ReadingOutOfOrder,
    ReadingWentBackwards,
    UnmaskedAccountReference,
)
from ledger.money import NEW, ZERO, to_new
from ledger.tariffs import CATEGORIES

CHANNELS = ("web", "app", "branch", "hub")
PAYMENT_TERM_DAYS = 30
CLOCK_SKEW = timedelta(minutes=5)
MASKED_ACCOUNT = re.compile(r"^[*]{4,}[0-9A-Za-z]{0,4}$")
_READING_NS = uuid5(NAMESPACE_URL, "https://ledger.electricity.gov.sy/readings")
MAX_USAGE_HISTORY = 12
# Readings kept in the aggregate's state: enough to recognise a retried submission and to review flagged ones.
# Older readings stay in the event history (auditors' /events); keeping them all would make every load and
# snapshot of a long-lived account grow without bound.
RECENT_READINGS = 24


def check_registration(category: str, initial_reading_kwh: int, name: str) -> None:
    if not name.strip() or any(ord(c) < 0x20 and c not in "\t\n\r" or ord(c) == 0x7F for c in name):
        raise InvalidInput("A subscriber's name must say something and hold no control characters (such as NUL).")
    if category not in CATEGORIES:
        raise InvalidInput(f"Tariff category {category!r} is not one of {', '.join(CATEGORIES)}.")
    _check_kwh(initial_reading_kwh, "initial_reading_kwh")


def _check_kwh(value: int, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= readings.MAX_READING_KWH:
        raise InvalidInput(f"{field} must be a whole number of kWh between 0 and {readings.MAX_READING_KWH}.")


def check_account_ref(account_ref: str) -> None:
    if not MASKED_ACCOUNT.fullmatch(account_ref or ""):
        raise UnmaskedAccountReference(
            "The bank account reference must be masked, like ****4321 (at most the last four characters shown); "
            "a full account number is never stored."
        )


def fresh_meter(meter_no: str, initial_kwh: int) -> dict[str, Any]:
    return {
        "meter_no": meter_no,
        "initial_kwh": initial_kwh,
        "last_actual_kwh": initial_kwh,
        "last_actual_at": None,
        "last_read_at": None,
        "billable_kwh": initial_kwh,
        "billable_reading_id": None,
        "billed_kwh": initial_kwh,
        "billed_reading_id": None,
    }


def reading_id(meter_no: str, reading_kwh: int, read_at: datetime) -> str:
    """Deterministic, so a retried submission of the same reading is recognised."""
    stamp = read_at.astimezone(UTC).isoformat()
    return str(uuid5(_READING_NS, f"{meter_no}|{reading_kwh}|{stamp}"))


def judge_reading(sub: Any, reading_kwh: int, read_at: datetime, source: str, now: datetime) -> dict[str, Any]:
    """Validate a reading against the meter's own history; decide its consumption and whether to flag it."""
    if source not in readings.SOURCES:
        raise InvalidInput(f"Reading source {source!r} is not one of {', '.join(readings.SOURCES)}.")
    _check_kwh(reading_kwh, "reading_kwh")
    _check_instant(read_at, now, "read_at")
    meter = sub.meter
    if meter["last_read_at"] is not None and read_at < datetime.fromisoformat(meter["last_read_at"]):
        raise ReadingOutOfOrder(
            f"A reading taken at {read_at.isoformat()} is older than the last reading on meter {meter['meter_no']} "
            f"({meter['last_read_at']}); readings must be entered in the order they were taken."
        )
    if reading_kwh < meter["last_actual_kwh"]:
        raise ReadingWentBackwards(
            f"Meter {meter['meter_no']} reads {reading_kwh} kWh, below its last reading of "
            f"{meter['last_actual_kwh']} kWh; readings never go backwards (record a meter replacement first).",
            reading_kwh=reading_kwh,
            last_reading_kwh=meter["last_actual_kwh"],
        )
    consumption = reading_kwh - meter["last_actual_kwh"]
    days = readings.days_between(meter["last_actual_at"], read_at)
    average = readings.average_daily_kwh(sub.usage_history, sub.category)
    return {
        "meter_no": meter["meter_no"],
        "reading_kwh": reading_kwh,
        "read_at": read_at.astimezone(UTC).isoformat(),
        "source": source,
        "consumption_kwh": consumption,
        "days": None if days is None else str(days.quantize(Decimal("0.0001"))),
        "flagged": readings.is_implausible(consumption, days, average),
    }


def _check_instant(moment: datetime, now: datetime, field: str) -> None:
    if moment.tzinfo is None:
        raise InvalidInput(f"{field} must carry a timezone, for example 2026-01-15T09:30:00Z.")
    if moment > now + CLOCK_SKEW:
        raise InvalidInput(f"{field} {moment.isoformat()} lies in the future.")


def advance_meter(sub: Any, reading: dict[str, Any], days: str | None) -> None:
    """Move the meter's pointers after an accepted reading; a flagged one only moves the read-order pointer."""
    meter = sub.meter
    if reading["meter_no"] != meter["meter_no"]:
        return
    if meter["last_read_at"] is None or reading["read_at"] > meter["last_read_at"]:
        meter["last_read_at"] = reading["read_at"]
    if reading["flagged"] or reading["reading_kwh"] < meter["last_actual_kwh"]:
        return
    if reading["source"] != "estimated":
        if days is not None:
            sub.usage_history = [*sub.usage_history, {"consumption_kwh": reading["consumption_kwh"], "days": days}]
            sub.usage_history = sub.usage_history[-MAX_USAGE_HISTORY:]
        meter.update(last_actual_kwh=reading["reading_kwh"], last_actual_at=reading["read_at"])
    meter.update(billable_kwh=reading["reading_kwh"], billable_reading_id=reading["reading_id"])


def recent_readings(readings: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last RECENT_READINGS readings, plus every reading still awaiting review, in the order recorded.

    Trimmed in place: on replay this runs for every reading, and only the few outside the window are looked at."""
    if len(readings) > RECENT_READINGS:
        for rid in list(readings)[:-RECENT_READINGS]:
            if not readings[rid]["flagged"]:
                del readings[rid]
    return readings


def check_same_reading(existing: dict[str, Any], source: str) -> None:
    """A resubmitted reading (same meter, kWh and time) must come from the same source to count as a retry."""
    if existing["source"] != source:
        raise ReadingIdConflict(
            f"A reading of {existing['reading_kwh']} kWh taken at {existing['read_at']} on meter "
            f"{existing['meter_no']} is already recorded with source {existing['source']!r}, not {source!r}.",
            reading_id=existing["reading_id"],
        )


def check_reviewable(sub: Any, reading_id_: str, accepted: bool) -> None:
    reading = sub.readings.get(reading_id_)
    if reading is None or not reading["flagged"]:
        raise InvalidInput(f"Reading {reading_id_} is not awaiting review.")
    meter = sub.meter
    overtaken = meter["last_actual_at"] is not None and datetime.fromisoformat(
        reading["read_at"]
    ) < datetime.fromisoformat(meter["last_actual_at"])
    same_meter = reading["meter_no"] == meter["meter_no"]
    if accepted and same_meter and overtaken and reading["reading_kwh"] > meter["last_actual_kwh"]:
        raise ReadingWentBackwards(
            f"Reading {reading['reading_kwh']} kWh of {reading['read_at']} cannot be accepted: a later reading on "
            f"meter {meter['meter_no']} ({meter['last_actual_kwh']} kWh at {meter['last_actual_at']}) is lower, "
            "and readings never go backwards; reject it instead.",
            reading_kwh=reading["reading_kwh"],
            last_reading_kwh=meter["last_actual_kwh"],
        )


def check_meter_replacement(sub: Any, old_final: int, new_meter_no: str, new_initial: int) -> None:
    _check_kwh(old_final, "old_final_reading_kwh")
    _check_kwh(new_initial, "new_initial_reading_kwh")
    if old_final < sub.meter["last_actual_kwh"]:
        raise ReadingWentBackwards(
            f"The old meter's final reading {old_final} kWh is below its last reading {sub.meter['last_actual_kwh']}."
        )
    if new_meter_no == sub.meter["meter_no"]:
        raise InvalidInput("The new meter must have a different meter number.")


def bill_id(subscriber_no: str, cycle: str) -> str:
    return f"{subscriber_no}-{cycle}"


def due_date(issued_on: date) -> date:
    return issued_on + timedelta(days=PAYMENT_TERM_DAYS)


def plan_bill(sub: Any, cycle_name: str, today: date) -> dict[str, Any]:
    """What the bill for a cycle covers: the meter's advance since the last bill plus any replaced meter's."""
    cycle = Cycle.parse(cycle_name)
    if cycle.start > today:
        raise InvalidCycle(f"Cycle {cycle} has not started yet; it begins on {cycle.start.isoformat()}.")
    if bill_id(sub.subscriber_no, cycle.name) in sub.bills:
        raise BillAlreadyIssued(
            f"Subscriber {sub.subscriber_no} already has a bill for cycle {cycle}.",
            bill_id=bill_id(sub.subscriber_no, cycle.name),
        )
    meter = sub.meter
    if meter["billable_reading_id"] in (None, meter["billed_reading_id"]) and sub.carried_kwh == 0:
        raise NothingToBill(
            f"Subscriber {sub.subscriber_no} has no new reading since the last bill; enter a reading first."
        )
    closing = max(meter["billable_kwh"], meter["billed_kwh"])
    kwh = closing - meter["billed_kwh"] + sub.carried_kwh
    if kwh < 0:
        # A replaced meter's last bill rested on an estimate above its final reading: the new meter's use is set
        # against that credit first, so there is nothing to bill until it is used up.
        raise NothingToBill(
            f"Subscriber {sub.subscriber_no} was billed {-kwh} kWh more on an estimate than the meters have since "
            "advanced; there is nothing to bill until the consumption exceeds that estimate."
        )
    return {
        "cycle": cycle.name,
        "period_start": cycle.start.isoformat(),
        "period_end": cycle.end.isoformat(),
        "meter_no": meter["meter_no"],
        "opening_kwh": meter["billed_kwh"],
        "closing_kwh": closing,
        "carried_kwh": sub.carried_kwh,
        "kwh": kwh,
        "reading_id": meter["billable_reading_id"] or meter["billed_reading_id"] or "",
    }


def bill_state(event: Any) -> dict[str, Any]:
    return {
        "bill_id": event.bill_id,
        "cycle": event.cycle,
        "period_start": event.period_start,
        "period_end": event.period_end,
        "meter_no": event.meter_no,
        "opening_kwh": event.opening_kwh,
        "closing_kwh": event.closing_kwh,
        "kwh": event.kwh,
        "lines": event.lines,
        "tariff_version": event.tariff_version,
        "amount_issued": event.amount,
        "unit_issued": event.unit,
        "amount": to_new(event.amount, event.unit),
        "adjusted": ZERO,
        "paid": ZERO,
        "issued_on": event.issued_on,
        "issued_at": event.timestamp.isoformat(),
        "due_date": event.due_date,
    }


def payment_content(payment: dict[str, Any]) -> tuple[Any, ...]:
    """What must match for a resubmitted payment reference to count as the same payment."""
    paid_at = payment["paid_at"]
    if isinstance(paid_at, str):
        paid_at = datetime.fromisoformat(paid_at)
    return (payment["bill_id"], Decimal(payment["amount"]), payment["channel"], paid_at.astimezone(UTC))


def is_replay_of(sub: Any, payment: dict[str, Any]) -> bool:
    existing = sub.payments.get(payment["payment_key"])
    if existing is None:
        return False
    if payment_content(existing) == payment_content(payment):
        return True
    raise PaymentRefConflict(
        f"Payment reference {payment['payment_ref']} of {payment['bank']} was already used for a different payment.",
        payment_key=payment["payment_key"],
    )


def check_payment(sub: Any, payment: dict[str, Any], live_since: date | None, now: datetime) -> None:
    """The rules a bank's payment must meet before it is applied: no fee, enrolled, live, never beyond the bill."""
    if payment.get("fee") not in (None, ZERO) and Decimal(payment["fee"]) != 0:
        raise FeeNotAllowed("The ministry charges no fee: a payment must carry the bill value only, with no fee.")
    if payment["amount"] <= 0:
        raise InvalidAmount("A payment amount must be above zero.")
    if payment["channel"] not in CHANNELS:
        raise InvalidInput(f"Channel {payment['channel']!r} is not one of {', '.join(CHANNELS)}.")
    _check_instant(payment["paid_at"], now, "paid_at")
    if payment["bank"] not in sub.enrolments:
        raise NotEnrolled(f"Subscriber {sub.subscriber_no} is not enrolled for e-payment with {payment['bank']}.")
    _check_live(sub.governorate, live_since, payment["paid_at"])
    bill = sub.bill(payment["bill_id"])
    outstanding = bill["amount"] + bill["adjusted"] - bill["paid"]
    if payment["amount"] > outstanding:
        raise Overpayment(
            f"A payment of {payment['amount']} SYP exceeds the {outstanding} SYP outstanding on bill "
            f"{payment['bill_id']}; the ministry collects the bill value only.",
            outstanding=str(outstanding),
        )


def _check_live(governorate: str, live_since: date | None, paid_at: datetime) -> None:
    if live_since is None:
        raise GovernorateNotLive(f"E-payment is not live in governorate {governorate} yet.")
    if paid_at.date() < live_since:
        raise GovernorateNotLive(
            f"E-payment started in governorate {governorate} on {live_since.isoformat()}; "
            f"a payment made on {paid_at.date().isoformat()} cannot be taken electronically."
        )


def payment_event_fields(payment: dict[str, Any]) -> dict[str, Any]:
    return {
        "payment_key": payment["payment_key"],
        "payment_ref": payment["payment_ref"],
        "bank": payment["bank"],
        "bill_id": payment["bill_id"],
        "amount": payment["amount"],
        "unit": NEW,
        "channel": payment["channel"],
        "paid_at": payment["paid_at"].astimezone(UTC).isoformat(),
    }


def payment_state(event: Any) -> dict[str, Any]:
    return {
        "payment_key": event.payment_key,
        "payment_ref": event.payment_ref,
        "bank": event.bank,
        "bill_id": event.bill_id,
        "amount": event.amount,
        "channel": event.channel,
        "paid_at": event.paid_at,
        "status": "received",
        "settlement_ref": None,
        "cleared_at": None,
        "received_at": event.timestamp.isoformat(),
    }
