"""Rules for meter readings (kWh, integers), kept apart from the aggregate so they can be tested alone.

A reading lower than the last actual reading on the same meter is refused. A jump above ten times the subscriber's
average daily use (over the days since the last reading) is accepted but flagged for review and held out of billing.
An estimated reading is billable, but the next actual reading supersedes it: backwards checks compare with actual
readings only, so a generous estimate never blocks a true reading.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

SOURCES = ("self", "reader", "estimated")
JUMP_FACTOR = 10
MAX_READING_KWH = 10**9
# Used until a subscriber has history of their own (kWh per day); generous on purpose.
DEFAULT_DAILY_KWH = {"residential": Decimal(30), "commercial": Decimal(200)}
FALLBACK_DAILY_KWH = Decimal(500)
DAYS_WITHOUT_HISTORY = 61


def average_daily_kwh(history: list[dict], category: str) -> Decimal:
    """Mean daily use over the accepted intervals in `history` (dicts with consumption_kwh and days)."""
    kwh = sum((Decimal(h["consumption_kwh"]) for h in history), Decimal(0))
    days = sum((Decimal(h["days"]) for h in history), Decimal(0))
    if days <= 0:
        return DEFAULT_DAILY_KWH.get(category, FALLBACK_DAILY_KWH)
    return max(kwh / days, Decimal(1))


def days_between(earlier: str | None, later: datetime) -> Decimal | None:
    if earlier is None:
        return None
    seconds = (later - datetime.fromisoformat(earlier)).total_seconds()
    return max(Decimal(seconds) / Decimal(86400), Decimal(1))


def is_implausible(consumption: int, days: Decimal | None, average: Decimal) -> bool:
    """True when the jump is above JUMP_FACTOR times the average daily use over the elapsed days."""
    span = days if days is not None else Decimal(DAYS_WITHOUT_HISTORY)
    return Decimal(consumption) > JUMP_FACTOR * average * span
