"""The read-model tables (SQLAlchemy Core, names prefixed `rm_`), kept beside the events in the same database.

Every row here is derived from events and can be rebuilt from them at any time; nothing here is the truth.
Money columns are `Money`: NUMERIC(18,2) on PostgreSQL and whole piastres (BIGINT) on SQLite, where NUMERIC would
silently become a binary float; both read back as `Decimal` with two places, in new pounds (`SYP`). Instants are
`UtcDateTime`: stored as UTC, read back timezone-aware. Calendar days (due dates, cycles' issue days) are DATEs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    func,
    literal,
    select,
)
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator, TypeEngine

from ledger.money import CENT

PIASTRES_PER_POUND = 100


class Money(TypeDecorator[Decimal]):
    """A money amount in new pounds: exact on every backend, never a float, refused if it has more than 2 places."""

    impl = Numeric(18, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float | bool):
            raise TypeError(f"money must be a Decimal, never {type(value).__name__}: {value!r}")
        amount = Decimal(value)
        cents = amount.quantize(CENT)
        if cents != amount:
            raise ValueError(f"money {amount} has more than two decimal places")
        if dialect.name == "sqlite":
            return int(amount * PIASTRES_PER_POUND)
        return cents

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / PIASTRES_PER_POUND).quantize(CENT)
        return Decimal(value).quantize(CENT)


class UtcDateTime(TypeDecorator[datetime]):
    """An instant stored as naive UTC and read back as timezone-aware UTC; ISO strings are accepted on the way in."""

    impl = DateTime()
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            raise ValueError(f"instant {value!r} has no timezone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _money(name: str) -> Column[Any]:
    return Column(name, Money(), nullable=False, default=Decimal("0.00"))


metadata = MetaData()

subscribers = Table(
    "rm_subscribers",
    metadata,
    Column("subscriber_no", String(64), primary_key=True),
    Column("subscriber_id", String(36), nullable=False, unique=True),
    Column("governorate", String(8), nullable=False),
    Column("category", String(16), nullable=False),
    Column("meter_no", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("last_reading_kwh", BigInteger, nullable=False),
    Column("enrolled_banks", String(64), nullable=False, default=""),
    Column("registered_at", UtcDateTime(), nullable=False),
    _money("billed"),
    _money("adjusted"),
    _money("paid"),
    _money("cleared"),
    _money("outstanding"),
    _money("refunds_due"),
    Column("last_payment_at", UtcDateTime()),
    Column("unit", String(8), nullable=False, default="SYP"),
    Index("rm_subscribers_governorate_no", "governorate", "subscriber_no"),
)

bills = Table(
    "rm_bills",
    metadata,
    Column("bill_id", String(100), primary_key=True),
    Column("subscriber_no", String(64), nullable=False, index=True),
    Column("governorate", String(8), nullable=False),
    Column("cycle", String(8), nullable=False),
    Column("kwh", BigInteger, nullable=False),
    Column("tariff_version", String(64), nullable=False),
    Column("amount_issued", Money(), nullable=False),
    Column("unit_issued", String(8), nullable=False),
    _money("amount"),
    _money("adjusted"),
    _money("paid"),
    _money("cleared"),
    _money("outstanding"),
    Column("issued_on", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("unit", String(8), nullable=False, default="SYP"),
    Index("rm_bills_cycle_governorate", "cycle", "governorate"),
    Index("rm_bills_governorate_due", "governorate", "due_date"),
)

payments = Table(
    "rm_payments",
    metadata,
    Column("bank", String(8), primary_key=True),
    Column("payment_ref", String(100), primary_key=True),
    Column("subscriber_no", String(64), nullable=False, index=True),
    Column("governorate", String(8), nullable=False),
    Column("bill_id", String(100), nullable=False, index=True),
    Column("cycle", String(8), nullable=False),
    _money("amount"),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("paid_at", UtcDateTime(), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("cleared_at", UtcDateTime()),
    Column("settlement_ref", String(100)),
    Column("reversed_at", UtcDateTime()),
    Column("posting_delay_s", BigInteger),
    Column("unit", String(8), nullable=False, default="SYP"),
    Index("rm_payments_cycle_governorate", "cycle", "governorate", "status"),
)

review_queue = Table(
    "rm_review_queue",
    metadata,
    # A reading's id is derived from its meter number, kWh and instant, and meter numbers are not unique across
    # subscribers, so the subscriber is part of the key.
    Column("reading_id", String(36), primary_key=True),
    Column("subscriber_no", String(64), primary_key=True, index=True),
    Column("governorate", String(8), nullable=False),
    Column("meter_no", String(64), nullable=False),
    Column("reading_kwh", BigInteger, nullable=False),
    Column("consumption_kwh", BigInteger, nullable=False),
    Column("read_at", UtcDateTime(), nullable=False),
    Column("source", String(16), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

governorates = Table(
    "rm_governorates",
    metadata,
    Column("code", String(8), primary_key=True),
    Column("governorate_id", String(36), unique=True),
    Column("live_since", Date),
    Column("switches", Integer, nullable=False, default=0),
    Column("switched_at", UtcDateTime()),
    Column("subscribers", BigInteger, nullable=False, default=0),
    Column("enrolled", BigInteger, nullable=False, default=0),
    Column("listed", Boolean, nullable=False, default=False),
)

settlements = Table(
    "rm_settlements",
    metadata,
    Column("bank", String(8), primary_key=True),
    Column("settlement_ref", String(100), primary_key=True),
    Column("business_date", Date, nullable=False),
    _money("total"),
    _money("matched_total"),
    Column("listed", Integer, nullable=False),
    Column("matched", Integer, nullable=False),
    Column("unknown", Integer, nullable=False),
    Column("mismatched", Integer, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Index("rm_settlements_bank_date", "bank", "business_date"),
)

tracking = Table(
    "rm_tracking",
    metadata,
    Column("application_name", String(32), primary_key=True),
    Column("notification_id", BigInteger, nullable=False),
)

READ_MODELS = (subscribers, bills, payments, review_queue, governorates, settlements)
"""Every table a rebuild empties (the tracking table is reset, not dropped, in the same transaction)."""


def money_sum(column: Any, *where: Any) -> Any:
    """A scalar subquery summing a money column, 0.00 when no row matches."""
    return select(func.coalesce(func.sum(column), literal(Decimal("0.00"), Money()))).where(*where).scalar_subquery()


def create_tables(engine: Engine) -> None:
    """Create the read-model tables that do not exist yet; safe to call from every process at start-up.

    Two processes creating them at the same moment on PostgreSQL can collide on the catalogue; the loser tries once
    more and then finds the tables there.
    """
    try:
        metadata.create_all(engine, checkfirst=True)
    except DBAPIError:
        metadata.create_all(engine, checkfirst=True)
