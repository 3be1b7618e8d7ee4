"""Money and the two Syrian pounds.

All money is `decimal.Decimal`. On 2026-01-01 the pound was redenominated: 1 new pound (`SYP`) = 100 old pounds
(`SYP_OLD`). Amounts in new pounds carry two places; amounts in old pounds are whole pounds, so converting old to new
(divide by exactly 100) is always exact to the piastre. Balances are kept and shown in new pounds; events keep the
unit they were recorded in.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ledger.errors import InvalidAmount

NEW = "SYP"
OLD = "SYP_OLD"
UNITS = (NEW, OLD)
REDENOMINATION_DAY = date(2026, 1, 1)
OLD_PER_NEW = Decimal(100)
CENT = Decimal("0.01")
WHOLE = Decimal("1")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("1000000000000.00")
PLAIN_AMOUNT = re.compile(r"^-?[0-9]{1,13}(\.[0-9]{1,2})?$")


def unit_on(day: date) -> str:
    """The pound in force on a calendar day."""
    return NEW if day >= REDENOMINATION_DAY else OLD


def quantize(amount: Decimal, unit: str = NEW) -> Decimal:
    """Round to the unit's smallest amount: piastres for new pounds, whole pounds for old ones."""
    step = CENT if unit == NEW else WHOLE
    return amount.quantize(step, rounding=ROUND_HALF_UP)


def to_new(amount: Decimal, unit: str) -> Decimal:
    """Convert an amount to new pounds at exactly 100 old = 1 new."""
    if unit == NEW:
        return amount.quantize(CENT)
    if unit == OLD:
        return (amount / OLD_PER_NEW).quantize(CENT)
    raise InvalidAmount(f"Unknown currency unit {unit!r}.", unit=unit)


def parse_amount(value: object, *, field: str = "amount") -> Decimal:
    """A positive money amount in new pounds, from a string or Decimal; floats are refused."""
    if isinstance(value, float | bool):
        raise InvalidAmount(f'{field} must be a string such as "3200.00", never a float.', field=field)
    text = str(value)
    if not isinstance(value, Decimal) and not PLAIN_AMOUNT.match(text):
        raise InvalidAmount(f'{field} {text[:40]!r} is not an amount like "3200.00".', field=field)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidAmount(f"{field} {text[:40]!r} is not a number.", field=field) from None
    if not amount.is_finite():
        raise InvalidAmount(f"{field} must be a finite number.", field=field)
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP) or abs(amount) > MAX_AMOUNT:
        raise InvalidAmount(f"{field} {value} must have at most two decimal places and be below 10^12.", field=field)
    return amount.quantize(CENT)


def as_text(amount: Decimal) -> str:
    """The JSON form of money: a string with two places."""
    return str(amount.quantize(CENT))
