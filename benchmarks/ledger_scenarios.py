"""The ledger's own scenarios: payments at one and eight clients, a billing run, and an auditor's replay.

Setup is not timed. Subscribers are seeded in bulk (aggregates built in memory, saved 500 per transaction) so
that the timed part measures only the command being benchmarked.
"""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from benchmarks.databases import Scratch
from ledger import LedgerApplication
from ledger.subscriber import Subscriber, subscriber_id

READ_AT = datetime(2026, 10, 20, 8, tzinfo=UTC)
PAID_AT = datetime(2026, 10, 25, 8, tzinfo=UTC)


def ledger_app(db: Scratch, **env: str) -> LedgerApplication:
    return LedgerApplication(env={"LEDGER_DATABASE_URL": db.url, **env})


def seed_subscribers(
    app: LedgerApplication, count: int, prefix: str, enrol: bool = True, governorate: str = "SY-DI"
) -> list[str]:
    """Register `count` subscribers with one reading each, in bulk; returns their numbers."""
    numbers = []
    batch: list[Subscriber] = []
    now = datetime.now(UTC)
    for n in range(count):
        no = f"{prefix}-{n:07d}"
        sub = Subscriber.register(no, governorate, "residential", f"M{prefix}{n}", 1000, f"Subscriber {n}")
        if enrol:
            sub.enrol("CBS", "****0001")
        sub.submit_reading(1000 + 350 + n % 200, READ_AT, "reader", now)
        batch.append(sub)
        numbers.append(no)
        if len(batch) == 500:
            app.save(*batch)
            batch = []
    if batch:
        app.save(*batch)
    return numbers


def payments(db: Scratch, count: int, clients: int, subscribers: int = 200) -> float:
    """Payments per second through LedgerApplication.receive_payment, `clients` threads sharing one application."""
    app = ledger_app(db)
    numbers = seed_subscribers(app, subscribers, f"P{clients}")
    bills = [(no, app.issue_bill(no, "2026-C5")["bill_id"]) for no in numbers]
    per_client = count // clients

    def work(offset: int) -> None:
        for n in range(per_client):
            no, bill_id = bills[(offset + n * clients) % len(bills)]
            app.receive_payment("CBS", f"T{clients}-{offset}-{n}", no, bill_id, "1.00", "web", PAID_AT)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = per_client * clients / (time.perf_counter() - started)
    app.close()
    return rate


def billing_run(db: Scratch, subscribers: int) -> tuple[float, dict[str, Any]]:
    """Bills per second of a billing run over `subscribers` subscribers who each have a new reading."""
    app = ledger_app(db)
    # A governorate of their own: the payment scenarios' subscribers (SY-DI) are billed already, and would be
    # loaded and skipped without counting as bills.
    seed_subscribers(app, subscribers, "B", enrol=False, governorate="SY-LA")
    started = time.perf_counter()
    report = app.billing_run("2026-C5", "SY-LA")
    rate = report["issued"] / (time.perf_counter() - started)
    app.close()
    return rate, report


class _NoAutoSnapshots(LedgerApplication):
    """The ledger with its snapshot store but without automatic snapshots, to time a replay from events alone."""

    name = "Ledger"
    is_snapshotting_enabled = True
    snapshotting_intervals: ClassVar[dict[Any, int]] = {}


def replay(db: Scratch, events: int) -> dict[str, float]:
    """Milliseconds to load one account of `events` events: without a snapshot, and from a snapshot."""
    app = _NoAutoSnapshots(env={"LEDGER_DATABASE_URL": db.url, "LEDGER_AGGREGATE_CACHE": "0"})
    sub = Subscriber.register("R-1", "SY-DI", "residential", "MR1", 0, "Long history")
    now = datetime.now(UTC)
    first = datetime(2025, 1, 1, tzinfo=UTC)
    for n in range(events - 1):
        sub.submit_reading(n + 1, first + timedelta(hours=n), "reader", now)
    app.save(sub)
    without, loaded = _median_load(app, subscriber_id("R-1"), 3)
    app.take_snapshot(subscriber_id("R-1"))
    with_snapshot, again = _median_load(app, subscriber_id("R-1"), 21)
    assert loaded.version == again.version == events
    app.close()
    return {"without_snapshot_ms": without, "from_snapshot_ms": with_snapshot}


def _median_load(app: Any, aggregate_id: Any, times: int) -> tuple[float, Any]:
    """The median of `times` loads from the store (no cache: each reads and replays), in ms, and the aggregate.

    A median, not one load: the first statement on a fresh connection also pays for compiling and planning."""
    took, loaded = [], None
    for _ in range(times):
        started = time.perf_counter()
        loaded = app.repository.get(aggregate_id)
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took), loaded
