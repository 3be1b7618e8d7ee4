"""Races: many writers at once on one subscriber, and the invariants still hold.

On PostgreSQL the writers are separate processes (spawned, each with its own `LedgerApplication` on the same fresh
database), as API and projection workers are in production; on a SQLite file they are threads, each with its own
application. Every racer waits at a barrier after building its application, so they really do collide.

Payments race on one bill: some send the same reference with the same content, some the same reference with other
content (one of them for another subscriber), some other references whose sum exceeds the bill. Whatever the
interleaving: one PaymentReceived per reference in the whole store, every sender of the applied content gets the same
answer, the bill is never paid beyond its amount, and what was accepted adds up to what the ledger says is paid.
Settlements race too: each payment is cleared once, and each settlement reference gives one report. Billing races:
one BillIssued per cycle, and two billing runs at once (or a run killed midway and started again) bill every
subscriber exactly once.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ledger import LedgerApplication
from ledger.errors import LedgerError
from ledger.subscriber import Subscriber, subscriber_id
from tests.conftest import create_pg_database

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
READ_AT = datetime(2026, 2, 20, 9, tzinfo=UTC)
PAID_AT = datetime(2026, 3, 1, 10, tzinfo=UTC)
RACERS = 10
RUN_SUBSCRIBERS = 40

Call = tuple[str, tuple[Any, ...]]
Outcome = tuple[Any, ...]
Runner = Callable[[str, list[Call]], list[Outcome]]


def fixed_now() -> datetime:
    return NOW


def open_ledger(url: str) -> LedgerApplication:
    return LedgerApplication(env={"LEDGER_DATABASE_URL": url}, clock=fixed_now)


def outcome(app: LedgerApplication, command: str, args: tuple[Any, ...]) -> Outcome:
    """("ok", result) or ("refused", error class name, detail): plain values that cross a process boundary."""
    try:
        return ("ok", getattr(app, command)(*args))
    except LedgerError as error:
        return ("refused", type(error).__name__, error.detail)


# -- racing in processes (PostgreSQL) ------------------------------------------------------------------------------

_process_apps: dict[str, LedgerApplication] = {}


def race_in_process(url: str, barrier: Any, command: str, args: tuple[Any, ...]) -> Outcome:
    """Runs in a pool process: one application per database, kept for the next race."""
    app = _process_apps.get(url)
    if app is None:
        app = _process_apps[url] = open_ledger(url)
    barrier.wait(timeout=120)
    return outcome(app, command, args)


@pytest.fixture(scope="module")
def process_runner() -> Iterator[Runner]:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(RACERS) as pool:

        def run(url: str, calls: list[Call]) -> list[Outcome]:
            assert len(calls) <= RACERS
            barrier = manager.Barrier(len(calls))
            return pool.starmap(
                race_in_process, [(url, barrier, command, args) for command, args in calls], chunksize=1
            )

        yield run


@pytest.fixture(scope="module")
def shared_pg_url() -> Iterator[str]:
    url, drop = create_pg_database()
    try:
        yield url
    finally:
        drop()


# -- racing in threads (SQLite file) -------------------------------------------------------------------------------


def thread_runner(url: str, calls: list[Call]) -> list[Outcome]:
    barrier = threading.Barrier(len(calls))

    def race(call: Call) -> Outcome:
        app = open_ledger(url)
        try:
            barrier.wait(timeout=120)
            return outcome(app, *call)
        finally:
            app.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as executor:
        return list(executor.map(race, calls))


# -- the scenarios, whatever the runner ----------------------------------------------------------------------------


def billed_subscriber(app: LedgerApplication, no: str) -> dict[str, Any]:
    """A Damascus subscriber enrolled with CBS, with a 400 kWh bill of 3200.00 for 2026-C1."""
    app.register_subscriber(no, "SY-DI", "residential", f"M-{no}", 1000, f"Subscriber {no}")
    app.enrol(no, "CBS", "****4321")
    app.submit_reading(no, 1400, READ_AT, "reader")
    return app.issue_bill(no, "2026-C1")


def events_of(app: LedgerApplication, no: str, event_class: type) -> list[Any]:
    return [e for e in app.events.get(subscriber_id(no)) if isinstance(e, event_class)]


def race_payments(app: LedgerApplication, url: str, run: Runner, no: str) -> None:
    bills = {sub: billed_subscriber(app, sub) for sub in (no, f"{no}-OTHER")}

    def paying(sub: str, ref: str, amount: str, channel: str = "web") -> tuple[Any, ...]:
        return ("CBS", ref, sub, bills[sub]["bill_id"], amount, channel, PAID_AT)

    same = f"{no}-SAME"
    contents = {
        "same": paying(no, same, "1000.00"),
        "more": paying(no, same, "1500.00"),
        "channel": paying(no, same, "1000.00", "app"),
        "elsewhere": paying(f"{no}-OTHER", same, "1000.00"),
        **{f"d{n}": paying(no, f"{no}-D{n}", "900.00") for n in range(4)},
    }
    senders = ["same", "same", "same", "more", "channel", "elsewhere", "d0", "d1", "d2", "d3"]
    outcomes = run(url, [("receive_payment", contents[name]) for name in senders])

    stored = [(sub, e) for sub in bills for e in events_of(app, sub, Subscriber.PaymentReceived)]
    counted = Counter(e.payment_key for _, e in stored)
    assert all(n == 1 for n in counted.values()), f"a payment reference was applied twice: {counted}"
    refusals = {o[1] for o in outcomes if o[0] == "refused"}
    assert refusals <= {"PaymentRefConflict", "Overpayment"}, outcomes
    assert "Overpayment" in refusals, "over 3,600.00 asked of a 3,200.00 bill must be refused somewhere"

    for key in {f"CBS:{contents[name][1]}" for name in senders}:
        mine = [(n, o) for n, o in zip(senders, outcomes, strict=True) if f"CBS:{contents[n][1]}" == key]
        applied = [(sub, e) for sub, e in stored if e.payment_key == key]
        if not applied:
            assert all(o[:2] == ("refused", "Overpayment") for _, o in mine), mine
            continue
        [(sub, event)] = applied
        won = [(n, o) for n, o in mine if content_of(contents[n]) == (sub, event.amount, event.channel)]
        answers = [o[1] for _, o in won]
        assert won and all(o[0] == "ok" for _, o in won), f"every sender of the applied content is answered: {mine}"
        assert all(payment == answers[0][0] for payment, _ in answers), "same content, same payment back"
        assert sorted(created for _, created in answers) == [False] * (len(answers) - 1) + [True]
        assert all(o[0] == "refused" for n, o in mine if (n, o) not in won), mine

    for sub, bill in bills.items():
        paid = app.bill(sub, bill["bill_id"])["paid"]
        accepted = [o[1][0]["amount"] for o in outcomes if o[0] == "ok" and o[1][1] and o[1][0]["subscriber_no"] == sub]
        applied_amounts = [e.amount for owner, e in stored if owner == sub]
        assert paid == sum(applied_amounts, Decimal(0)) == sum(accepted, Decimal(0)) <= bill["amount"]


def content_of(payment: tuple[Any, ...]) -> tuple[str, Decimal, str]:
    """What decides whether two payments under one reference are the same: subscriber, amount and channel here."""
    _bank, _ref, subscriber_no, _bill, amount, channel, _paid_at = payment
    return subscriber_no, Decimal(amount), channel


def race_settlements(app: LedgerApplication, url: str, run: Runner, no: str) -> None:
    bill = billed_subscriber(app, no)
    refs = [f"{no}-T{n}" for n in range(3)]
    for ref in refs:
        app.receive_payment("CBS", ref, no, bill["bill_id"], "500.00", "web", PAID_AT)
    day = PAID_AT.date()
    whole = ("CBS", f"{no}-SA", day, refs, "1500.00")
    calls = [("settle", whole)] * 5 + [("settle", ("CBS", f"{no}-SB", day, refs, "1500.00"))] * 2
    calls.append(("settle", ("CBS", f"{no}-SA", day, refs[:1], "500.00")))
    outcomes = run(url, calls)

    cleared = Counter(e.payment_key for e in events_of(app, no, Subscriber.PaymentCleared))
    assert cleared == Counter({f"CBS:{ref}": 1 for ref in refs}), f"a payment was cleared twice: {cleared}"
    by_ref: dict[str, list[tuple[Call, Outcome]]] = {}
    for call, result in zip(calls, outcomes, strict=True):
        by_ref.setdefault(call[1][1], []).append((call, result))
    for settlement_ref, sent in by_ref.items():
        ok = [result[1] for _, result in sent if result[0] == "ok"]
        assert ok, f"nobody's settlement {settlement_ref} was taken: {sent}"
        assert all(report == ok[0][0] for report, _ in ok), "one settlement, one report"
        assert sorted(created for _, created in ok) == [False] * (len(ok) - 1) + [True]
        assert all(r[:2] == ("refused", "SettlementRefConflict") for _, r in sent if r[0] != "ok"), sent
    matched = [
        (ref, report["settlement_ref"])
        for result in outcomes
        if result[0] == "ok" and result[1][1]
        for report in [result[1][0]]
        for ref in report["matched"]
    ]
    assert sorted(ref for ref, _ in matched) == refs, "each payment is matched by exactly one settlement"
    for ref, settlement_ref in matched:
        shown = app.payment("CBS", ref)
        assert (shown["status"], shown["settlement_ref"]) == ("cleared", settlement_ref)


def race_bills(app: LedgerApplication, url: str, run: Runner, no: str) -> None:
    app.register_subscriber(no, "SY-DI", "residential", f"M-{no}", 1000, f"Subscriber {no}")
    app.submit_reading(no, 1400, READ_AT, "reader")
    outcomes = run(url, [("issue_bill", (no, "2026-C1"))] * 8)
    assert [o[0] for o in outcomes].count("ok") == 1, outcomes
    assert {o[1] for o in outcomes if o[0] == "refused"} == {"BillAlreadyIssued"}
    issued = events_of(app, no, Subscriber.BillIssued)
    assert [e.cycle for e in issued] == ["2026-C1"]
    assert [o[1] for o in outcomes if o[0] == "ok"] == app.bills(no)


def due_subscribers(app: LedgerApplication, prefix: str, governorate: str) -> list[str]:
    numbers = [f"{prefix}-{n}" for n in range(RUN_SUBSCRIBERS)]
    for no in numbers:
        app.register_subscriber(no, governorate, "residential", f"M-{no}", 1000, f"Subscriber {no}")
        app.submit_reading(no, 1400, READ_AT, "reader")
    return numbers


def assert_billed_once(app: LedgerApplication, numbers: list[str], cycle: str) -> None:
    for no in numbers:
        assert [e.cycle for e in events_of(app, no, Subscriber.BillIssued)] == [cycle], no


def race_billing_runs(app: LedgerApplication, url: str, run: Runner, prefix: str, governorate: str) -> None:
    numbers = due_subscribers(app, prefix, governorate)
    outcomes = run(url, [("billing_run", ("2026-C1", governorate))] * 2)
    reports = [o[1] for o in outcomes]
    assert all(o[0] == "ok" for o in outcomes), outcomes
    assert sum(r["issued"] for r in reports) == len(numbers)
    assert sum(r["already_billed"] for r in reports) == len(numbers)
    assert all(r["refused"] == [] and r["no_new_reading"] == 0 for r in reports)
    assert_billed_once(app, numbers, "2026-C1")


# -- PostgreSQL, processes -----------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.slow
def test_racing_processes_apply_each_payment_once_and_never_overpay(shared_pg_url, process_runner):
    app = open_ledger(shared_pg_url)
    try:
        for round_ in range(3):
            race_payments(app, shared_pg_url, process_runner, f"PAY-{round_}")
    finally:
        app.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_racing_processes_clear_each_payment_once_and_answer_one_report_per_settlement(shared_pg_url, process_runner):
    app = open_ledger(shared_pg_url)
    try:
        race_settlements(app, shared_pg_url, process_runner, "SETTLE-1")
    finally:
        app.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_racing_processes_issue_one_bill_per_cycle(shared_pg_url, process_runner):
    app = open_ledger(shared_pg_url)
    try:
        race_bills(app, shared_pg_url, process_runner, "BILL-1")
    finally:
        app.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_two_billing_runs_at_once_bill_every_subscriber_once(shared_pg_url, process_runner):
    app = open_ledger(shared_pg_url)
    try:
        race_billing_runs(app, shared_pg_url, process_runner, "RUN", "SY-HM")
    finally:
        app.close()


def run_billing_in_process(url: str, governorate: str) -> None:
    open_ledger(url).billing_run("2026-C1", governorate)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_billing_run_killed_midway_and_started_again_bills_everyone_once(shared_pg_url):
    app = open_ledger(shared_pg_url)
    try:
        numbers = due_subscribers(app, "KILL", "SY-HI")
        start = app.recorder.max_notification_id()
        runner = multiprocessing.get_context("spawn").Process(
            target=run_billing_in_process, args=(shared_pg_url, "SY-HI")
        )
        runner.start()
        deadline = time.monotonic() + 60
        while app.recorder.max_notification_id() == start and runner.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        runner.kill()
        runner.join()
        billed_before = sum(bool(events_of(app, no, Subscriber.BillIssued)) for no in numbers)
        assert billed_before >= 1, "the first run was killed before it billed anyone"
        report = app.billing_run("2026-C1", "SY-HI")
        assert report["issued"] == len(numbers) - billed_before
        assert report["already_billed"] == billed_before
        assert_billed_once(app, numbers, "2026-C1")
    finally:
        app.close()


# -- SQLite file, threads ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_racing_threads_on_sqlite_apply_each_payment_once_and_never_overpay(sqlite_url):
    app = open_ledger(sqlite_url)
    try:
        for round_ in range(3):
            race_payments(app, sqlite_url, thread_runner, f"PAY-{round_}")
    finally:
        app.close()


@pytest.mark.slow
def test_racing_threads_on_sqlite_clear_each_payment_once_and_answer_one_report_per_settlement(sqlite_url):
    app = open_ledger(sqlite_url)
    try:
        race_settlements(app, sqlite_url, thread_runner, "SETTLE-1")
    finally:
        app.close()


@pytest.mark.slow
def test_racing_threads_on_sqlite_issue_one_bill_per_cycle(sqlite_url):
    app = open_ledger(sqlite_url)
    try:
        race_bills(app, sqlite_url, thread_runner, "BILL-1")
    finally:
        app.close()


@pytest.mark.slow
def test_two_billing_runs_at_once_on_sqlite_bill_every_subscriber_once(sqlite_url):
    app = open_ledger(sqlite_url)
    try:
        race_billing_runs(app, sqlite_url, thread_runner, "RUN", "SY-HM")
    finally:
        app.close()
