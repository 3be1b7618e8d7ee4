"""End to end: real gunicorn (`ledger serve`, 2 workers) on PostgreSQL, with banks racing duplicate payments.

Whatever the interleaving across processes, each payment reference is applied once (exactly one 201, the other
answers 200 replays with the same body), and the bill is never paid beyond its amount.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests

from ledger import LedgerApplication
from tests.e2e.servers import serving

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
TOKENS = "e2e-staff=staff,e2e-cbs=bank:CBS"
BANK = {"Authorization": "Bearer e2e-cbs"}
STAFF = {"Authorization": "Bearer e2e-staff"}
BILL_ID = "DI-1-2026-C5"
THREADS = 16


@pytest.fixture
def server(pg_url):
    ledger = LedgerApplication(env={"LEDGER_DATABASE_URL": pg_url})
    ledger.register_subscriber("DI-1", "SY-DI", "residential", "M1", 1000, "Ahmad")
    ledger.enrol("DI-1", "CBS", "****4321")
    ledger.submit_reading("DI-1", 1400, datetime(2026, 10, 28, 9, tzinfo=UTC), "reader")
    ledger.issue_bill("DI-1", "2026-C5")  # 400 kWh: 3200.00
    ledger.close()
    with serving(pg_url, TOKENS) as base:
        yield base


def pay(base: str, ref: str, amount: str) -> tuple[str, int, dict]:
    body = {
        "payment_ref": ref,
        "subscriber_no": "DI-1",
        "bill_id": BILL_ID,
        "amount": amount,
        "channel": "app",
        "paid_at": "2026-11-20T10:00:00Z",
    }
    response = requests.post(base + "/v1/payments", json=body, headers=BANK, timeout=60)
    return ref, response.status_code, response.json()


def race(base: str, attempts: list[tuple[str, str]]) -> list[tuple[str, int, dict]]:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(lambda attempt: pay(base, *attempt), attempts))


def test_racing_duplicates_are_applied_once_and_never_overpay(server):
    answers = race(server, [(f"TX{n}", "800.00") for n in range(4) for _ in range(6)])
    created = Counter(ref for ref, status, _ in answers if status == 201)
    assert created == {f"TX{n}": 1 for n in range(4)}
    assert {status for _, status, _ in answers} == {200, 201}
    for ref in created:
        assert len({str(sorted(body.items())) for r, _, body in answers if r == ref}) == 1  # replays: same body
    bill = requests.get(f"{server}/v1/subscribers/DI-1/bills/{BILL_ID}", headers=STAFF, timeout=10).json()
    assert (bill["paid"], bill["outstanding"], bill["status"]) == ("3200.00", "0.00", "paid")

    late = race(server, [("TX-LATE", "0.01")] * 8)
    assert {status for _, status, _ in late} == {422}
    assert {body["rule"] for _, _, body in late} == {"overpayment"}

    metrics = requests.get(server + "/metrics", headers=STAFF, timeout=10).text
    assert 'ledger_payments_total{outcome="accepted"} 4.0' in metrics  # summed over both workers


def test_racing_different_content_under_one_reference_applies_exactly_one(server):
    answers = race(server, [("TX-C", f"{100 + n}.00") for n in range(8)] * 2)
    statuses = Counter(status for _, status, _ in answers)
    assert statuses[201] == 1 and set(statuses) <= {200, 201, 409}
    winner = next(body for _, status, body in answers if status == 201)
    bill = requests.get(f"{server}/v1/subscribers/DI-1/bills/{BILL_ID}", headers=STAFF, timeout=10).json()
    assert bill["paid"] == winner["amount"]
