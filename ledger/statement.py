"""A subscriber's account statement for a period, from the stored events: as data, as CSV, as a printable page.

Lines are the money events recorded in the period (bills, adjustments, payments, reversals; clearings as
information lines without an amount), each with the running balance owed. The opening balance is what was owed
at the start of the first day, from every earlier event. Days are UTC calendar days of the recording time.
All amounts are in new Syrian pounds (SYP): a bill issued in old pounds is converted at exactly 100 old = 1 new,
and its line says so. The HTML page is a plain string template; every value is escaped.
"""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC, date
from decimal import Decimal
from typing import Any

from ledger.audit import InvalidPeriod
from ledger.audit_chain import events_table, stream_rows, to_event
from ledger.errors import UnknownSubscriber
from ledger.money import NEW, OLD, ZERO, as_text, to_new
from ledger.subscriber import subscriber_id

COLUMNS = ("date", "recorded_at", "position", "type", "reference", "description", "debit", "credit", "balance", "unit")


Posting = tuple[str, str, Decimal | None, Decimal | None]  # reference, description, debit, credit


class _Book:
    """Posts money events and keeps the running balance (what the subscriber owes, in new pounds)."""

    def __init__(self) -> None:
        self.balance = ZERO
        self.payments: dict[str, Decimal] = {}

    def post(self, event: Any) -> Posting | None:
        """The statement line of a money event (None for any other event), after moving the balance."""
        poster = getattr(self, "_" + type(event).__name__, None)
        if poster is None:
            return None
        line: Posting = poster(event)
        self.balance += (line[2] or ZERO) - (line[3] or ZERO)
        return line

    def _BillIssued(self, event: Any) -> Posting:
        issued = f"; issued as {event.amount} {OLD}" if event.unit == OLD else ""
        return (
            event.bill_id,
            f"Bill for cycle {event.cycle}: {event.kwh} kWh, tariff {event.tariff_version}, "
            f"due {event.due_date}{issued}",
            to_new(event.amount, event.unit),
            None,
        )

    def _BillAdjusted(self, event: Any) -> Posting:
        amount = event.amount
        return (
            event.bill_id,
            f"Adjustment: {event.reason}",
            amount if amount > 0 else None,
            -amount if amount < 0 else None,
        )

    def _PaymentReceived(self, event: Any) -> Posting:
        self.payments[event.payment_key] = event.amount
        return (
            event.payment_ref,
            f"Payment through {event.bank} ({event.channel}) on {event.paid_at} for bill {event.bill_id}",
            None,
            event.amount,
        )

    def _PaymentReversed(self, event: Any) -> Posting:
        return (
            _ref(event.payment_key),
            f"Payment reversed: {event.reason}",
            self.payments.get(event.payment_key, ZERO),
            None,
        )

    def _PaymentCleared(self, event: Any) -> Posting:
        return (_ref(event.payment_key), f"Payment cleared by settlement {event.settlement_ref}", None, None)


def _ref(payment_key: str) -> str:
    return payment_key.split(":", 1)[-1]


def statement(app: Any, subscriber_no: str, start: date | None = None, end: date | None = None) -> dict[str, Any]:
    """The statement from `start` to `end` (both days included; by default from registration to the last event)."""
    if start is not None and end is not None and end < start:
        raise InvalidPeriod(f"The period ends ({end.isoformat()}) before it starts ({start.isoformat()}).")
    table = events_table(app)
    rows = stream_rows(app, where=table.c.originator_id == subscriber_id(subscriber_no))
    book, lines, account, opening, last_day = _Book(), [], None, None, None
    for row in rows:
        event = to_event(app, row)
        day = event.timestamp.astimezone(UTC).date()
        account, start = account or _account(event), start or day
        if end is not None and day > end:
            break
        last_day = day
        if day >= start and opening is None:
            opening = book.balance
        posted = book.post(event)
        if posted is not None and day >= start:
            lines.append(_line(row.position, event, day, posted, book.balance))
    if account is None or start is None:
        raise UnknownSubscriber(f"There is no subscriber {subscriber_no}.", subscriber_no=subscriber_no)
    end = end or max(last_day or start, app.today())
    return {
        "subscriber": account,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "unit": NEW,
        "opening_balance": book.balance if opening is None else opening,
        "closing_balance": book.balance,
        "total_debit": sum((line["debit"] or ZERO for line in lines), ZERO),
        "total_credit": sum((line["credit"] or ZERO for line in lines), ZERO),
        "lines": lines,
    }


def _account(event: Any) -> dict[str, Any]:
    return {
        "subscriber_no": event.subscriber_no,
        "name": event.name,
        "governorate": event.governorate,
        "category": event.category,
    }


def _line(position: int, event: Any, day: date, posted: tuple[Any, ...], balance: Decimal) -> dict[str, Any]:
    reference, description, debit, credit = posted
    return {
        "date": day.isoformat(),
        "recorded_at": event.timestamp.astimezone(UTC).isoformat(),
        "position": position,
        "type": type(event).__name__,
        "reference": reference,
        "description": description,
        "debit": debit,
        "credit": credit,
        "balance": balance,
        "unit": NEW,
    }


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else as_text(amount)


def _cells(line: dict[str, Any]) -> list[str]:
    return [_money(line[c]) if c in ("debit", "credit", "balance") else str(line[c]) for c in COLUMNS]


def _edge(kind: str, day: str, balance: Decimal, data: dict[str, Any]) -> dict[str, Any]:
    label = "Opening balance" if kind == "OpeningBalance" else "Closing balance"
    return {
        "date": day,
        "recorded_at": "",
        "position": "",
        "type": kind,
        "reference": data["subscriber"]["subscriber_no"],
        "description": label,
        "debit": None,
        "credit": None,
        "balance": balance,
        "unit": NEW,
    }


def _all_lines(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        _edge("OpeningBalance", data["from"], data["opening_balance"], data),
        *data["lines"],
        _edge("ClosingBalance", data["to"], data["closing_balance"], data),
    ]


def statement_csv(app: Any, subscriber_no: str, start: date | None = None, end: date | None = None) -> str:
    """The statement as CSV: a header row, an opening balance row, one row per line, a closing balance row."""
    data = statement(app, subscriber_no, start, end)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for line in _all_lines(data):
        writer.writerow(_cells(line))
    return out.getvalue()


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Statement {no}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;width:100%}}
th,td{{border:1px solid #999;padding:.3em;font-size:.9em}}td.n{{text-align:right;white-space:nowrap}}
@media print{{body{{margin:0}}}}</style></head><body>
<h1>Electricity account statement</h1>
<p>Subscriber <b>{no}</b> &middot; <bdi>{name}</bdi> &middot; {governorate} &middot; {category}</p>
<p>Period {start} to {end} (UTC days) &middot; amounts in {unit} (new Syrian pounds; old-pound bills converted
at 100:1)</p>
<table><thead><tr>{head}</tr></thead><tbody>
{rows}
</tbody></table>
<p>Total billed {debit} &middot; total paid {credit} &middot; balance owed {closing} {unit}</p>
</body></html>
"""


def statement_html(app: Any, subscriber_no: str, start: date | None = None, end: date | None = None) -> str:
    """The statement as a self-contained printable HTML page."""
    data = statement(app, subscriber_no, start, end)
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
    rows = "\n".join(
        "<tr>"
        + "".join(
            f'<td class="n">{esc(v)}</td>' if c in ("debit", "credit", "balance") else f"<td>{esc(v)}</td>"
            for c, v in zip(COLUMNS, _cells(line), strict=True)
        )
        + "</tr>"
        for line in _all_lines(data)
    )
    account = data["subscriber"]
    return _PAGE.format(
        no=esc(account["subscriber_no"]),
        name=esc(account["name"]),
        governorate=esc(account["governorate"]),
        category=esc(account["category"]),
        start=esc(data["from"]),
        end=esc(data["to"]),
        unit=esc(data["unit"]),
        head=head,
        rows=rows,
        debit=esc(as_text(data["total_debit"])),
        credit=esc(as_text(data["total_credit"])),
        closing=esc(as_text(data["closing_balance"])),
    )
