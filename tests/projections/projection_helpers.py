"""Helpers for the projection tests: a fast bulk seeder, raw table dumps, and the expected figures recomputed naively
from the aggregates themselves (a fresh replay through the repository), never from the read models.

Money is Decimal in new pounds (SYP) as in `ledger.views`; posting delays are whole seconds before they become hours.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from ledger import views
from ledger.billing import registrations
from ledger.claims import PaymentClaim, payment_key
from ledger.subscriber import Subscriber
from projections import tables

ZERO = Decimal("0.00")
SEED_NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
SEED_GOVERNORATES = ("SY-DI", "SY-HL", "SY-HM")
CHANNELS = ("web", "app", "branch", "hub")


def _seed_one(app: Any, no: str, rng: random.Random) -> list[Any]:
    """One subscriber, ~11 events: registered, enrolled, two readings, two bills and payments, clearings, reversals."""
    live_since = date(2025, 1, 1)
    sub = Subscriber.register(no, rng.choice(SEED_GOVERNORATES), "residential", f"M-{no}", 1000, f"Name {no}")
    sub.enrol("CBS", "****4321")
    claims = []
    for n, (read_at, cycle) in enumerate(
        [(datetime(2026, 2, 20, tzinfo=UTC), "2026-C1"), (datetime(2026, 4, 20, tzinfo=UTC), "2026-C2")]
    ):
        sub.submit_reading(1000 + 400 * (n + 1) + rng.randrange(50), read_at, "reader", SEED_NOW)
        bill_id = sub.issue_bill(cycle, app.tariffs, read_at.date(), SEED_NOW.date())
        amount = (sub.bills[bill_id]["amount"] * Decimal(rng.choice([1, 2, 3])) / 4).quantize(Decimal("0.01"))
        ref = f"{no}-{n}"
        paid_at = read_at + timedelta(days=3, hours=rng.randrange(24))
        payment = {
            "payment_key": payment_key("CBS", ref),
            "payment_ref": ref,
            "bank": "CBS",
            "bill_id": bill_id,
            "amount": amount,
            "channel": rng.choice(CHANNELS),
            "paid_at": paid_at,
            "fee": None,
        }
        sub.receive_payment(payment, live_since, SEED_NOW)
        claims.append(PaymentClaim.claim(payment_key("CBS", ref), no))
        if rng.random() < 0.5:
            sub.clear_payment(payment_key("CBS", ref), f"S-{n}", paid_at + timedelta(hours=rng.randrange(1, 72)))
        elif rng.random() < 0.3:
            sub.reverse_payment(payment_key("CBS", ref), "customer dispute")
    return [sub, *claims]


def seed_bulk(app: Any, subscribers: int, seed: int = 0, per_save: int = 20, prefix: str = "B") -> int:
    """Record about 12 events per subscriber quickly (several aggregates per transaction); returns the last id."""
    rng = random.Random(seed)
    pending: list[Any] = []
    for i in range(subscribers):
        pending += _seed_one(app, f"{prefix}{i:05d}", rng)
        if (i + 1) % per_save == 0:
            app.save(*pending)
            pending = []
    if pending:
        app.save(*pending)
    return app.recorder.max_notification_id() or 0


def dump_read_models(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table's raw stored values, sorted: equal dumps mean byte-for-byte equal tables."""
    dump = {}
    with engine.connect() as conn:
        for table in (*tables.READ_MODELS, tables.tracking):
            rows = conn.execute(text(f"SELECT * FROM {table.name}")).tuples().all()
            dump[table.name] = sorted(rows, key=repr)
    return dump


def all_subscribers(app: Any) -> list[Any]:
    """Every subscriber, loaded afresh from the repository (a replay of its events)."""
    return [app.load_subscriber(no) for no, _ in registrations(app)]


# -- naive recomputations from aggregate state ----------------------------------------------------------------------


def _ratio(part: Any, whole: Any) -> Decimal | None:
    return None if not whole else (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def _hours(seconds: Any) -> Decimal:
    return (Decimal(seconds) / 3600).quantize(Decimal("0.01"))


def _cycle_payments(subs: list[Any], cycle: str, governorate: str | None) -> list[dict[str, Any]]:
    return [
        p
        for s in subs
        if governorate in (None, s.governorate)
        for p in s.payments.values()
        if s.bills[p["bill_id"]]["cycle"] == cycle
    ]


def expected_shares(payments: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    live = [p for p in payments if p["status"] != "reversed"]
    total_amount = sum((p["amount"] for p in live), ZERO)
    rows = []
    for value in sorted({p[key] for p in live}):
        mine = [p for p in live if p[key] == value]
        amount = sum((p["amount"] for p in mine), ZERO)
        rows.append(
            {
                key: value,
                "payments": len(mine),
                "amount": amount,
                "count_share": _ratio(len(mine), len(live)),
                "amount_share": _ratio(amount, total_amount),
            }
        )
    return rows


def expected_delays(payments: list[dict[str, Any]]) -> dict[str, Any]:
    delays = sorted(
        int((datetime.fromisoformat(p["cleared_at"]) - datetime.fromisoformat(p["paid_at"])).total_seconds())
        for p in payments
        if p.get("cleared_at")
    )
    if not delays:
        return {"payments": 0, "average": None, "max": None, "p50": None, "p90": None, "p99": None}
    pick = {f"p{q}": _hours(delays[max(math.ceil(q * len(delays) / 100), 1) - 1]) for q in (50, 90, 99)}
    return {
        "payments": len(delays),
        "average": _hours(Decimal(sum(delays)) / len(delays)),
        "max": _hours(delays[-1]),
        **pick,
    }


def expected_collection(subs: list[Any], cycle: str, governorate: str | None, today: date) -> dict[str, Any]:
    """What the collection dashboard must say, from the subscribers' own state."""
    bills = [
        (s, views.bill_view(s, b, today))
        for s in subs
        if governorate in (None, s.governorate)
        for b in s.bills.values()
        if b["cycle"] == cycle
    ]
    payments = _cycle_payments(subs, cycle, governorate)
    billed = sum((b["amount"] for _, b in bills), ZERO)
    paid = sum((b["paid"] for _, b in bills), ZERO)
    return {
        "bills": len(bills),
        "billed": billed,
        "adjusted": sum((b["adjusted"] for _, b in bills), ZERO),
        "paid": paid,
        "cleared": sum((p["amount"] for p in payments if p["status"] == "cleared"), ZERO),
        "outstanding": sum((b["outstanding"] for _, b in bills), ZERO),
        "collection_efficiency": _ratio(paid, billed),
        "channels": expected_shares(payments, "channel"),
        "banks": expected_shares(payments, "bank"),
        "posting_delay_hours": expected_delays(payments),
    }


def bucket_of(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "not_yet_due"
    return (
        "0-30" if days_past_due <= 30 else "31-60" if days_past_due <= 60 else "61-90" if days_past_due <= 90 else "90+"
    )


def expected_arrears(subs: list[Any], governorate: str | None, today: date) -> dict[str, Decimal]:
    """Outstanding per bucket name, from the subscribers' bills."""
    found: dict[str, Decimal] = {}
    for s in subs:
        if governorate not in (None, s.governorate):
            continue
        for b in s.bills.values():
            view = views.bill_view(s, b, today)
            if view["outstanding"] > 0:
                name = bucket_of((today - date.fromisoformat(view["due_date"])).days)
                found[name] = found.get(name, ZERO) + view["outstanding"]
    return found
