"""Bi-monthly billing cycles named `YYYY-Cn` (n = 1..6): `2025-C6` is November-December 2025."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, cached_property

from ledger.errors import InvalidCycle

_CYCLE = re.compile(r"^(\d{4})-C([1-6])$")


@dataclass(frozen=True, order=True)
class Cycle:
    year: int
    number: int

    @classmethod
    def parse(cls, name: str) -> Cycle:
        return _parsed(name if isinstance(name, str) else "")

    @classmethod
    def containing(cls, day: date) -> Cycle:
        return cls(day.year, (day.month - 1) // 2 + 1)

    @property
    def name(self) -> str:
        return f"{self.year}-C{self.number}"

    @cached_property  # a billing run asks each of its bills: one cycle, parsed once (`_parsed`)
    def start(self) -> date:
        return date(self.year, 2 * self.number - 1, 1)

    @cached_property
    def end(self) -> date:
        """The last day of the cycle, inclusive."""
        return self.next().start - timedelta(days=1)

    def next(self) -> Cycle:
        return Cycle(self.year + 1, 1) if self.number == 6 else Cycle(self.year, self.number + 1)

    def previous(self) -> Cycle:
        return Cycle(self.year - 1, 6) if self.number == 1 else Cycle(self.year, self.number - 1)

    def __str__(self) -> str:
        return self.name


@cache
def _parsed(name: str) -> Cycle:
    """Valid names are few (six a year from 2000 to 2100); each is parsed once."""
    match = _CYCLE.match(name)
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise InvalidCycle(f"{name!r} is not a billing cycle; write it like 2025-C6 (C1..C6, two months each).")
    return Cycle(int(match.group(1)), int(match.group(2)))
