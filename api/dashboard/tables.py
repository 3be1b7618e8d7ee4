"""The page's tables, described once and drawn twice: as HTML (in the page's language) and as CSV (for spreadsheets).

A `Table` has columns of a kind (money, count, ratio, a code to name, ...) and rows of plain values. A column with a
`figure` links each of its cells to the list of bills, payments or subscribers behind it; the table's `scope`
gives the row's own filters for that link (its governorate, cycle, bank, ...). CSV cells are plain: codes as codes,
money as `1234.50` with a `unit` column, ratios as decimals, Western digits whatever the page's language; a cell
that a spreadsheet would take for a formula is quoted with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from api.dashboard import i18n
from ledger.money import NEW

Scope = Callable[[dict[str, Any]], dict[str, Any]]
NAMED = {
    "governorate": i18n.governorate,
    "bank": i18n.bank,
    "channel": i18n.channel,
    "status": i18n.status,
    "bucket": i18n.bucket,
    "cycle": i18n.cycle,
}
NUMERIC = ("money", "count", "ratio", "days")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _no_scope(row: dict[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"
    figure: str | None = None
    params: tuple[tuple[str, str], ...] = ()  # the column's own filters for its links (an arrears bucket)


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    total: dict[str, Any] | None = None
    scope: Scope = _no_scope
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_money(self) -> bool:
        return any(c.kind == "money" for c in self.columns)


def header(column: Column, lang: str) -> str:
    label = i18n.word(column.label, lang) if column.label in i18n.WORDS else i18n.bucket(column.label, lang)
    return f"{label} ({i18n.UNIT[lang]})" if column.kind == "money" else label


def display(column: Column, value: Any, lang: str) -> str:
    """A cell as the page shows it in `lang`."""
    if value is None:
        return "–"
    if column.kind == "money":
        return i18n.money(value, lang, unit=False)
    if column.kind in ("count", "days"):
        return i18n.number(value, lang)
    if column.kind == "ratio":
        return i18n.percent(value, lang)
    if column.kind == "day":
        return i18n.day(value.date() if isinstance(value, datetime) else value, lang)
    if column.kind in NAMED:
        return NAMED[column.kind](value, lang)
    return str(value)  # identifiers (subscriber numbers, references) are shown exactly as they are typed


def raw(value: Any) -> str:
    """A cell as CSV and `data-value` attributes carry it."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_header(table: Table, lang: str) -> list[str]:
    names = []
    for c in table.columns:
        names.append(c.key)
        if c.kind in NAMED and c.kind != "cycle":
            names.append(f"{c.key}_name")
    return names + (["unit"] if table.has_money else [])


def _csv_row(table: Table, row: dict[str, Any], lang: str) -> list[str]:
    cells = []
    for c in table.columns:
        value = row.get(c.key)
        cells.append(raw(value) if c.kind in NUMERIC or isinstance(value, date) else _safe(raw(value)))
        if c.kind in NAMED and c.kind != "cycle":
            cells.append(_safe(display(c, value, lang)) if value is not None else "")
    return cells + ([NEW] if table.has_money else [])


def csv_lines(table: Table, rows: Iterable[dict[str, Any]], lang: str) -> Iterator[str]:
    """The CSV text of a table, line by line, starting with a byte-order mark so spreadsheets read Arabic right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_csv_header(table, lang))
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(_csv_row(table, row, lang))
        yield buffer.getvalue()
