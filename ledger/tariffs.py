"""Tariff versions and pricing a bill's consumption.

Tariffs are data (`ledger/data/tariffs.json`), each version with its effective date, source and unit. Prices are
`Decimal` per kWh in the version's unit: `SYP_OLD` (old pounds) before the 2026-01-01 redenomination, `SYP` (new
pounds) after; 1 SYP = 100 SYP_OLD exactly. Blocks are telescopic (each block at its own price) and counted per
bi-monthly cycle; `up_to_kwh` is a block's cumulative upper bound, `None` for the open-ended last block.

A priced bill is stated in one `bill_unit`: every line's `price` and `amount` are converted to it (exactly, x100 or
/100) and each line amount is rounded to that unit (whole old pounds, or new pounds to the piastre). A period that
straddles tariff versions is prorated by days: each version gets its share of the kWh and of the block limits,
quantized to 0.001 kWh, the last segment taking the remainder so the kWh add up exactly. Lines are written only for
blocks with consumption, so 0 kWh prices to an amount of zero with no lines. No float is used anywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

from ledger.errors import InvalidInput, NoTariffInForce
from ledger.money import NEW, OLD, OLD_PER_NEW, UNITS, quantize

CATEGORIES = ("residential", "commercial", "industrial", "agricultural", "government")
DEFAULT_PATH = Path(__file__).parent / "data" / "tariffs.json"
MILLI_KWH = Decimal("0.001")


@dataclass(frozen=True)
class Block:
    up_to_kwh: int | None
    price: Decimal


@dataclass(frozen=True)
class TariffVersion:
    version: str
    effective_from: date
    unit: str
    source: str
    blocks: dict[str, tuple[Block, ...]]


PRICE_MEMO_SIZE = 20_000


@dataclass(frozen=True)
class PricedBill:
    lines: list[dict]
    amount: Decimal
    unit: str
    tariff_version: str


def _check_version(v: TariffVersion) -> None:
    if v.unit not in UNITS:
        raise ValueError(f"Tariff {v.version} has unknown unit {v.unit!r}; use one of {UNITS}.")
    if set(v.blocks) != set(CATEGORIES):
        raise ValueError(f"Tariff {v.version} must price exactly the categories {CATEGORIES}.")
    for category, blocks in v.blocks.items():
        bounds = [b.up_to_kwh for b in blocks]
        finite = [bound for bound in bounds[:-1] if bound is not None]
        if (
            not blocks
            or bounds[-1] is not None
            or len(finite) != len(bounds) - 1
            or finite != sorted(set(finite))
            or (finite and finite[0] <= 0)
        ):
            raise ValueError(f"Tariff {v.version} {category}: blocks must rise strictly and end open (up_to_kwh null).")
        if any(not isinstance(b.price, Decimal) or not b.price.is_finite() or b.price < 0 for b in blocks):
            raise ValueError(f"Tariff {v.version} {category}: prices must be non-negative Decimals.")


def _version_from_json(raw: dict) -> TariffVersion:
    blocks = {}
    for category, rows in raw["categories"].items():
        if any(not isinstance(row["price"], str) for row in rows):
            raise ValueError(f"Tariff {raw['version']} {category}: write prices as strings, never numbers.")
        blocks[category] = tuple(Block(row["up_to_kwh"], Decimal(row["price"])) for row in rows)
    return TariffVersion(
        version=raw["version"],
        effective_from=date.fromisoformat(raw["effective_from"]),
        unit=raw["unit"],
        source=raw["source"],
        blocks=blocks,
    )


def _convert(amount: Decimal, unit: str, bill_unit: str) -> Decimal:
    """Exact conversion between the two pounds (no rounding here)."""
    if unit == bill_unit:
        return amount
    return amount / OLD_PER_NEW if (unit, bill_unit) == (OLD, NEW) else amount * OLD_PER_NEW


def _kwh_text(kwh: Decimal) -> str:
    return str(kwh.quantize(Decimal(1))) if kwh == kwh.to_integral_value() else str(kwh.quantize(MILLI_KWH))


def _labels(blocks: tuple[Block, ...]) -> list[str]:
    if len(blocks) == 1:
        return ["all"]
    labels, low = [], 1
    for b in blocks:
        labels.append(f"{low}-{b.up_to_kwh}" if b.up_to_kwh is not None else f"{low}+")
        low = (b.up_to_kwh or 0) + 1
    return labels


class TariffBook:
    """The tariff versions in effective-date order; each stays in force until the next one starts."""

    def __init__(self, versions: list[TariffVersion] | tuple[TariffVersion, ...]) -> None:
        ordered = tuple(sorted(versions, key=lambda v: v.effective_from))
        if not ordered:
            raise ValueError("A tariff book needs at least one tariff version.")
        distinct_days, distinct_names = {v.effective_from for v in ordered}, {v.version for v in ordered}
        if len(distinct_days) != len(ordered) or len(distinct_names) != len(ordered):
            raise ValueError("Tariff versions must have distinct names and distinct effective dates.")
        for v in ordered:
            _check_version(v)
        self.versions = ordered
        self._priced: dict[tuple, PricedBill] = {}

    @classmethod
    def load(cls, path: str | Path | None = None) -> TariffBook:
        """Read a tariff book from JSON; by default the one packaged with the ledger."""
        with open(path or DEFAULT_PATH, encoding="utf-8") as f:
            data = json.load(f, parse_float=Decimal)
        return cls([_version_from_json(raw) for raw in data["versions"]])

    def in_force(self, day: date) -> TariffVersion:
        """The tariff version that applied on a calendar day."""
        if isinstance(day, datetime) or not isinstance(day, date):
            raise InvalidInput(f"Tariffs are looked up by calendar day, not {day!r}.")
        current = [v for v in self.versions if v.effective_from <= day]
        if not current:
            first = self.versions[0]
            raise NoTariffInForce(
                f"No tariff was in force on {day.isoformat()}: the earliest tariff ({first.version}) "
                f"takes effect on {first.effective_from.isoformat()}.",
                day=day.isoformat(),
            )
        return current[-1]

    def price(self, category: str, kwh: int, period_start: date, period_end: date, bill_unit: str) -> PricedBill:
        """Price `kwh` consumed over the inclusive days [period_start, period_end], stated in `bill_unit`.

        A pure function of its arguments (the book never changes), so a billing run, where a whole governorate
        shares one period, prices each distinct consumption once; every caller gets lines of its own.
        """
        key = (category, kwh, period_start, period_end, bill_unit)
        priced = self._priced.get(key)
        if priced is None:
            priced = self._price(*key)
            if len(self._priced) >= PRICE_MEMO_SIZE:
                self._priced.clear()
            self._priced[key] = priced
        return PricedBill([dict(line) for line in priced.lines], priced.amount, priced.unit, priced.tariff_version)

    def _price(self, category: str, kwh: int, period_start: date, period_end: date, bill_unit: str) -> PricedBill:
        if category not in CATEGORIES:
            raise InvalidInput(f"Unknown tariff category {category!r}; use one of {', '.join(CATEGORIES)}.")
        if isinstance(kwh, bool) or not isinstance(kwh, int) or kwh < 0:
            raise InvalidInput(f"Consumption must be a whole number of kWh, zero or more, not {kwh!r}.")
        if bill_unit not in UNITS:
            raise InvalidInput(f"Unknown bill unit {bill_unit!r}; use {NEW} or {OLD}.")
        for day in (period_start, period_end):
            if isinstance(day, datetime) or not isinstance(day, date):
                raise InvalidInput(f"A billing period is given in calendar days, not {day!r}.")
        if period_end < period_start:
            raise InvalidInput(f"The period ends ({period_end}) before it starts ({period_start}).")
        first = self.in_force(period_start)
        versions = [first] + [v for v in self.versions if period_start < v.effective_from <= period_end]
        total_days = (period_end - period_start).days + 1
        lines: list[dict] = []
        amount = quantize(Decimal(0), bill_unit)
        left = Decimal(kwh)
        with localcontext() as ctx:
            ctx.prec = 60
            for i, version in enumerate(versions):
                seg_start = max(period_start, version.effective_from)
                last = i == len(versions) - 1
                seg_end = period_end if last else versions[i + 1].effective_from - timedelta(days=1)
                days = (seg_end - seg_start).days + 1
                share = Decimal(days) / Decimal(total_days)
                seg_kwh = left if last else (Decimal(kwh) * share).quantize(MILLI_KWH, rounding=ROUND_HALF_UP)
                left -= seg_kwh
                blocks = version.blocks[category]
                low = Decimal(0)
                for block, label in zip(blocks, _labels(blocks), strict=True):
                    high = seg_kwh
                    if block.up_to_kwh is not None:
                        bound = (Decimal(block.up_to_kwh) * share).quantize(MILLI_KWH, rounding=ROUND_HALF_UP)
                        high = min(seg_kwh, bound)
                    used = max(high - low, Decimal(0))
                    low = max(low, high)
                    if used == 0:
                        continue
                    price = _convert(block.price, version.unit, bill_unit)
                    line_amount = quantize(used * price, bill_unit)
                    amount += line_amount
                    lines.append(
                        {
                            "tariff_version": version.version,
                            "from": seg_start.isoformat(),
                            "to": seg_end.isoformat(),
                            "block": label,
                            "kwh": _kwh_text(used),
                            "price": str(price),
                            "unit": bill_unit,
                            "amount": str(line_amount),
                        }
                    )
        return PricedBill(
            lines=lines,
            amount=amount,
            unit=bill_unit,
            tariff_version="+".join(v.version for v in versions),
        )
