"""The `ledger` command: bill-run, demo seeding, and the serve banner (gunicorn itself runs in tests/e2e)."""

from __future__ import annotations

import importlib
import json
import re
from collections import Counter
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from api.cli import banner, main
from api.demo import Plan, demo_ledger, first_subscriber, recent_cycles, seed, seed_chunks
from api.demo_parts import seed_in_processes
from ledger import LedgerApplication
from tests.conftest import create_pg_database


def run(url: str, *args: str):
    return CliRunner().invoke(main, list(args), env={"LEDGER_DATABASE_URL": url}, catch_exceptions=False)


def test_bill_run_bills_the_due_and_prints_its_report_as_json(sqlite_url):
    app = LedgerApplication(env={"LEDGER_DATABASE_URL": sqlite_url})
    app.register_subscriber("DI-1", "SY-DI", "residential", "M1", 1000, "Ahmad")
    app.register_subscriber("DI-2", "SY-DI", "residential", "M2", 1000, "Lina")
    app.submit_reading("DI-1", 1400, datetime(2026, 10, 28, tzinfo=UTC), "reader")
    app.close()
    result = run(sqlite_url, "bill-run", "--cycle", "2026-C5", "--governorate", "SY-DI")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # the progress bar goes to stderr
    assert (report["issued"], report["no_new_reading"]) == (1, 1)
    again = json.loads(run(sqlite_url, "bill-run", "--cycle", "2026-C5").stdout)
    assert (again["issued"], again["already_billed"]) == (0, 1)


def test_bill_run_refuses_a_bad_cycle_with_a_message(sqlite_url):
    result = CliRunner().invoke(main, ["bill-run", "--cycle", "soon"], env={"LEDGER_DATABASE_URL": sqlite_url})
    assert result.exit_code == 1 and "not a billing cycle" in result.output


def test_the_demo_seeds_a_realistic_ledger_once(sqlite_url):
    result = run(sqlite_url, "demo", "--subscribers", "60", "--cycles", "2", "--seed", "3")
    assert result.exit_code == 0 and "Seeded 60 subscribers, 120 bills" in result.stdout
    assert "already there" in run(sqlite_url, "demo", "--subscribers", "60").stdout
    app = LedgerApplication(env={"LEDGER_DATABASE_URL": sqlite_url})
    try:
        statuses = Counter(b["status"] for no in _subscribers(app) for b in app.bills(no))
        assert statuses["paid"] and statuses["unpaid"]
        overdue = [app.subscriber(no)["balance"]["overdue"] for no in _subscribers(app)]
        assert any(amount > 0 for amount in overdue)  # arrears exist
    finally:
        app.close()


def test_the_demo_pays_through_every_bank_and_channel_and_settles_most_payments(sqlite_url):
    app = demo_ledger(sqlite_url)
    try:
        seeded = seed(app, subscribers=150, cycles=3, seed=5, progress=False)
        assert seeded is not None and seeded.settlements and seeded.payments > 150
        keys = [key for no in _subscribers(app) for key in app.load_subscriber(no).payments]
        payments = [app.payment(*key.split(":", 1)) for key in keys]
        assert len(payments) == seeded.payments
        assert {p["bank"] for p in payments} == {"CBS", "REB", "HUB"}
        assert {p["channel"] for p in payments} == {"web", "app", "branch", "hub"}
        statuses = Counter(p["status"] for p in payments)
        assert statuses["cleared"] > statuses["received"] > 0
        categories = {app.subscriber(no)["category"] for no in _subscribers(app)}
        assert {"residential", "commercial"} <= categories
    finally:
        app.close()


@pytest.mark.postgres
def test_seeding_in_two_processes_records_what_one_process_records(pg_url):
    single_url, drop = create_pg_database()
    apps = [demo_ledger(pg_url), demo_ledger(single_url)]
    try:
        plan = Plan.of(apps[0], subscribers=1200, cycles=2, seed=4)  # two chunks: one per process
        progress: list[int] = []
        parts = seed_in_processes(apps[0], plan, 2, progress.append)
        single = seed_chunks(apps[1], plan, plan.chunks, lambda done: None)
        assert parts.counts() == single.counts() and parts.subscribers == sum(progress) == 1200
        assert parts.payments > 1000 and parts.settlements > 0
        assert _recorded(apps[0]) == _recorded(apps[1])
    finally:
        for app in apps:
            app.close()
        drop()


def _recorded(app: LedgerApplication) -> list[tuple[str, str]]:
    """Every stored event by aggregate and version, with the instants the clock gave at recording masked."""
    instant = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00")
    query = "SELECT topic, state FROM ledger_events ORDER BY originator_id, originator_version"
    with app.recorder.datastore.engine.connect() as conn:
        return [(topic, instant.sub("NOW", bytes(state).decode())) for topic, state in conn.execute(text(query))]


def test_demo_cycles_are_the_last_completed_ones():
    today = datetime(2026, 11, 25, tzinfo=UTC).date()
    assert [c.name for c in recent_cycles(today, 3)] == ["2026-C3", "2026-C4", "2026-C5"]
    assert [c.name for c in recent_cycles(today, 7)][0] == "2025-C5"  # straddles the redenomination


def test_the_banner_names_a_subscriber_the_demo_seeded(sqlite_url, monkeypatch):
    monkeypatch.setenv("LEDGER_TOKENS", "s-demo=staff")
    app = demo_ledger(sqlite_url)
    try:
        assert first_subscriber(app) is None
        seed(app, subscribers=30, cycles=1, seed=9, progress=False)
        number = first_subscriber(app)
        assert number is not None and len(app.bills(number)) == 1
    finally:
        app.close()
    text = banner("127.0.0.1", 8123, number)
    assert f"curl -s -H 'Authorization: Bearer s-demo' http://127.0.0.1:8123/v1/subscribers/{number}/bills" in text
    assert "/v1/subscribers/" not in banner("127.0.0.1", 8123)  # nothing seeded: no subscriber to show


def test_the_serve_banner_shows_the_demo_tokens_and_a_first_curl(monkeypatch):
    monkeypatch.setenv("LEDGER_TOKENS", "s-demo=staff,c-demo=bank:CBS")
    text = banner("127.0.0.1", 8123)
    assert "s-demo" in text and "bank:CBS" in text and "http://127.0.0.1:8123/docs" in text
    assert "curl -s -H 'Authorization: Bearer s-demo' http://127.0.0.1:8123/v1/governorates" in text


def test_the_wsgi_module_builds_the_app_from_the_environment(monkeypatch, sqlite_url):
    monkeypatch.setenv("LEDGER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LEDGER_TOKENS", "t=staff")
    import api.wsgi

    wsgi = importlib.reload(api.wsgi)
    try:
        answer = wsgi.app.test_client().get("/v1/governorates", headers={"Authorization": "Bearer t"})
        assert answer.status_code == 200
    finally:
        wsgi.app.extensions["ledger"].close()


def _subscribers(app: LedgerApplication) -> list[str]:
    from ledger.billing import registrations

    return [no for no, _ in registrations(app)]
