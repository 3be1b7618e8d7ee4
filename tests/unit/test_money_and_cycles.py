"""Money (two pounds, exactly 100:1, never a float) and the bi-monthly cycles `YYYY-Cn`."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.cycles import Cycle
from ledger.errors import InvalidAmount, InvalidCycle
from ledger.money import NEW, OLD, as_text, parse_amount, to_new, unit_on

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
old_amounts = st.integers(min_value=0, max_value=10**14).map(Decimal)


def test_the_pound_changed_on_the_first_of_january_2026():
    assert (unit_on(date(2025, 12, 31)), unit_on(date(2026, 1, 1))) == (OLD, NEW)


@given(old_amounts)
def test_old_pounds_convert_to_new_pounds_at_exactly_one_hundred_to_one(amount):
    new = to_new(amount, OLD)
    assert new * 100 == amount and new == new.quantize(Decimal("0.01"))


def test_the_published_example_bill_is_three_thousand_two_hundred_new_pounds():
    assert to_new(Decimal(320000), OLD) == Decimal("3200.00")
    assert as_text(to_new(Decimal(320000), OLD)) == "3200.00"


def test_an_unknown_unit_is_refused():
    with pytest.raises(InvalidAmount, match="Unknown currency unit 'USD'"):
        to_new(Decimal(1), "USD")


@given(st.decimals(min_value=Decimal("-999999999999.99"), max_value=Decimal("999999999999.99"), places=2))
def test_an_amount_with_two_places_parses_back_to_itself(amount):
    assert parse_amount(str(amount)) == amount and parse_amount(amount) == amount
    assert as_text(parse_amount(str(amount))) == str(amount.quantize(Decimal("0.01")))


@pytest.mark.parametrize("value", [1.5, True, "1.005", "abc", "Infinity", "NaN", "1e13", ""])
def test_floats_and_what_is_not_money_are_refused(value):
    with pytest.raises(InvalidAmount):
        parse_amount(value)


def test_a_cycle_is_named_by_year_and_two_month_period():
    c6 = Cycle.parse("2025-C6")
    assert (c6.start, c6.end, c6.name, str(c6)) == (date(2025, 11, 1), date(2025, 12, 31), "2025-C6", "2025-C6")
    assert Cycle.parse("2024-C1").end == date(2024, 2, 29)
    assert c6.next() == Cycle.parse("2026-C1") and Cycle.parse("2026-C1").previous() == c6


@given(days)
def test_every_day_falls_in_exactly_one_cycle(day):
    cycle = Cycle.containing(day)
    assert cycle.start <= day <= cycle.end
    assert Cycle.parse(cycle.name) == cycle
    assert cycle.next().start == cycle.end + timedelta(days=1)
    assert cycle.next().previous() == cycle


@pytest.mark.parametrize("name", ["2026-C0", "2026-C7", "26-C1", "2026C1", "1999-C6", "2101-C1", "", None])
def test_a_malformed_cycle_name_is_refused(name):
    with pytest.raises(InvalidCycle, match="is not a billing cycle"):
        Cycle.parse(name)
