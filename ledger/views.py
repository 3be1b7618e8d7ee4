"""Plain-value views of aggregate state (dicts of str, int, Decimal, bool), shaped as DESIGN.md names its fields.

Balances are derived here from events already applied to the aggregate: nothing in this module is stored. Money is
in new pounds (`unit: "SYP"`); a bill issued in old pounds also shows `amount_issued` and `unit_issued`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ledger.money import NEW, ZERO


def bill_status(amount_due: Decimal, paid: Decimal) -> str:
    if paid >= amount_due:
        return "paid"
    return "partially_paid" if paid > 0 else "unpaid"


def bill_view(sub: Any, bill: dict[str, Any], today: date) -> dict[str, Any]:
    amount_due = bill["amount"] + bill["adjusted"]
    outstanding = amount_due - bill["paid"]
    return {
        "bill_id": bill["bill_id"],
        "subscriber_no": sub.subscriber_no,
        "cycle": bill["cycle"],
        "period_start": bill["period_start"],
        "period_end": bill["period_end"],
        "meter_no": bill["meter_no"],
        "opening_kwh": bill["opening_kwh"],
        "closing_kwh": bill["closing_kwh"],
        "kwh": bill["kwh"],
        "lines": bill["lines"],
        "tariff_version": bill["tariff_version"],
        "amount": bill["amount"],
        "amount_issued": bill["amount_issued"],
        "unit_issued": bill["unit_issued"],
        "adjusted": bill["adjusted"],
        "amount_due": amount_due,
        "unit": NEW,
        "paid": bill["paid"],
        "outstanding": outstanding,
        "status": bill_status(amount_due, bill["paid"]),
        "overdue": outstanding > 0 and date.fromisoformat(bill["due_date"]) < today,
        "issued_at": bill["issued_at"],
        "issued_on": bill["issued_on"],
        "due_date": bill["due_date"],
    }


def payment_view(sub: Any, payment: dict[str, Any]) -> dict[str, Any]:
    return {
        "payment_ref": payment["payment_ref"],
        "bank": payment["bank"],
        "subscriber_no": sub.subscriber_no,
        "bill_id": payment["bill_id"],
        "amount": payment["amount"],
        "unit": NEW,
        "channel": payment["channel"],
        "paid_at": payment["paid_at"],
        "status": payment["status"],
        "settlement_ref": payment.get("settlement_ref"),
        "cleared_at": payment.get("cleared_at"),
        "received_at": payment["received_at"],
        "reversed_at": payment.get("reversed_at"),
        "reversal_reason": payment.get("reversal_reason"),
    }


def received_payment_view(sub: Any, payment: dict[str, Any]) -> dict[str, Any]:
    """The payment exactly as it was when first received: what a same-content replay answers with."""
    later = {
        "status": "received",
        "settlement_ref": None,
        "cleared_at": None,
        "reversed_at": None,
        "reversal_reason": None,
    }
    return {**payment_view(sub, payment), **later}


def balance(sub: Any, today: date) -> dict[str, Any]:
    bills = [bill_view(sub, b, today) for b in sub.bills.values()]
    live = [p for p in sub.payments.values() if p["status"] != "reversed"]
    refunds = [p for p in sub.payments.values() if p["status"] == "reversed" and p.get("settlement_ref")]
    return {
        "billed": sum((b["amount"] for b in bills), ZERO),
        "adjusted": sum((b["adjusted"] for b in bills), ZERO),
        "paid": sum((p["amount"] for p in live), ZERO),
        "cleared": sum((p["amount"] for p in live if p["status"] == "cleared"), ZERO),
        "outstanding": sum((b["outstanding"] for b in bills), ZERO),
        "overdue": sum((b["outstanding"] for b in bills if b["overdue"]), ZERO),
        "refunds_due": sum((p["amount"] for p in refunds), ZERO),
        "unit": NEW,
    }


def reading_view(reading: dict[str, Any]) -> dict[str, Any]:
    """`review` is None, or how staff decided on a flagged reading: a rejected one is never billed."""
    return {
        **{
            key: reading[key]
            for key in (
                "reading_id",
                "meter_no",
                "reading_kwh",
                "read_at",
                "source",
                "consumption_kwh",
                "flagged",
                "recorded_at",
            )
        },
        "review": reading.get("review"),
    }


def subscriber_view(sub: Any, today: date) -> dict[str, Any]:
    return {
        "subscriber_no": sub.subscriber_no,
        "governorate": sub.governorate,
        "category": sub.category,
        "meter_no": sub.meter["meter_no"],
        "name": sub.name,
        "last_reading_kwh": sub.meter["last_actual_kwh"],
        "registered_at": sub.registered_at,
        "enrolments": [{"bank": bank, **entry} for bank, entry in sorted(sub.enrolments.items())],
        "balance": balance(sub, today),
        "version": sub.version,
    }
