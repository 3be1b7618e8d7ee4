"""Crashes: the API server and a billing run are killed with SIGKILL at random points while working, then restarted.

Nothing is lost and nothing is done twice: the events in the store are counted and compared with a model of what
the clients were told (payments) or of who was due (billing). The random points come from a seeded generator; the
seed is printed so a failure can be replayed. (The projection runner's crash test lives with the projections.)
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from reliability_world import (
    CYCLE,
    LEDGER_COMMAND,
    ROOT,
    Server,
    claims,
    count_events,
    domain_events,
    fresh_tokens,
    payment_body,
    payment_events,
    seed,
    seed_billed,
    subscriber_numbers,
)

from ledger.subscriber import Subscriber

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
SEED = int(os.environ.get("RELIABILITY_SEED", time.time_ns() % 100_000))
CLIENTS = 4
ANSWERED = {200, 201}


def pay_until_answered(server: Server, session: requests.Session, body: dict[str, Any], deadline: float) -> list[int]:
    """A bank that keeps the key and the content and tries again until it gets an answer; returns every status."""
    statuses: list[int] = []
    while not statuses or statuses[-1] not in ANSWERED:
        assert time.monotonic() < deadline, f"{body['payment_ref']} unanswered: {statuses}"
        try:
            response = session.post(
                server.base + "/v1/payments", json=body, headers=server.headers("bank:CBS"), timeout=10
            )
            statuses.append(response.status_code)
        except requests.RequestException:
            statuses.append(0)  # the server is gone: connection refused or reset
        if statuses[-1] not in ANSWERED:
            time.sleep(0.1)
    return statuses


def banks(server: Server, numbers: list[str], stop: threading.Event) -> dict[str, list[int]]:
    """CLIENTS banks posting new payments until `stop`, each retried until answered; key -> statuses seen."""

    def client(n: int) -> dict[str, list[int]]:
        session, seen = requests.Session(), {}
        while not stop.is_set():
            ref = f"X{n}-{len(seen)}"
            body = payment_body(numbers[len(seen) % len(numbers)], ref, "0.25")
            seen[f"CBS:{ref}"] = pay_until_answered(server, session, body, time.monotonic() + 90)
        return seen

    with ThreadPoolExecutor(CLIENTS) as pool:
        parts = list(pool.map(client, range(CLIENTS)))
    return {key: statuses for part in parts for key, statuses in part.items()}


def test_a_server_killed_mid_payment_and_restarted_applies_each_retried_key_exactly_once(pg_url, tmp_path):
    rng = random.Random(SEED)
    print(f"\nRELIABILITY_SEED={SEED}")
    numbers = seed_billed(pg_url, 8)
    server = Server(pg_url, fresh_tokens(), tmp_path).start()
    stop = threading.Event()
    try:
        with ThreadPoolExecutor(1) as pool:
            load = pool.submit(banks, server, numbers, stop)
            for _ in range(2):
                time.sleep(rng.uniform(0.5, 2.0))
                server.kill()
                time.sleep(rng.uniform(0.0, 0.5))
                server.start()
            time.sleep(1.0)
            stop.set()
            seen = load.result()
    finally:
        stop.set()
        server.stop()
    lost_answers = sum(1 for statuses in seen.values() if statuses[-1] == 200 and 201 not in statuses)
    print(
        f"{len(seen)} keys, {sum(len(s) - 1 for s in seen.values())} retries, "
        f"{lost_answers} applied before a kill whose 201 never reached the bank (answered 200 on retry)"
    )
    assert all(statuses[-1] in ANSWERED for statuses in seen.values())
    assert all(statuses.count(201) <= 1 for statuses in seen.values())
    events = payment_events(pg_url)
    assert set(events) == set(seen) and set(events.values()) == {1}  # nothing lost, nothing twice
    assert claims(pg_url) == events
    assert not server.leaked_tokens()


def bill_run(url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "LEDGER_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    command = [LEDGER_COMMAND, "bill-run", "--cycle", CYCLE, "--governorate", "SY-DI"]
    return subprocess.Popen(command, env=env, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def kill_when_billed(url: str, process: subprocess.Popen[str], threshold: int) -> int:
    """SIGKILL the run once at least `threshold` bills are in the store; returns how many it left behind."""
    deadline = time.monotonic() + 60
    while count_events(url, Subscriber.BillIssued) < threshold:
        assert process.poll() is None, "the billing run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return count_events(url, Subscriber.BillIssued)


def test_a_billing_run_killed_twice_and_run_again_bills_every_due_subscriber_exactly_once(pg_url):
    rng = random.Random(SEED)
    print(f"\nRELIABILITY_SEED={SEED}")
    due = subscriber_numbers(1000, "DI-")
    not_due = subscriber_numbers(40, "DN-")  # registered here without a reading since: nothing to bill
    elsewhere = subscriber_numbers(40, "HL-")  # due, but in Aleppo: not this run's governorate
    seed(pg_url, due)
    seed(pg_url, not_due, read=False)
    seed(pg_url, elsewhere, governorate="SY-HL")

    first = kill_when_billed(pg_url, bill_run(pg_url), rng.randint(80, 400))
    second = kill_when_billed(pg_url, bill_run(pg_url), rng.randint(first + 80, 750))
    last = bill_run(pg_url)
    out, _ = last.communicate(timeout=120)
    assert last.returncode == 0
    report = json.loads(out)
    print(
        f"killed at {first} and {second} bills; the last run: {report['issued']} issued, "
        f"{report['already_billed']} already billed, {report['no_new_reading']} with nothing to bill"
    )

    bills = Counter(event.bill_id for event in domain_events(pg_url, Subscriber.BillIssued))
    assert set(bills.values()) == {1}
    assert set(bills) == {f"{no}-{CYCLE}" for no in due}
    assert report["issued"] + report["already_billed"] == len(due) and report["issued"] == len(due) - second
    assert report["no_new_reading"] == len(not_due) and report["refused"] == []
