"""Seed a realistic demo ledger: subscribers in every live governorate, readings, bills, payments and clearing.

Everything goes through the ledger's own commands (nothing is written behind its back): registrations, enrolments
with CBS, REB and the hub, one reading and one bill per recent completed cycle (issued on historic dates, due 30
days later), payments through every bank and channel (some partial, some never made, so arrears exist), bank
settlements for most payments, and a few reversals before and after clearing. Consumption is per bi-monthly cycle
in kWh; money is in new pounds (SYP).

Subscribers are seeded CHUNK at a time inside `LedgerApplication.batch()`: the same commands, refused for the
same reasons, but each chunk's events saved in one transaction, with the chunk's settlements; a chunk that collides
with another writer fails whole. On SQLite the demo commits with `synchronous=NORMAL` (WAL), so a power cut during
seeding may lose the last demo chunk but never corrupts the file. The served ledger keeps full durability.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import event
from tqdm import tqdm

from ledger import LedgerApplication
from ledger.actors import acting_as
from ledger.cycles import Cycle
from ledger.errors import UnknownSubscriber

GOVERNORATE_WEIGHTS = {
    "SY-DI": 17,
    "SY-RD": 20,
    "SY-HL": 22,
    "SY-HM": 9,
    "SY-HI": 10,
    "SY-LA": 7,
    "SY-TA": 5,
    "SY-SU": 3,
    "SY-QU": 1,
    "SY-DR": 6,
}
CATEGORY_WEIGHTS = {"residential": 85, "commercial": 9, "government": 2, "agricultural": 2, "industrial": 2}
CYCLE_KWH = {
    "residential": (150, 900),
    "commercial": (600, 4000),
    "government": (1000, 8000),
    "agricultural": (300, 3000),
    "industrial": (5000, 40000),
}
BANK_WEIGHTS = {"CBS": 50, "REB": 30, "HUB": 20}
CHANNELS = {"CBS": ("web", "app", "branch"), "REB": ("web", "app", "branch"), "HUB": ("hub",)}
FIRST = (
    "Ahmad",
    "Mohammad",
    "Fatima",
    "Lina",
    "Omar",
    "Rania",
    "Khaled",
    "Maya",
    "Yousef",
    "Hala",
    "Sami",
    "Nour",
    "Bassam",
    "Dima",
    "Tarek",
    "Reem",
    "Ghassan",
    "Salma",
    "Hassan",
    "Zeina",
)
FAMILY = (
    "Haddad",
    "Khoury",
    "Shami",
    "Halabi",
    "Masri",
    "Homsi",
    "Hamwi",
    "Darwish",
    "Sabbagh",
    "Attar",
    "Najjar",
    "Kassab",
    "Jabri",
    "Sayegh",
    "Azm",
    "Mardini",
)
BUSINESS = ("Bakery", "Pharmacy", "Workshop", "Grocery", "Clinic", "School", "Mill", "Farm", "Hotel", "Restaurant")
FIRST_NO = 100001
ISSUE_DELAY = timedelta(days=5)
SETTLEMENT_LAG = timedelta(days=1)
CHUNK = 1000  # subscribers seeded per batch: one transaction each (LedgerApplication.batch)


@dataclass
class Seeded:
    subscribers: int = 0
    bills: int = 0
    payments: int = 0
    settlements: int = 0
    reversals: int = 0
    seconds: float = 0.0
    buckets: dict[tuple[str, date], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    chunk: int = 0  # the chunk being seeded (from 1) and its payments so far: they number its references
    chunk_payments: int = 0

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}

    def add(self, counts: dict[str, int]) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + counts[name])


COUNTS = ("subscribers", "bills", "payments", "settlements", "reversals")


@dataclass(frozen=True)
class Plan:
    """What every chunk is seeded against, fixed once so that chunks seeded in any process, in any order, agree.

    Each chunk draws from its own random generator (seeded with the demo's seed and the chunk's number) and numbers
    its payment and settlement references with the chunk's number, so the same seed gives the same ledger however
    many processes seed it.
    """

    subscribers: int
    cycles: int
    seed: int
    now: datetime
    live: dict[str, date]
    bill_last: bool = True  # False: the last cycle's readings are in, its bills are left to a billing run

    @classmethod
    def of(cls, app: LedgerApplication, subscribers: int, cycles: int, seed: int, bill_last: bool = True) -> Plan:
        live = {g["code"]: date.fromisoformat(g["live_since"]) for g in app.governorates() if g["e_payment"] == "live"}
        return cls(subscribers, cycles, seed, app.clock(), live, bill_last)

    def to_json(self) -> dict[str, Any]:
        return {
            "subscribers": self.subscribers,
            "cycles": self.cycles,
            "seed": self.seed,
            "now": self.now.isoformat(),
            "live": {code: day.isoformat() for code, day in self.live.items()},
            "bill_last": self.bill_last,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        live = {code: date.fromisoformat(day) for code, day in data["live"].items()}
        now = datetime.fromisoformat(data["now"])
        return cls(data["subscribers"], data["cycles"], data["seed"], now, live, data["bill_last"])

    @property
    def chunks(self) -> range:
        return range(-(-self.subscribers // CHUNK))

    @property
    def weights(self) -> dict[str, int]:
        return {code: w for code, w in GOVERNORATE_WEIGHTS.items() if code in self.live}

    @property
    def billed_cycles(self) -> list[Cycle]:
        """The cycles that get readings: the last completed ones (all billed unless `bill_last` is False)."""
        return recent_cycles(self.now.date(), self.cycles)

    @property
    def unbilled(self) -> str | None:
        return None if self.bill_last else self.billed_cycles[-1].name


def demo_ledger(database_url: str) -> LedgerApplication:
    app = LedgerApplication(env={"LEDGER_DATABASE_URL": database_url})
    engine = cast(Any, app.recorder).datastore.engine  # eventsourcing-sqlalchemy's recorder
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _relaxed_sync)
        engine.dispose()  # pooled connections reconnect with the pragma
    return app


def _relaxed_sync(connection: Any, _record: Any) -> None:
    connection.execute("PRAGMA synchronous=NORMAL")


def recent_cycles(today: date, count: int) -> list[Cycle]:
    """The last `count` cycles that ended before today, oldest first."""
    cycles = [Cycle.containing(today).previous()]
    while len(cycles) < count:
        cycles.append(cycles[-1].previous())
    return cycles[::-1]


def seed(
    app: LedgerApplication,
    subscribers: int = 2000,
    cycles: int = 3,
    seed: int = 1,
    progress: bool = True,
    workers: int = 1,
    bill_last: bool = True,
) -> Seeded | None:
    """Seed the demo, in `workers` processes on PostgreSQL; None when the ledger already holds the demo's
    subscribers."""
    if first_subscriber(app) is not None:
        return None
    started = time.perf_counter()
    plan = Plan.of(app, subscribers, cycles, seed, bill_last)
    _analyze(app)
    with tqdm(total=subscribers, desc="subscribers", unit="sub", disable=not progress) as bar:
        if workers > 1 and cast(Any, app.recorder).datastore.engine.dialect.name == "postgresql":
            from api.demo_parts import seed_in_processes

            result = seed_in_processes(app, plan, workers, bar.update)
        else:
            result = seed_chunks(app, plan, plan.chunks, bar.update)
    _analyze(app)
    result.seconds = time.perf_counter() - started
    return result


def seed_chunks(
    app: LedgerApplication, plan: Plan, chunks: Iterable[int], advance: Callable[[int], Any], analyze: bool = True
) -> Seeded:
    """Seed the given chunks of the plan, each in one batch (one transaction) with its settlements; with `analyze`,
    refresh the planner's statistics as the chunks seeded here double (one of several seeding processes does)."""
    result = Seeded()
    weights = plan.weights
    with acting_as("cli:demo", "cli"):
        for done, chunk in enumerate(chunks, start=1):
            rng = random.Random(f"{plan.seed}:{chunk}")
            result.chunk, result.chunk_payments = chunk + 1, 0
            with app.batch():
                for i in range(chunk * CHUNK, min((chunk + 1) * CHUNK, plan.subscribers)):
                    _seed_subscriber(app, rng, FIRST_NO + i, plan, weights, result)
                    advance(1)
                _settle(app, rng, plan.now, result, chunk + 1)
            if analyze and done & (done - 1) == 0:  # 1, 2, 4, 8, ... chunks: whenever the tables have doubled
                _analyze(app)
    return result


def _analyze(app: LedgerApplication) -> None:
    """Refresh the planner's statistics during and after a bulk load. A table never analysed is estimated at 0.5%
    of its rows per aggregate id, so PostgreSQL plans each lookup of one subscriber as a parallel scan of the event
    table, and every lookup costs more than the last (autovacuum, if it runs at all, catches up only later)."""
    engine = cast(Any, app.recorder).datastore.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def first_subscriber(app: LedgerApplication) -> str | None:
    """The demo's first subscriber number (its governorate prefix depends on the seed), or None before seeding."""
    for code in GOVERNORATE_WEIGHTS:
        try:
            return str(app.subscriber(f"{code[3:]}-{FIRST_NO}")["subscriber_no"])
        except UnknownSubscriber:
            continue
    return None


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _seed_subscriber(
    app: LedgerApplication, rng: random.Random, number: int, plan: Plan, weights: dict[str, int], result: Seeded
) -> None:
    governorate, category, bank = _pick(rng, weights), _pick(rng, CATEGORY_WEIGHTS), _pick(rng, BANK_WEIGHTS)
    subscriber_no = f"{governorate[3:]}-{number}"
    name = f"{rng.choice(FIRST)} {rng.choice(FAMILY)}"
    if category != "residential":
        name = f"{rng.choice(FAMILY)} {rng.choice(BUSINESS)}"
    reading = rng.randrange(1000, 90000)
    app.register_subscriber(subscriber_no, governorate, category, f"M{number:08d}", reading, name)
    app.enrol(subscriber_no, bank, f"****{rng.randrange(10000):04d}")
    result.subscribers += 1
    low, high = CYCLE_KWH[category]
    usual = rng.randrange(low, high)
    habit = rng.choices(("prompt", "partial", "late", "never"), weights=(62, 14, 14, 10))[0]
    for cycle in plan.billed_cycles:
        reading += max(1, int(usual * rng.uniform(0.7, 1.3)))
        read_at = datetime(cycle.end.year, cycle.end.month, cycle.end.day, 9, tzinfo=UTC) - timedelta(
            days=rng.randrange(0, 4), minutes=rng.randrange(0, 480)
        )
        app.submit_reading(subscriber_no, reading, read_at, "reader" if rng.random() < 0.8 else "self")
        if cycle.name == plan.unbilled:
            continue
        bill = app.issue_bill(subscriber_no, cycle.name, issued_on=cycle.end + ISSUE_DELAY)
        result.bills += 1
        for amount, paid_at in _instalments(rng, habit, bill, plan.live[governorate], plan.now):
            _pay(app, rng, subscriber_no, bank, bill["bill_id"], amount, paid_at, result)


def _instalments(
    rng: random.Random, habit: str, bill: dict[str, Any], live_since: date, now: datetime
) -> list[tuple[Decimal, datetime]]:
    """When and how much this subscriber pays on a bill; payments still in the future are not made (yet)."""
    if habit == "never" or (habit == "late" and rng.random() < 0.5):
        return []
    issued = date.fromisoformat(bill["issued_on"])
    first_day = max(issued + timedelta(days=1), live_since)
    delay = rng.randrange(1, 25) if habit != "late" else rng.randrange(30, 75)
    amount = bill["amount_due"]
    shares = [amount]
    if habit == "partial":
        part = (amount * Decimal(rng.randrange(30, 70)) / 100).quantize(Decimal("1"))
        shares = [part, amount - part] if rng.random() < 0.5 else [part]
    plan = []
    for n, share in enumerate(shares):
        day = first_day + timedelta(days=delay + 20 * n)
        paid_at = datetime(day.year, day.month, day.day, rng.randrange(8, 22), rng.randrange(60), tzinfo=UTC)
        if share > 0 and paid_at < now:
            plan.append((share, paid_at))
    return plan


def _pay(
    app: LedgerApplication,
    rng: random.Random,
    subscriber_no: str,
    bank: str,
    bill_id: str,
    amount: Decimal,
    paid_at: datetime,
    result: Seeded,
) -> None:
    ref = f"{bank}{paid_at:%Y%m%d}{result.chunk:04d}{result.chunk_payments:05d}"
    result.chunk_payments += 1
    app.receive_payment(bank, ref, subscriber_no, bill_id, amount, rng.choice(CHANNELS[bank]), paid_at)
    result.payments += 1
    entry = {"ref": ref, "amount": amount, "bank": bank}
    if rng.random() < 0.006:  # the debit bounced before the bank settled: reversed, never cleared
        app.reverse_payment(bank, ref, "Debit of the subscriber's account failed")
        result.reversals += 1
        return
    entry["reverse_after"] = rng.random() < 0.004  # a chargeback after clearing: a refund falls due
    result.buckets[(bank, paid_at.date())].append(entry)


def _settle(app: LedgerApplication, rng: random.Random, now: datetime, result: Seeded, chunk: int) -> None:
    """Each bank settles each business day's payments the next day; the last two days are not settled yet.

    The payments of each chunk of subscribers are settled with the chunk, in its batch: a bank's day is then
    cleared by one settlement file per chunk (reference BANK-DATE-CHUNK), as banks that send several files a day do.
    """
    for (bank, day), entries in sorted(result.buckets.items()):
        if day + SETTLEMENT_LAG >= now.date() - timedelta(days=1) or rng.random() < 0.03:
            continue
        total = sum((e["amount"] for e in entries), Decimal(0))
        app.settle(bank, f"{bank}-{day.isoformat()}-{chunk:04d}", day, [e["ref"] for e in entries], total)
        result.settlements += 1
        for entry in entries:
            if entry["reverse_after"]:
                app.reverse_payment(bank, entry["ref"], "Chargeback after settlement")
                result.reversals += 1
    result.buckets.clear()
