"""Payments over HTTP: `ledger serve` (gunicorn, two workers) on loopback, client threads posting payments.

Reports payments per second and latency percentiles in milliseconds. Only 127.0.0.1 is ever contacted. The client
shares the machine's two cores with the server and the database, so it is kept as light as a load generator can be
in Python: each request is one HTTP/1.1 message written to a fresh socket (gunicorn's sync workers close each
connection) and the answer read to its end, its status line checked. `http.client` parsed every answer's headers
with the `email` package and cost the server a fifth of the machine.

The client half-closes its socket once the request is written. After answering, a sync worker lingers until the
client closes (RFC 9112's graceful close), and a client thread waiting its turn for the interpreter kept a worker
idle for about a tenth of the run. A proxy in front of gunicorn, which gunicorn's deployment guide asks for, reads
each answer at once as well.
"""

from __future__ import annotations

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
# Payments sent before the clock starts: each worker's first requests open its connections and load subscribers it
# has not seen yet (60-100 ms each here), which is start-up, not the rate or latency at peak.
WARM_UP = 100


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
        answer = exchange(port, "/v1/payments", json.dumps(body).encode(), "bench-cbs")
        assert answer.startswith(b"HTTP/1.1 201 "), answer
        return (time.perf_counter() - started) * 1000

    try:
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(pay, range(count, count + WARM_UP)))
            started = time.perf_counter()
            latencies = list(pool.map(pay, range(count)))
        rate = count / (time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"rate": rate, "p50_ms": percentile(latencies, 0.50), "p99_ms": percentile(latencies, 0.99)}


def exchange(port: int, path: str, body: bytes, token: str) -> bytes:
    """POST `body` as JSON to 127.0.0.1:`port` and return the whole answer, status line, headers and body."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)  # nothing more to send: the worker need not wait for this thread to close
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
