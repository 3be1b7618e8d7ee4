"""The tariff book: decision 687/2025 as data, telescopic blocks, the redenomination and proration by days."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.cycles import Cycle
from ledger.errors import InvalidInput, NoTariffInForce
from ledger.money import NEW, OLD, UNITS
from ledger.tariffs import CATEGORIES, DEFAULT_PATH, Block, PricedBill, TariffBook, TariffVersion

BOOK = TariffBook.load()
C6_2025 = Cycle.parse("2025-C6")
C1_2026 = Cycle.parse("2026-C1")


def priced(category: str, kwh: int, cycle: Cycle, unit: str, book: TariffBook = BOOK) -> PricedBill:
    return book.price(category, kwh, cycle.start, cycle.end, unit)


def flat_version(name: str, effective_from: date, price: str) -> TariffVersion:
    blocks = {c: (Block(None, Decimal(price)),) for c in CATEGORIES}
    blocks["residential"] = (Block(300, Decimal(price)), Block(None, Decimal(price) * 2))
    return TariffVersion(name, effective_from, OLD, "test only", blocks)


DOUBLING = TariffBook([flat_version("T1", date(2030, 1, 1), "100"), flat_version("T2", date(2030, 1, 11), "200")])


def test_the_packaged_tariffs_cite_decision_687_2025_and_the_redenomination():
    data = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    first, second = data["versions"]
    assert (first["version"], first["effective_from"], first["unit"]) == ("687/2025", "2025-11-01", "SYP_OLD")
    assert (second["effective_from"], second["unit"]) == ("2026-01-01", "SYP")
    assert "687/2025" in first["source"] and "100 old pounds" in second["source"]
    rows = [row for v in data["versions"] for blocks in v["categories"].values() for row in blocks]
    assert all(isinstance(row["price"], str) for row in rows)


def test_the_published_example_400_kwh_residential_is_320000_old_pounds_in_2025_c6():
    bill = priced("residential", 400, C6_2025, OLD)
    assert bill.amount == Decimal(320000)
    assert bill.unit == OLD
    assert bill.tariff_version == "687/2025"
    assert [(line["block"], line["kwh"], line["price"], line["amount"]) for line in bill.lines] == [
        ("1-300", "300", "600", "180000"),
        ("301+", "100", "1400", "140000"),
    ]
    assert bill.lines[0]["from"] == "2025-11-01" and bill.lines[0]["to"] == "2025-12-31"


def test_the_same_400_kwh_is_3200_new_pounds_in_2026_c1():
    bill = priced("residential", 400, C1_2026, NEW)
    assert bill.amount == Decimal("3200.00")
    assert str(bill.amount) == "3200.00"
    assert bill.tariff_version == "687/2025-redenominated"
    assert [line["amount"] for line in bill.lines] == ["1800.00", "1400.00"]


def test_a_2025_c6_period_priced_into_new_pounds_gives_3200_00():
    bill = priced("residential", 400, C6_2025, NEW)
    assert str(bill.amount) == "3200.00"
    assert bill.tariff_version == "687/2025"
    assert [(line["price"], line["unit"]) for line in bill.lines] == [("6", NEW), ("14", NEW)]


def test_a_2026_c1_period_priced_into_old_pounds_gives_320000():
    assert priced("residential", 400, C1_2026, OLD).amount == Decimal(320000)


@pytest.mark.parametrize("category", ["commercial", "industrial", "agricultural", "government"])
def test_every_non_residential_category_pays_a_flat_1400_old_or_14_new_pounds(category):
    old = priced(category, 400, C6_2025, OLD)
    new = priced(category, 400, C1_2026, NEW)
    assert old.amount == Decimal(560000) and str(new.amount) == "5600.00"
    assert [line["block"] for line in old.lines] == ["all"]


def test_300_kwh_exactly_stays_in_the_first_residential_block():
    bill = priced("residential", 300, C6_2025, OLD)
    assert bill.amount == Decimal(180000)
    assert [line["block"] for line in bill.lines] == ["1-300"]
    assert priced("residential", 301, C6_2025, OLD).amount == Decimal(181400)


def test_zero_kwh_costs_nothing_and_has_no_lines():
    bill = priced("residential", 0, C1_2026, NEW)
    assert bill.amount == Decimal("0.00") and bill.lines == []
    assert bill.tariff_version == "687/2025-redenominated"


def test_a_day_before_2025_11_01_has_no_tariff_in_force():
    with pytest.raises(NoTariffInForce, match="2025-10-31"):
        BOOK.in_force(date(2025, 10, 31))
    with pytest.raises(NoTariffInForce):
        BOOK.price("residential", 100, date(2025, 10, 31), date(2025, 11, 30), OLD)


def test_in_force_picks_the_latest_version_that_has_started():
    assert BOOK.in_force(date(2025, 11, 1)).version == "687/2025"
    assert BOOK.in_force(date(2025, 12, 31)).unit == OLD
    assert BOOK.in_force(date(2026, 1, 1)).version == "687/2025-redenominated"
    assert BOOK.in_force(date(2099, 1, 1)).unit == NEW


@pytest.mark.parametrize(
    "category, kwh, unit",
    [
        ("hospital", 10, OLD),
        ("residential", -1, OLD),
        ("residential", 1.5, OLD),
        ("residential", True, OLD),
        ("residential", 10, "USD"),
    ],
)
def test_bad_category_consumption_or_unit_is_refused_as_invalid_input(category, kwh, unit):
    with pytest.raises(InvalidInput):
        BOOK.price(category, kwh, C6_2025.start, C6_2025.end, unit)


def test_a_period_that_ends_before_it_starts_is_refused():
    with pytest.raises(InvalidInput):
        BOOK.price("residential", 10, C6_2025.end, C6_2025.start, OLD)


def test_a_period_straddling_a_price_change_is_prorated_by_days():
    # 20 days: 10 at T1 (100, 200 above 300) and 10 at T2 (double); 400 kWh and block limits split 200/200.
    bill = DOUBLING.price("residential", 400, date(2030, 1, 1), date(2030, 1, 20), OLD)
    assert bill.tariff_version == "T1+T2"
    assert [
        (line["tariff_version"], line["from"], line["to"], line["block"], line["kwh"], line["amount"])
        for line in bill.lines
    ] == [
        ("T1", "2030-01-01", "2030-01-10", "1-300", "150", "15000"),
        ("T1", "2030-01-01", "2030-01-10", "301+", "50", "10000"),
        ("T2", "2030-01-11", "2030-01-20", "1-300", "150", "30000"),
        ("T2", "2030-01-11", "2030-01-20", "301+", "50", "20000"),
    ]
    assert bill.amount == Decimal(75000) == sum(Decimal(line["amount"]) for line in bill.lines)


def test_uneven_proration_gives_the_last_segment_the_remainder_of_kwh():
    bill = DOUBLING.price("commercial", 100, date(2030, 1, 1), date(2030, 1, 30), OLD)  # 10 days then 20
    assert [line["kwh"] for line in bill.lines] == ["33.333", "66.667"]
    assert sum(Decimal(line["kwh"]) for line in bill.lines) == 100
    assert bill.amount == Decimal(3333) + Decimal(13333)


def test_a_period_straddling_the_redenomination_costs_the_same_as_one_tariff():
    bill = BOOK.price("residential", 400, date(2025, 12, 1), date(2026, 1, 31), NEW)
    assert bill.tariff_version == "687/2025+687/2025-redenominated"
    assert str(bill.amount) == "3200.00"
    assert {line["unit"] for line in bill.lines} == {NEW}


def test_a_tariff_book_refuses_versions_with_blocks_that_do_not_end_open():
    bad = flat_version("X", date(2030, 1, 1), "1")
    bad.blocks["commercial"] = (Block(100, Decimal(1)),)
    with pytest.raises(ValueError):
        TariffBook([bad])


periods = st.one_of(
    st.sampled_from([C6_2025, C1_2026, Cycle.parse("2026-C2"), Cycle.parse("2027-C6")]).map(lambda c: (c.start, c.end)),
    st.tuples(st.dates(date(2025, 11, 1), date(2026, 6, 30)), st.integers(0, 120)).map(
        lambda p: (p[0], p[0] + timedelta(days=p[1]))
    ),
)
doubling_periods = st.tuples(st.dates(date(2030, 1, 1), date(2030, 1, 10)), st.integers(1, 120)).map(
    lambda p: (p[0], max(p[0] + timedelta(days=p[1]), date(2030, 1, 11)))
)


@settings(max_examples=300, deadline=None)
@given(
    book_and_period=st.one_of(st.tuples(st.just(BOOK), periods), st.tuples(st.just(DOUBLING), doubling_periods)),
    category=st.sampled_from(CATEGORIES),
    kwh=st.integers(0, 1_000_000),
    unit=st.sampled_from(UNITS),
)
def test_price_is_monotone_in_kwh_lines_sum_to_amount_and_nothing_is_a_float(book_and_period, category, kwh, unit):
    book, (start, end) = book_and_period
    bill = book.price(category, kwh, start, end, unit)
    more = book.price(category, kwh + 1, start, end, unit)
    assert more.amount >= bill.amount >= 0
    for result in (bill, more):
        assert isinstance(result.amount, Decimal) and result.unit == unit
        assert sum((Decimal(line["amount"]) for line in result.lines), Decimal(0)) == result.amount
        assert all(isinstance(value, str) for line in result.lines for value in line.values())
        assert sum((Decimal(line["kwh"]) for line in result.lines), Decimal(0)) == (kwh if result is bill else kwh + 1)
    json.dumps(bill.lines)


@given(
    kwh=st.integers(min_value=0, max_value=5000),
    start=st.dates(min_value=date(2025, 11, 1), max_value=date(2027, 1, 1)),
    days=st.integers(min_value=0, max_value=120),
    category=st.sampled_from(CATEGORIES),
    unit=st.sampled_from(UNITS),
)
@settings(max_examples=40)
def test_a_remembered_price_equals_a_fresh_one_and_its_lines_are_the_callers_own(kwh, start, days, category, unit):
    book = TariffBook.load()  # a book that has priced nothing yet
    end = start + timedelta(days=days)
    first = book.price(category, kwh, start, end, unit)
    first.lines.append({"tampered": "yes"})
    for line in first.lines:
        line["amount"] = "0"
    again = book.price(category, kwh, start, end, unit)
    assert again == TariffBook.load().price(category, kwh, start, end, unit)
    assert {"tampered": "yes"} not in again.lines
