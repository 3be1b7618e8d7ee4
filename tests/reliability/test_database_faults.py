"""Database faults under load: gunicorn (2 workers) on PostgreSQL while its connections are cut or the database is away.

Whatever happens to the database, a client is told 201/200/4xx or 503 with `Retry-After` (problem+json), never 500;
a payment is written whole or not at all (its PaymentReceived and its ledger-wide claim commit together); the service
recovers by itself, without a restart; and a client that retries its 503s ends with exactly one event per key.
Outages are played on this test's own database only: its backends are terminated (`pg_terminate_backend`), or the
server talks to PostgreSQL through a loopback proxy that is cut and restored. The shared server is never touched.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from reliability_world import (
    Server,
    bill_id,
    claims,
    fresh_tokens,
    payment_body,
    payment_events,
    running,
    seed_billed,
    terminate_backends,
)
from tcp_proxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ALLOWED = {200, 201, 409, 422, 503}
CLIENTS = 4


@dataclass
class Sent:
    key: str
    body: dict[str, Any]
    status: int  # 0: the connection failed
    started: float
    retry_after: str | None = None
    mimetype: str = ""


def post(server: Server, session: requests.Session, body: dict[str, Any]) -> Sent:
    started = time.monotonic()
    key = f"CBS:{body['payment_ref']}"
    try:
        response = session.post(server.base + "/v1/payments", json=body, headers=server.headers("bank:CBS"), timeout=30)
    except requests.RequestException:
        return Sent(key, body, 0, started)
    mimetype = response.headers.get("Content-Type", "").split(";")[0]
    return Sent(key, body, response.status_code, started, response.headers.get("Retry-After"), mimetype)


def hammer(server: Server, numbers: list[str], stop: threading.Event, tag: str) -> list[Sent]:
    """CLIENTS banks posting new payments (each key once) until `stop` is set."""

    def client(n: int) -> list[Sent]:
        session, sent = requests.Session(), []
        while not stop.is_set():
            body = payment_body(numbers[len(sent) % len(numbers)], f"{tag}-{n}-{len(sent)}", "0.50")
            sent.append(post(server, session, body))
            if sent[-1].status in (0, 503):
                time.sleep(0.1)  # a bank backs off (Retry-After says 5 s; a test cannot wait that long)
        return sent

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(client, n) for n in range(CLIENTS)]
        return [sent for future in futures for sent in future.result()]


def with_load(server: Server, numbers: list[str], tag: str, fault: Any) -> list[Sent]:
    """Run `fault()` in this thread while the clients hammer the server; stop them when it returns."""
    stop = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        load = pool.submit(hammer, server, numbers, stop, tag)
        try:
            fault()
        finally:
            stop.set()
        return load.result()


def retry_until_answered(server: Server, sent: list[Sent], timeout: float = 30.0) -> dict[str, int]:
    """What a careful bank does: send every unanswered payment again, same key and content, until it is answered."""
    final = {s.key: s.status for s in sent}
    session, deadline = requests.Session(), time.monotonic() + timeout
    for s in sent:
        while final[s.key] in (0, 503):
            assert time.monotonic() < deadline, f"{s.key} still unanswered after {timeout} s"
            final[s.key] = post(server, session, s.body).status
            if final[s.key] in (0, 503):
                time.sleep(0.2)
    return final


def assert_refusals_are_well_formed(sent: list[Sent]) -> None:
    statuses = Counter(s.status for s in sent)
    assert set(statuses) <= ALLOWED, statuses
    for s in sent:
        if s.status == 503:
            assert s.mimetype == "application/problem+json" and s.retry_after and int(s.retry_after) > 0, s


def assert_each_key_applied_once(url: str, final: dict[str, int]) -> None:
    """The model: a key finally answered 201 or 200 has exactly one event; any other key has none."""
    applied = {key for key, status in final.items() if status in (200, 201)}
    assert set(final.values()) <= {200, 201}, Counter(final.values())
    events = payment_events(url)
    assert set(events) == applied and set(events.values()) == {1}
    assert claims(url) == events  # no half-written payment: each PaymentReceived committed with its claim


def pids(server: Server) -> int:
    assert server.process is not None and server.alive()
    return server.process.pid


def test_connections_cut_under_load_get_503_never_500_and_nothing_is_half_written(pg_url, tmp_path):
    numbers = seed_billed(pg_url, 8)
    with running(Server(pg_url, fresh_tokens(), tmp_path)) as server:
        master = pids(server)
        cut: list[int] = []

        def cut_connections() -> None:
            for _ in range(5):
                time.sleep(0.8)
                cut.append(terminate_backends(pg_url))
            time.sleep(0.5)

        sent = with_load(server, numbers, "K", cut_connections)
        print(f"\n{len(sent)} payments, {sum(cut)} connections cut, answers {dict(Counter(s.status for s in sent))}")
        assert sum(cut) >= 3
        assert_refusals_are_well_formed(sent)
        final = retry_until_answered(server, sent)
        assert pids(server) == master  # recovered by itself: the same server, no restart
        after = post(server, requests.Session(), payment_body(numbers[0], "AFTER", "1.00"))
        assert after.status == 201
        final[after.key] = 201
    assert_each_key_applied_once(pg_url, final)
    assert "Traceback" not in server.output() and not server.leaked_tokens()


def test_connections_dropped_while_idle_are_replaced_unseen(pg_url, tmp_path):
    (number,) = seed_billed(pg_url, 1)
    with running(Server(pg_url, fresh_tokens(), tmp_path)) as server:
        look = f"{server.base}/v1/subscribers/{number}/bills"
        for round_ in range(3):
            warm = [requests.get(look, headers=server.headers("portal"), timeout=10).status_code for _ in range(6)]
            assert terminate_backends(pg_url) >= 1
            after = [requests.get(look, headers=server.headers("portal"), timeout=10).status_code for _ in range(6)]
            assert set(warm) == set(after) == {200}, (round_, after)  # pool_pre_ping: no 503 for a stale connection


@pytest.fixture
def proxy():
    proxy = TcpProxy("127.0.0.1", 5432).start()
    yield proxy
    proxy.close()


def test_while_the_database_is_away_answers_are_503_with_retry_after_and_it_recovers_by_itself(pg_url, tmp_path, proxy):
    numbers = seed_billed(pg_url, 8)
    with running(Server(proxy.url_for(pg_url), fresh_tokens(), tmp_path)) as server:
        master = pids(server)
        moments: dict[str, float] = {}
        during: list[requests.Response] = []

        def outage() -> None:
            time.sleep(1.0)
            moments["cut"] = time.monotonic()
            proxy.cut()
            time.sleep(1.0)
            for path, role in (("/healthz", None), (f"/v1/subscribers/{numbers[0]}/bills", "portal")):
                headers = server.headers(role) if role else {}
                during.append(requests.get(server.base + path, headers=headers, timeout=30))
            time.sleep(1.5)
            proxy.restore()
            moments["restored"] = time.monotonic()
            time.sleep(2.5)

        sent = with_load(server, numbers, "O", outage)
        statuses = Counter(s.status for s in sent)
        back = min(s.started for s in sent if s.status == 201 and s.started > moments["restored"])
        print(
            f"\n{len(sent)} payments, answers {dict(statuses)}; "
            f"first 201 sent {back - moments['restored']:.2f} s after the database returned"
        )
        assert_refusals_are_well_formed(sent)
        assert statuses[503] >= CLIENTS  # each client was told at least once while the database was away
        for response in during:
            assert response.status_code == 503 and response.headers["Retry-After"]
            assert response.json()["rule"] == "database-unavailable"
        settled = [s for s in sent if s.started > moments["restored"] + 0.5]
        assert settled and {s.status for s in settled} == {201}  # back to normal within half a second
        final = retry_until_answered(server, sent)
        assert pids(server) == master
        assert requests.get(server.base + "/healthz", timeout=10).status_code == 200
    assert_each_key_applied_once(pg_url, final)
    assert "Traceback" not in server.output() and not server.leaked_tokens()


@pytest.mark.parametrize("procfile", [False, True], ids=["ledger-serve", "procfile-gunicorn"])
def test_a_server_started_while_the_database_is_away_comes_up_when_it_returns(pg_url, tmp_path, proxy, procfile):
    seed_billed(pg_url, 1)
    proxy.cut()
    server = Server(proxy.url_for(pg_url), fresh_tokens(), tmp_path, procfile=procfile).start(wait=False)
    try:
        time.sleep(4)
        assert server.alive(), server.output()[-3000:]  # gunicorn halts when a worker fails to boot: it must wait
        proxy.restore()
        server.wait_until_up(timeout=30)
        assert "database unreachable while starting" in server.output()
    finally:
        server.stop()


def test_concurrent_payments_on_one_subscriber_are_retried_inside_and_never_seen_by_clients(pg_url, tmp_path):
    (number,) = seed_billed(pg_url, 1)
    bodies = [payment_body(number, f"C-{n}", "10.00") for n in range(48)]
    with running(Server(pg_url, fresh_tokens(), tmp_path)) as server:
        with ThreadPoolExecutor(12) as pool:
            sent = list(pool.map(lambda body: post(server, requests.Session(), body), bodies))
        bill = requests.get(f"{server.base}/v1/subscribers/{number}/bills", headers=server.headers("staff"), timeout=10)
    assert Counter(s.status for s in sent) == {201: len(bodies)}
    paid = next(b for b in bill.json()["items"] if b["bill_id"] == bill_id(number))["paid"]
    assert paid == "480.00"
    assert sum(payment_events(pg_url).values()) == len(bodies)
