"""Importing a bank's settlement file: good rows applied as one settlement, bad rows named by line."""

from datetime import UTC, datetime, timedelta

import pytest

from ledger.errors import InvalidInput
from ledger.settlement_file import import_settlement, parse_settlement_file

HEADER = "settlement_ref,business_date,payment_ref,amount\n"


def _ledger_with_payments(app, subscribers: int, payments_each: int) -> list[tuple[str, str]]:
    """Register, bill and pay; returns (payment_ref, amount) of every payment made through CBS."""
    paid = []
    read_at = datetime(2026, 10, 20, tzinfo=UTC)
    for n in range(subscribers):
        no = f"DI-{n:05d}"
        app.register_subscriber(no, "SY-DI", "residential", f"M{n}", 0, f"Subscriber {n}")
        app.enrol(no, "CBS", "****0001")
        app.submit_reading(no, 400, read_at, "reader")
        bill = app.issue_bill(no, "2026-C5")
        for k in range(payments_each):
            ref = f"TX{n:05d}{k}"
            app.receive_payment("CBS", ref, no, bill["bill_id"], "100.00", "web", read_at + timedelta(days=1))
            paid.append((ref, "100.00"))
    return paid


def test_a_file_of_thousands_of_rows_applies_good_rows_and_names_each_bad_one(sqlite_url, make_ledger):
    app = make_ledger(sqlite_url)
    paid = _ledger_with_payments(app, subscribers=250, payments_each=8)
    lines = [f"SET-1,2026-10-22,{ref},{amount}" for ref, amount in paid]
    lines[10] = "SET-1,2026-10-22,,100.00"  # missing reference: line 12 of the file
    lines[20] = "SET-1,2026-13-40,TX-BAD-DATE,100.00"
    lines[30] = f"SET-1,2026-10-22,{paid[30][0]},1e3"
    lines.append(f"SET-1,2026-10-22,{paid[0][0]},100.00")  # listed twice
    lines.append("SET-2,2026-10-22,TX-OTHER,100.00")
    lines.append("SET-1,2026-10-22,UNKNOWN-REF,55.00")
    before = app.recorder.max_notification_id()
    report = import_settlement(app, "CBS", HEADER + "\n".join(lines) + "\n")
    bad = {row["line"]: row["reason"] for row in report["bad_rows"]}
    assert sorted(bad) == [12, 22, 32, len(paid) + 2, len(paid) + 3]
    assert "payment_ref" in bad[12] and "listed twice" in bad[len(paid) + 2]
    assert len(report["matched"]) == len(paid) - 3 and report["unknown"] == ["UNKNOWN-REF"]
    cleared_events = app.recorder.max_notification_id() - before
    assert cleared_events == len(paid) - 3 + 1  # one PaymentCleared per match, plus the settlement itself
    again = import_settlement(app, "CBS", HEADER + "\n".join(lines) + "\n")
    assert again["created"] is False and app.recorder.max_notification_id() - before == cleared_events


def test_a_file_with_the_wrong_header_is_refused_whole():
    with pytest.raises(InvalidInput):
        parse_settlement_file("ref,date,amount\nX,2026-01-01,1.00\n")
