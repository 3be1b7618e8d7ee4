"""`ledger replay` and `ledger verify` (and `ledger digest`) through click's CliRunner, on a seeded SQLite file."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from api.audit_cli import digest, replay, verify
from ledger.audit import seal
from ledger.history import history
from tests.audit.audit_world import Tamperer, seed


@pytest.fixture
def url(sqlite_url, make_ledger) -> str:
    app = make_ledger(sqlite_url)
    seed(app)
    seal(app)
    return sqlite_url


@pytest.fixture
def run(url):
    runner = CliRunner(env={"LEDGER_DATABASE_URL": url})
    return lambda command, *args: runner.invoke(command, list(args))


def test_replay_prints_the_statement_now_and_as_it_stood(run, make_ledger, url):
    now = run(replay, "DI-1")
    assert now.exit_code == 0, now.output
    assert "DI-1-2026-C1" in now.stdout and "TX3" in now.stdout and "reversed" in now.stdout
    assert "2100.00" in now.stdout and "Balance in SYP" in now.stdout
    items = history(make_ledger(url), "DI-1")["items"]
    bill_position = next(i["position"] for i in items if i["type"] == "BillIssued")
    then = run(replay, "DI-1", "--as-of-position", str(bill_position))
    assert then.exit_code == 0, then.output
    assert "TX1" not in then.stdout and "3200.00" in then.stdout


def test_replay_refuses_a_time_before_registration_and_both_options(run):
    early = run(replay, "DI-1", "--as-of", "2001-01-01")
    assert early.exit_code == 1 and "not registered yet" in early.output
    both = run(replay, "DI-1", "--as-of", "2026-03-01", "--as-of-position", "3")
    assert both.exit_code == 2
    unknown = run(replay, "NOPE")
    assert unknown.exit_code == 1 and "no subscriber NOPE" in unknown.output


def test_verify_passes_on_an_untouched_ledger_and_checks_a_kept_digest(run):
    kept = run(digest)
    assert kept.exit_code == 0 and "@" in kept.stdout
    result = run(verify, "--digest", kept.stdout.strip())
    assert result.exit_code == 0, result.output
    assert "Verification OK" in result.stdout and "matches" in result.stdout
    report = json.loads(run(verify, "--json", "--no-progress").stdout)
    assert report["ok"] and report["faults"] == []


def test_verify_exits_non_zero_and_names_the_position_of_a_fault(run, url):
    tamper = Tamperer(url)
    try:
        tamper.delete(20)
    finally:
        tamper.close()
    result = run(verify)
    assert result.exit_code == 1
    assert "FAILED" in result.stdout and "first bad position: 20" in result.stdout


def test_verify_refuses_a_malformed_digest(run):
    result = run(verify, "--digest", "not-a-digest")
    assert result.exit_code == 2 and "--digest" in result.output
