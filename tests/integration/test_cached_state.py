"""Commands decide first on the state this process last saw, without reading the store (ledger/latest.py).

Two applications on one database stand for two server processes: each keeps its own copy of a subscriber. Whatever
the other process recorded meanwhile, a command must end exactly as if it had read the store first: a stale copy
may cost a retry, never a wrong answer, a lost event or a double payment.
"""

from __future__ import annotations

import copy
import sys
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledger.errors import Overpayment, UnknownBill
from ledger.latest import READ_FIRST_ABOVE
from ledger.subscriber import subscriber_id

READ_AT = datetime(2026, 2, 20, 9, tzinfo=UTC)
PAID_AT = datetime(2026, 3, 1, 10, tzinfo=UTC)


@pytest.fixture
def two_processes(database_url, make_ledger):
    first, second = make_ledger(database_url), make_ledger(database_url)
    first.register_subscriber("DI-1", "SY-DI", "residential", "M1", 1000, "Subscriber one")
    first.enrol("DI-1", "CBS", "****4321")
    first.submit_reading("DI-1", 1400, READ_AT, "reader")
    bill = first.issue_bill("DI-1", "2026-C1")  # 3200.00 SYP
    second.subscriber("DI-1")  # both processes have now seen the account with its bill
    return first, second, bill["bill_id"]


def pay(app, ref, bill_id, amount):
    return app.receive_payment("CBS", ref, "DI-1", bill_id, amount, "web", PAID_AT)


def test_a_payment_for_a_bill_issued_by_another_process_is_accepted(database_url, make_ledger):
    first, second = make_ledger(database_url), make_ledger(database_url)
    first.register_subscriber("DI-1", "SY-DI", "residential", "M1", 1000, "Subscriber one")
    first.enrol("DI-1", "CBS", "****4321")
    second.subscriber("DI-1")  # `second` has seen the account before it had any bill
    first.submit_reading("DI-1", 1400, READ_AT, "reader")
    bill_id = first.issue_bill("DI-1", "2026-C1")["bill_id"]
    payment, created = pay(second, "TX1", bill_id, "100.00")
    assert created and payment["bill_id"] == bill_id
    with pytest.raises(UnknownBill):  # and a bill that really does not exist is still refused
        pay(second, "TX2", "DI-1-2026-C2", "100.00")


def test_payments_through_two_processes_all_count_and_never_overpay(two_processes):
    first, second, bill_id = two_processes
    pay(first, "TX1", bill_id, "1000.00")
    pay(second, "TX2", bill_id, "1000.00")  # `second` still holds the account with nothing paid
    pay(first, "TX3", bill_id, "1000.00")
    with pytest.raises(Overpayment):  # 3000 of 3200 paid: `second`'s stale copy would allow 1000 more
        pay(second, "TX4", bill_id, "1000.00")
    for app in (first, second):
        bill = app.bill("DI-1", bill_id)
        assert (bill["paid"], bill["outstanding"]) == (Decimal("3000.00"), Decimal("200.00"))
    kinds = [type(e).__name__ for e in first.events.get(subscriber_id("DI-1"))]
    assert kinds.count("PaymentReceived") == 3
    # The lost races drew no notification ids: the log stays numbered 1, 2, 3, ... without a gap.
    ids = [n.id for n in first.recorder.select_notifications(start=1, limit=1000)]
    assert ids == list(range(1, len(ids) + 1))


def test_a_replay_through_the_other_process_is_recognised(two_processes):
    first, second, bill_id = two_processes
    original, created = pay(first, "TX1", bill_id, "1000.00")
    again, created_again = pay(second, "TX1", bill_id, "1000.00")
    assert created and not created_again and again == original
    kinds = [type(e).__name__ for e in second.events.get(subscriber_id("DI-1"))]
    assert kinds.count("PaymentReceived") == 1


def test_an_enrolment_changed_elsewhere_is_not_mistaken_for_a_repeat(two_processes):
    first, second, _ = two_processes
    first.enrol("DI-1", "CBS", "****9999")
    second.enrol("DI-1", "CBS", "****4321")  # `second` saw ****4321 already recorded: must record it again
    assert first.subscriber("DI-1")["enrolments"] == second.subscriber("DI-1")["enrolments"]
    refs = [e.account_ref for e in first.events.get(subscriber_id("DI-1")) if hasattr(e, "account_ref")]
    assert refs == ["****4321", "****9999", "****4321"]


def test_reads_always_see_what_the_other_process_recorded(two_processes):
    first, second, bill_id = two_processes
    pay(first, "TX1", bill_id, "1000.00")
    assert second.bill("DI-1", bill_id)["paid"] == Decimal("1000.00")


def test_the_fast_copy_of_a_subscriber_is_as_deep_as_deepcopy(two_processes):
    first, _, bill_id = two_processes
    pay(first, "TX1", bill_id, "1000.00")
    original = first.load_subscriber("DI-1")
    reference = copy.deepcopy(original.__dict__ | {})
    twin = copy.deepcopy(original)
    assert twin == original and twin is not original
    twin.bills[bill_id]["paid"] += Decimal("1")
    twin.meter["billed_kwh"] = -1
    twin.payments["CBS:TX1"].update(status="reversed")
    twin.readings.clear()
    assert original.__dict__ == reference


def test_the_cache_can_be_turned_off(database_url, make_ledger, monkeypatch):
    monkeypatch.setenv("LEDGER_AGGREGATE_CACHE", "0")
    app = make_ledger(database_url)
    assert app.subscribers.cache is None
    app.register_subscriber("DI-1", "SY-DI", "residential", "M1", 1000, "Subscriber one")
    app.enrol("DI-1", "CBS", "****4321")
    assert app.subscriber("DI-1")["enrolments"]


def test_a_process_often_behind_reads_first_and_stops_once_it_is_alone(two_processes):
    """Deciding on the kept state without a read pays only while that state is usually current (ledger/latest.py)."""
    first, second, bill_id = two_processes
    sub_id = subscriber_id("DI-1")
    for n in range(12):  # the processes take turns: each finds its kept state behind every time
        pay(first if n % 2 else second, f"TURN{n}", bill_id, "1.00")
    assert second.subscribers.stale_share > READ_FIRST_ABOVE
    sub, proven = second.subscribers.take(sub_id, proven=False)
    assert proven and sub.version == len(list(first.events.get(sub_id)))  # read first: nothing left behind
    second.subscribers.remember(sub)
    for n in range(80):  # `second` alone: every read finds nothing newer
        pay(second, f"ALONE{n}", bill_id, "1.00")
    assert second.subscribers.stale_share <= READ_FIRST_ABOVE
    _, proven = second.subscribers.take(sub_id, proven=False)
    assert not proven
    assert first.bill("DI-1", bill_id)["paid"] == Decimal("92.00")


def test_reads_never_see_a_state_a_command_is_changing(database_url, make_ledger):
    """A command changes the kept state in place once it has taken it; a read that found that state a moment before
    must still copy it whole, never half changed (ledger/latest.py)."""
    app = make_ledger(database_url)
    app.register_subscriber("DI-1", "SY-DI", "residential", "M1", 1000, "Subscriber one")
    app.enrol("DI-1", "CBS", "****4321")
    app.submit_reading("DI-1", 9000, READ_AT, "reader")
    bill_id = app.issue_bill("DI-1", "2026-C1")["bill_id"]
    torn: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            sub = app.load_subscriber("DI-1")
            received = sum(p["amount"] for p in sub.payments.values() if p["bill_id"] == bill_id)
            if received != sub.bills[bill_id]["paid"]:
                torn.append(f"{received} paid in payments, {sub.bills[bill_id]['paid']} on the bill")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, inside copies too
    readers = [threading.Thread(target=read) for _ in range(2)]
    try:
        for reader in readers:
            reader.start()
        for n in range(150):
            pay(app, f"TX{n}", bill_id, "1.00")
    finally:
        done.set()
        for reader in readers:
            reader.join()
        sys.setswitchinterval(interval)
    assert not torn, torn[:3]
