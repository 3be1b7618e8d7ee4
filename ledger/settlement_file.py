"""A bank's daily settlement file: CSV in, one settlement out, with every bad row named by its line number.

The file is UTF-8 CSV with this header (column order free, extra columns refused):

    settlement_ref,business_date,payment_ref,amount

One row per settled payment; every row carries the same settlement reference and business date (ISO date), and
`amount` is the payment's amount in new pounds as written by the bank (`1000.00`). Bad rows (missing or malformed
fields, a second row for the same payment, a row of another settlement) are reported and left out; the good rows are
applied as one settlement in one transaction, so a file is never half-applied.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ledger.errors import InvalidInput, LedgerError
from ledger.money import ZERO, parse_amount

COLUMNS = ("settlement_ref", "business_date", "payment_ref", "amount")
REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")


@dataclass
class SettlementFile:
    settlement_ref: str | None = None
    business_date: date | None = None
    rows: list[dict[str, object]] = field(default_factory=list)
    bad_rows: list[dict[str, object]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((Decimal(str(row["amount"])) for row in self.rows), ZERO)


def parse_settlement_file(text: str) -> SettlementFile:
    """Parse the whole file; raises InvalidInput only when the file as a whole is unusable."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = tuple(name.strip() for name in (reader.fieldnames or ()))
    if sorted(header) != sorted(COLUMNS):
        raise InvalidInput(f"The settlement file's header must be {','.join(COLUMNS)}; found {','.join(header)}.")
    parsed = SettlementFile()
    seen: set[str] = set()
    for row in reader:
        problem = _take_row(parsed, {k.strip(): (v or "").strip() for k, v in row.items() if k}, seen)
        if problem:
            parsed.bad_rows.append({"line": reader.line_num, "reason": problem})
    if not parsed.rows and not parsed.bad_rows:
        raise InvalidInput("The settlement file has no rows.")
    return parsed


def _take_row(parsed: SettlementFile, row: dict[str, str], seen: set[str]) -> str | None:
    for name in ("settlement_ref", "payment_ref"):
        if not REFERENCE.match(row.get(name, "")):
            return f"{name} {row.get(name)!r} is missing or malformed"
    try:
        business_date = date.fromisoformat(row.get("business_date", ""))
        amount = parse_amount(row.get("amount", ""))
    except ValueError:
        return f"business_date {row.get('business_date')!r} is not an ISO date (YYYY-MM-DD)"
    except LedgerError as error:
        return error.detail
    if amount <= 0:
        return "amount must be above zero"
    if parsed.settlement_ref is None:
        parsed.settlement_ref, parsed.business_date = row["settlement_ref"], business_date
    if (row["settlement_ref"], business_date) != (parsed.settlement_ref, parsed.business_date):
        return "row belongs to another settlement (settlement_ref or business_date differs from the first row)"
    if row["payment_ref"] in seen:
        return f"payment {row['payment_ref']} is listed twice"
    seen.add(row["payment_ref"])
    parsed.rows.append({"payment_ref": row["payment_ref"], "amount": amount})
    return None


def import_settlement(app: object, bank: str, text: str) -> dict[str, object]:
    """Parse a bank's file and apply its good rows as one settlement; the report adds the bad rows."""
    parsed = parse_settlement_file(text)
    if not parsed.rows:
        return {
            "bank": bank,
            "applied": False,
            "created": False,
            "bad_rows": parsed.bad_rows,
            "matched": [],
            "unknown": [],
            "mismatched": [],
        }
    assert parsed.settlement_ref is not None and parsed.business_date is not None
    report, created = app.settle(  # type: ignore[attr-defined]
        bank, parsed.settlement_ref, parsed.business_date, parsed.rows, parsed.total
    )
    return {**report, "applied": True, "created": created, "bad_rows": parsed.bad_rows}
