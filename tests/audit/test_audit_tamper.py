"""Invariant 6: any stored event altered, removed, inserted or reordered is detected and its position named.

Each test seals a small ledger into several checkpoints, edits the event table directly (SQLite through sqlite3,
PostgreSQL through psycopg2, both via SQLAlchemy), and runs `verify`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from ledger.audit import current_digest, seal, verify
from ledger.history import history

SEGMENT = 7  # small checkpoints, so every test crosses several of them


def position_of(app, subscriber_no: str, kind: str, **data: str) -> int:
    for item in history(app, subscriber_no, limit=1000)["items"]:
        if item["type"] == kind and all(item["data"].get(k) == v for k, v in data.items()):
            return item["position"]
    raise AssertionError(f"no {kind} {data} for {subscriber_no}")


def faults_at(report) -> set[tuple[int, str]]:
    return {(f["position"], f["kind"]) for f in report["faults"]}


def test_an_untouched_ledger_verifies_with_its_own_digest(ledger):
    seal(ledger, SEGMENT)
    digest = current_digest(ledger)
    report = verify(ledger, digest=f"{digest['digest']}@{digest['position']}")
    assert report["ok"], report["faults"]
    assert report["events"] == ledger.recorder.max_notification_id() == report["position"] == digest["position"]
    assert report["digest"] == digest["digest"] and report["anchor"]["ok"] is True
    assert report["checkpoints"] > 3 and report["unsealed_events"] == 0
    assert report["invariants"]["subscribers"] == 2 and report["invariants"]["payments"] == 3


def test_an_altered_byte_is_named_by_position(ledger, tamper):
    seal(ledger, SEGMENT)
    position = position_of(ledger, "DI-1", "PaymentReceived", payment_ref="TX1")
    tamper.flip_byte(position, b'"1000.00"', b'"1900.00"')
    report = verify(ledger)
    assert not report["ok"]
    assert report["first_bad_position"] == position
    assert (position, "altered") in faults_at(report)


def test_a_row_deleted_in_the_middle_is_named(ledger, tamper):
    seal(ledger, SEGMENT)
    position = position_of(ledger, "DI-2", "BillIssued")
    tamper.delete(position)
    report = verify(ledger)
    assert not report["ok"] and report["first_bad_position"] == position
    assert (report["faults"][0]["position"], report["faults"][0]["kind"]) == (position, "missing")
    assert "version_gap" in {f["kind"] for f in report["faults"]}  # the invariant pass sees DI-2's stream break


def test_the_last_row_deleted_is_detected_even_after_new_events(ledger, tamper):
    seal(ledger, SEGMENT)
    last = ledger.recorder.max_notification_id()
    tamper.delete(last)
    report = verify(ledger)
    assert not report["ok"] and (last, "missing") in faults_at(report)
    ledger.submit_reading("DI-2", 1500, datetime(2026, 4, 20, tzinfo=UTC), "reader")
    seal(ledger, SEGMENT)
    report = verify(ledger)
    assert not report["ok"] and report["first_bad_position"] == last


def test_two_swapped_rows_are_both_named(ledger, tamper):
    seal(ledger, SEGMENT)
    first = position_of(ledger, "DI-1", "PaymentReceived", payment_ref="TX1")
    second = position_of(ledger, "DI-2", "PaymentReceived", payment_ref="TX2")
    tamper.swap(first, second)
    report = verify(ledger)
    assert not report["ok"] and report["first_bad_position"] == first
    assert {(first, "reordered"), (second, "reordered")} <= faults_at(report)


def _gap(ledger, tamper, database_url) -> int:
    """A free position below the newest event, as a rolled-back insert leaves on PostgreSQL."""
    if database_url.startswith("postgresql"):
        with tamper.engine.connect() as conn:
            gap = conn.execute(text("SELECT nextval(pg_get_serial_sequence('ledger_events', 'id'))")).scalar()
    else:
        gap = ledger.recorder.max_notification_id() + 1
        tamper.insert(gap, b"\0" * 16, 1, "rolled:Back", b"{}")
    ledger.submit_reading("DI-2", 1500, datetime(2026, 4, 20, tzinfo=UTC), "reader")
    tamper.delete(gap)
    return gap


def test_a_forged_row_inserted_into_a_gap_is_named(ledger, tamper, database_url):
    gap = _gap(ledger, tamper, database_url)
    seal(ledger, SEGMENT)
    assert verify(ledger)["ok"], "a gap alone is not tampering"
    real = tamper.row(position_of(ledger, "DI-1", "PaymentReceived", payment_ref="TX1"))
    version = ledger.load_subscriber("DI-1").version + 1
    tamper.insert(gap, real.originator_id, version, real.topic, bytes(real.state))
    report = verify(ledger)
    assert not report["ok"] and report["first_bad_position"] == gap
    assert (gap, "inserted") in faults_at(report)


def test_a_forged_payment_after_the_last_seal_breaks_the_invariants(ledger, tamper):
    seal(ledger, SEGMENT)
    real = tamper.row(position_of(ledger, "DI-1", "PaymentReceived", payment_ref="TX1"))
    forged = ledger.recorder.max_notification_id() + 1
    version = ledger.load_subscriber("DI-1").version + 1
    tamper.insert(forged, real.originator_id, version, real.topic, bytes(real.state))
    report = verify(ledger)
    assert report["unsealed_events"] == 1
    assert not report["ok"] and (forged, "double_payment") in faults_at(report)


def test_a_rewritten_checkpoint_is_detected(ledger, tamper):
    seal(ledger, SEGMENT)
    with tamper.engine.begin() as conn:
        position = conn.execute(text("SELECT min(position) FROM ledger_audit_digests")).scalar()
        conn.execute(
            text("UPDATE ledger_audit_digests SET digest = :d WHERE position = :p"), {"d": "ab" * 32, "p": position}
        )
    report = verify(ledger)
    assert not report["ok"] and faults_at(report) == {(position, "checkpoint")}


def test_the_auditors_digest_catches_what_a_rewritten_store_hides(ledger, tamper):
    kept = current_digest(ledger)
    position = position_of(ledger, "DI-1", "BillAdjusted")
    tamper.flip_byte(position, b'"-100.00"', b'"-900.00"')
    tamper.run("DELETE FROM ledger_audit_digests")  # the attacker also drops every checkpoint
    assert verify(ledger)["ok"], "without an outside digest the rewrite is invisible"
    report = verify(ledger, digest=f"{kept['digest']}@{kept['position']}")
    assert not report["ok"] and report["anchor"]["ok"] is False
    assert (kept["position"], "anchor") in faults_at(report)


@pytest.mark.parametrize("offset", [0, 1])
def test_a_supplied_digest_that_does_not_match_fails(ledger, offset):
    kept = current_digest(ledger)
    wrong = f"{'0' * 64}@{kept['position']}" if offset == 0 else f"{kept['digest']}@{kept['position'] + 99}"
    report = verify(ledger, digest=wrong)
    assert not report["ok"] and report["faults"][0]["kind"] == "anchor"
