"""Clearing positions and breaks: what each bank owes per business date against what it settled."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from click.testing import CliRunner

from api.cli import main
from projections.clearing import clearing_positions
from projections.fresh import ReadSide

DAY1 = datetime(2026, 10, 21, 9, tzinfo=UTC)
DAY2 = datetime(2026, 10, 22, 9, tzinfo=UTC)


def _billed(app, no: str, bank: str = "CBS") -> str:
    app.register_subscriber(no, "SY-DI", "residential", f"M{no}", 0, "Subscriber")
    app.enrol(no, bank, "****0001")
    app.submit_reading(no, 400, datetime(2026, 10, 20, tzinfo=UTC), "reader")
    return app.issue_bill(no, "2026-C5")["bill_id"]


def test_an_unsettled_day_is_a_break_that_ages_and_a_settlement_resolves_it(database_url, make_ledger):
    app = make_ledger(database_url)
    bill = _billed(app, "DI-1")
    app.receive_payment("CBS", "T1", "DI-1", bill, "1000.00", "web", DAY1)
    app.receive_payment("CBS", "T2", "DI-1", bill, "500.00", "app", DAY2)
    side = ReadSide(app)
    side.ensure_fresh()
    today = date(2026, 10, 25)
    positions = clearing_positions(side.engine, today=today)
    by_day = {item["business_date"]: item for item in positions["items"]}
    assert by_day["2026-10-21"]["status"] == "break" and by_day["2026-10-21"]["age_days"] == 4
    assert positions["banks"]["CBS"]["breaks"] == 2 and positions["banks"]["CBS"]["difference"] == Decimal("1500.00")
    app.settle("CBS", "S-21", date(2026, 10, 21), ["T1"], "1000.00")
    app.settle("CBS", "S-22", date(2026, 10, 22), ["T2"], "400.00")
    side.ensure_fresh()
    positions = clearing_positions(side.engine, today=today)
    by_day = {item["business_date"]: item for item in positions["items"]}
    assert by_day["2026-10-21"]["status"] == "balanced" and by_day["2026-10-21"]["difference"] == Decimal("0.00")
    assert by_day["2026-10-22"]["difference"] == Decimal("100.00") and by_day["2026-10-22"]["status"] == "break"
    total_difference = sum(item["difference"] for item in positions["items"])
    assert total_difference == sum(b["difference"] for b in positions["banks"].values()) == Decimal("100.00")
    side.close()


def test_import_settlement_reports_bad_rows_and_missing_payments(sqlite_url, make_ledger, tmp_path, monkeypatch):
    app = make_ledger(sqlite_url)
    bill = _billed(app, "DI-1")
    app.receive_payment("CBS", "T1", "DI-1", bill, "1000.00", "web", DAY1)
    app.receive_payment("CBS", "T0", "DI-1", bill, "200.00", "web", datetime(2026, 10, 20, 9, tzinfo=UTC))
    file = tmp_path / "cbs.csv"
    file.write_text(
        "settlement_ref,business_date,payment_ref,amount\nS-21,2026-10-21,T1,1000.00\nS-21,2026-10-21,,5.00\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("LEDGER_DATABASE_URL", sqlite_url)
    result = CliRunner().invoke(main, ["import-settlement", str(file), "--bank", "CBS"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["matched"] == ["T1"] and report["bad_rows"][0]["line"] == 3
    assert [p["payment_ref"] for p in report["missing"]] == ["T0"]
    again = CliRunner().invoke(main, ["import-settlement", str(file), "--bank", "CBS"])
    assert json.loads(again.output)["created"] is False
