"""Payments over HTTP: `ledger serve` (gunicorn, two workers) on loopback, client threads posting payments.

Reports payments per second and latency percentiles in milliseconds. Only 127.0.0.1 is ever contacted. The client
shares the machine's cores with the server and the database, so it is kept light: the standard library's
`http.client` (about a third of the CPU per request of `requests`), one new connection per request as gunicorn's
sync workers close each one.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from benchmarks.databases import Scratch
from benchmarks.ledger_scenarios import ledger_app, seed_subscribers

TOKENS = "bench-cbs=bank:CBS,bench-staff=staff"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(db: Scratch) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    command = [str(Path(sys.executable).with_name("ledger")), "serve", "--port", str(port), "--workers", "2"]
    env = {**os.environ, "LEDGER_DATABASE_URL": db.url, "LEDGER_TOKENS": TOKENS}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not come up within 60 s")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def http_payments(db: Scratch, count: int, clients: int = 4) -> dict[str, float]:
    app = ledger_app(db)
    numbers = seed_subscribers(app, 100, "H")
    bills = [(no, app.issue_bill(no, "2026-C5")["bill_id"]) for no in numbers]
    app.close()
    process, base = _start(db)
    port = int(base.rsplit(":", 1)[1])
    headers = {"Authorization": "Bearer bench-cbs", "Content-Type": "application/json"}

    def pay(n: int) -> float:
        no, bill_id = bills[n % len(bills)]
        body = {
            "payment_ref": f"H{n}",
            "subscriber_no": no,
            "bill_id": bill_id,
            "amount": "1.00",
            "channel": "web",
            "paid_at": "2026-10-25T08:00:00Z",
        }
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("POST", "/v1/payments", body=json.dumps(body), headers=headers)
            answer = connection.getresponse()
            text = answer.read()
        finally:
            connection.close()
        assert answer.status == 201, text
        return (time.perf_counter() - started) * 1000

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            latencies = list(pool.map(pay, range(count)))
        rate = count / (time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"rate": rate, "p50_ms": percentile(latencies, 0.50), "p99_ms": percentile(latencies, 0.99)}
