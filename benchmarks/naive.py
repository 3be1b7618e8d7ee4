"""The naive use of the library: one aggregate per bill, `repository.get` then one `save()` per payment.

No snapshots, no cache, no claims, no retries: what a first attempt with eventsourcing looks like. It runs on the
same database (its own tables, name `Naive`) so that its rate is a fair baseline for the ledger's payments.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from benchmarks.databases import Scratch


class NaiveBill(Aggregate):
    @event("Issued")
    def __init__(self, amount: Decimal) -> None:
        self.amount = amount
        self.paid = Decimal("0.00")
        self.payments: dict[str, Decimal] = {}

    @event("Paid")
    def pay(self, key: str, amount: Decimal) -> None:
        self.payments[key] = amount
        self.paid += amount


class Naive(Application[Any]):
    pass


def naive_payments(db: Scratch, count: int, bills: int = 200) -> float:
    app = Naive(env={"PERSISTENCE_MODULE": "eventsourcing_sqlalchemy", "SQLALCHEMY_URL": db.url})
    ids = []
    for _ in range(bills):
        bill = NaiveBill(Decimal("1000000.00"))
        app.save(bill)
        ids.append(bill.id)
    started = time.perf_counter()
    for n in range(count):
        bill = app.repository.get(ids[n % bills])
        bill.pay(f"CBS:T{n}", Decimal("1.00"))
        app.save(bill)
    rate = count / (time.perf_counter() - started)
    app.close()
    return rate
