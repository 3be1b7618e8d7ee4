"""Numbers, names and charts as the dashboard writes them in English and Arabic."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from api.dashboard import charts, i18n
from api.dashboard.tables import Column, Table, csv_lines

amounts = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False)


def test_money_has_thousands_separators_and_its_unit_in_either_language():
    assert i18n.money(Decimal("3200.00"), "en") == "3,200.00 SYP"
    assert i18n.money(Decimal("1234567.5"), "ar") == "١٬٢٣٤٬٥٦٧٫٥٠ ل.س"
    assert i18n.money(Decimal("-1584.00"), "ar", unit=False) == "\u061c-١٬٥٨٤٫٠٠"  # the minus stays in front
    assert i18n.percent(Decimal("0.7512"), "en") == "75.1%" and i18n.percent(Decimal("0.7512"), "ar") == "٧٥٫١٪"
    assert i18n.percent(None, "ar") == "–"


@given(amounts)
def test_any_amount_reads_back_from_its_arabic_digits(amount):
    shown = i18n.money(amount, "ar", unit=False)
    assert not re.search(r"[0-9]", shown)
    assert Decimal(i18n.western(shown).replace(",", "")) == amount


def test_names_dates_and_cycles_are_written_as_each_language_reads_them():
    assert i18n.governorate("SY-RD", "ar") == "ريف دمشق" and i18n.governorate("SY-RD", "en") == "Rural Damascus"
    assert i18n.bank("REB", "ar") == "المصرف العقاري" and i18n.governorate(None, "en") == "All governorates"
    assert i18n.cycle("2025-C6", "en") == "2025-C6 (Nov–Dec 2025)"
    assert i18n.cycle("2025-C6", "ar") == "الدورة ٦ من ٢٠٢٥ (تشرين الثاني–كانون الأول)"
    assert i18n.day(date(2026, 11, 3), "en") == "2026-11-03" and i18n.day("2026-11-03", "ar") == "٣/١١/٢٠٢٦"
    assert i18n.compact(Decimal("2823050"), "en") == "2.8M" and i18n.compact(Decimal("250000"), "ar") == "٢٥٠ ألف"
    assert set(i18n.WORDS) == {key for key, pair in i18n.WORDS.items() if len(pair) == 2 and all(pair)}


def test_axis_tops_are_round_numbers_at_or_above_the_largest_value():
    assert [charts.nice_ceiling(Decimal(v)) for v in ("0", "7", "12", "230", "26000", "0.71")] == [
        1,
        10,
        20,
        250,
        50000,
        Decimal("1"),
    ]


def bar_xs(svg: str) -> list[float]:
    return [float(x) for x in re.findall(r'<rect x="([0-9.]+)" y="[0-9.]+" width="[0-9.]+" height="18"', svg)]


def test_bars_grow_from_the_reading_side_and_link_to_their_lists():
    bars = [
        charts.Bar("Damascus", Decimal("0.5"), "50%", "/dashboard/subscribers?figure=paid"),
        charts.Bar("Aleppo", Decimal("1"), "100%"),
    ]
    ltr, rtl = (
        charts.hbars(bars, "Efficiency", False, scale=Decimal(1)),
        charts.hbars(bars, "Efficiency", True, scale=Decimal(1)),
    )
    assert len(set(bar_xs(ltr))) == 1  # left-aligned
    assert bar_xs(rtl)[0] > bar_xs(rtl)[1]  # right-aligned: the shorter bar starts further right
    assert '<a href="/dashboard/subscribers?figure=paid">' in ltr and "<title>Damascus: 50%</title>" in ltr
    assert "<script" not in ltr and "style=" not in ltr


def test_chart_text_is_escaped():
    svg = charts.columns(["<b>"], [charts.Series("a&b", [Decimal(1)], ["1"])], "t", False, str)
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "a&amp;b" in svg


def test_columns_run_from_the_right_in_arabic():
    series = [charts.Series("Billed", [Decimal(1), Decimal(2)], ["1", "2"])]
    ltr = charts.columns(["C4", "C5"], series, "t", False, str)
    rtl = charts.columns(["C4", "C5"], series, "t", True, str)
    assert first_label_x(ltr) < first_label_x(rtl)


def first_label_x(svg: str) -> float:
    return float(re.search(r'<text x="([0-9.]+)" y="[0-9.]+" text-anchor="middle" class="label">C4', svg).group(1))


def test_the_rollout_map_places_every_governorate():
    tiles = [charts.Tile(code, code, code == "SY-DI", "") for code in charts.GRID]
    svg = charts.tile_map(tiles, "Rollout")
    assert svg.count('class="tile live"') == 1 and svg.count('class="tile not-live"') == 13
    assert len(set(charts.GRID.values())) == len(charts.GRID) == 14


def test_csv_quotes_cells_a_spreadsheet_would_run_as_formulas():
    table = Table("t", "title", [Column("name", "name"), Column("amount", "amount", "money")], [])
    lines = list(csv_lines(table, [{"name": "=1+2", "amount": Decimal("-5.00")}], "en"))
    assert lines[0] == "\ufeffname,amount,unit\r\n"
    assert lines[1] == "'=1+2,-5.00,SYP\r\n"
