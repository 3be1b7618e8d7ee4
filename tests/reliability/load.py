"""A bounded load test: gunicorn on PostgreSQL, on loopback only, for a fixed time and at most a fixed request count.

The mix: bill look-ups (the portal and banks), balance queries (staff), and payments (banks), a tenth of the payments
being retries of keys already answered, and a fifth of the new ones aimed at one hot subscriber so that concurrent
writers collide and the ledger must retry them internally. What must hold afterwards:
- no 5xx and no failed connection;
- every 201 has exactly one PaymentReceived event behind it, and every such event was answered with a 201;
- every retry of an answered key gets 200 with the original body.
It reports p50/p99 latency per kind of request and the throughput.

`make soak` runs it for longer:  python tests/reliability/load.py --duration 120 --threads 8
(needs LEDGER_TEST_DATABASE_URL, an admin URL; makes and drops a database of its own). `test_load.py` runs it briefly.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from reliability_world import Server, fresh_tokens, payment_body, payment_events, scratch_database, seed_billed

MIX = (("bill_lookup", 0.4), ("balance", 0.3), ("payment", 0.3))
RETRY_SHARE = 0.1
HOT_SHARE = 0.2
TIMEOUT = 30


@dataclass
class Answer:
    kind: str
    status: int  # 0: the connection failed
    seconds: float
    key: str | None = None
    body: Any = None
    original: Any = None  # for a retry: the body of the first answer
    retry_after: str | None = None


@dataclass
class Load:
    """Shared state of one run: the request budget and the payment keys answered so far."""

    server: Server
    subscribers: list[str]
    deadline: float
    cap: int
    rng_seed: int
    sent: int = 0
    answered: list[tuple[str, dict[str, Any], Any]] = field(default_factory=list)  # (key, body, first answer)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        with self.lock:
            if self.sent >= self.cap or time.monotonic() >= self.deadline:
                return False
            self.sent += 1
            return True


def run_load(
    server: Server, subscribers: list[str], duration: float, threads: int, cap: int, rng_seed: int = 1
) -> list[Answer]:
    load = Load(server, subscribers, time.monotonic() + duration, cap, rng_seed)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        parts = list(pool.map(lambda n: _client(load, n), range(threads)))
    return [answer for part in parts for answer in part]


def _client(load: Load, number: int) -> list[Answer]:
    rng = random.Random(load.rng_seed * 1000 + number)
    session = requests.Session()
    answers, made = [], 0
    kinds, weights = zip(*MIX, strict=True)
    while load.take():
        kind = rng.choices(kinds, weights)[0]
        if kind == "payment":
            made += 1
            answers.append(_payment(load, session, rng, f"L{load.rng_seed}-{number}-{made}"))
        else:
            answers.append(_lookup(load, session, rng, kind))
    return answers


def _lookup(load: Load, session: requests.Session, rng: random.Random, kind: str) -> Answer:
    no = rng.choice(load.subscribers)
    if kind == "bill_lookup":
        path, role = f"/v1/subscribers/{no}/bills", rng.choice(("portal", "bank:CBS"))
    else:
        path, role = f"/v1/subscribers/{no}", "staff"
    return _send(load.server, session, "GET", path, role, kind)


def _payment(load: Load, session: requests.Session, rng: random.Random, ref: str) -> Answer:
    with load.lock:
        earlier = rng.choice(load.answered) if load.answered and rng.random() < RETRY_SHARE else None
    if earlier is not None:
        key, body, original = earlier
        answer = _send(load.server, session, "POST", "/v1/payments", "bank:CBS", "payment_retry", body)
        answer.key, answer.original = key, original
        return answer
    no = load.subscribers[0] if rng.random() < HOT_SHARE else rng.choice(load.subscribers)
    body = payment_body(no, ref, f"0.{rng.randint(1, 99):02d}")  # small amounts: the hot bill lasts a long soak
    answer = _send(load.server, session, "POST", "/v1/payments", "bank:CBS", "payment", body)
    answer.key = f"CBS:{ref}"
    if answer.status == 201:
        with load.lock:
            load.answered.append((answer.key, body, answer.body))
    return answer


def _send(
    server: Server, session: requests.Session, method: str, path: str, role: str, kind: str, body: Any = None
) -> Answer:
    started = time.perf_counter()
    try:
        response = session.request(method, server.base + path, json=body, headers=server.headers(role), timeout=TIMEOUT)
    except requests.RequestException:
        return Answer(kind, 0, time.perf_counter() - started)
    seconds = time.perf_counter() - started
    parsed = response.json() if response.headers.get("Content-Type", "").endswith("json") else None
    return Answer(kind, response.status_code, seconds, body=parsed, retry_after=response.headers.get("Retry-After"))


# -- judging and reporting -------------------------------------------------------------------------------------------


def check(answers: list[Answer], events: Counter[str]) -> list[str]:
    """What went wrong, in words; empty when the run held every promise."""
    faults = []
    bad = Counter(a.status for a in answers if a.status == 0 or a.status >= 500)
    if bad:
        faults.append(f"server errors or failed connections: {dict(bad)}")
    created = Counter(a.key for a in answers if a.status == 201 and a.key)
    if twice := {key: n for key, n in created.items() if n > 1}:
        faults.append(f"keys answered 201 more than once: {twice}")
    if set(events) != set(created):
        faults.append(
            f"201s without an event: {sorted(set(created) - set(events))[:5]}; "
            f"events without a 201: {sorted(set(events) - set(created))[:5]}"
        )
    if doubled := {key: n for key, n in events.items() if n > 1}:
        faults.append(f"keys with more than one PaymentReceived event: {doubled}")
    for answer in answers:
        if answer.kind == "payment_retry" and (answer.status, answer.body) != (200, answer.original):
            faults.append(f"the retry of {answer.key} got {answer.status}, not 200 with the original body")
            break
    return faults


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def report(answers: list[Answer], seconds: float, events: Counter[str]) -> dict[str, Any]:
    by_kind: dict[str, list[float]] = defaultdict(list)
    for answer in answers:
        by_kind[answer.kind].append(answer.seconds)
        by_kind["all"].append(answer.seconds)
    latency = {
        kind: {
            "n": len(values),
            "p50_ms": round(percentile(values, 0.50) * 1000, 1),
            "p99_ms": round(percentile(values, 0.99) * 1000, 1),
        }
        for kind, values in sorted(by_kind.items())
    }
    return {
        "seconds": round(seconds, 1),
        "requests": len(answers),
        "per_second": round(len(answers) / seconds, 1) if seconds else 0.0,
        "statuses": dict(sorted(Counter(str(a.status) for a in answers).items())),
        "payments_created": sum(1 for a in answers if a.status == 201),
        "payment_events": sum(events.values()),
        "latency": latency,
    }


def describe(figures: dict[str, Any]) -> str:
    lines = [
        f"{figures['requests']} requests in {figures['seconds']} s ({figures['per_second']}/s); "
        f"statuses {figures['statuses']}; {figures['payments_created']} payments created, "
        f"{figures['payment_events']} PaymentReceived events"
    ]
    lines += [
        f"  {kind:<14} n={v['n']:<6} p50 {v['p50_ms']:>7.1f} ms   p99 {v['p99_ms']:>7.1f} ms"
        for kind, v in figures["latency"].items()
    ]
    return "\n".join(lines)


def soak(
    url: str, scratch: Path, duration: float, threads: int, cap: int, subscribers: int, workers: int, rng_seed: int = 1
) -> tuple[dict[str, Any], list[str], Server]:
    """Seed, serve, load, judge: the whole run on a database of its own at `url`."""
    numbers = seed_billed(url, subscribers)
    server = Server(url, fresh_tokens(), scratch, workers=workers).start()
    try:
        started = time.monotonic()
        answers = run_load(server, numbers, duration, threads, cap, rng_seed)
        seconds = time.monotonic() - started
    finally:
        server.stop()
    events = payment_events(url)
    faults = check(answers, events)
    if leaked := server.leaked_tokens():
        faults.append(f"the server's output contains the tokens of {leaked}")
    return report(answers, seconds, events), faults, server


def main() -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load")
    parser.add_argument("--threads", type=int, default=8, help="concurrent clients")
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop after this many requests")
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: `tests.` must import too
    admin = os.environ.get("LEDGER_TEST_DATABASE_URL")
    if not admin:
        print("LEDGER_TEST_DATABASE_URL is not set (an admin URL of a PostgreSQL server on loopback)", file=sys.stderr)
        return 2
    with scratch_database(admin) as url, tempfile.TemporaryDirectory(prefix="ledger-soak-") as scratch:
        figures, faults, _ = soak(
            url,
            Path(scratch),
            args.duration,
            args.threads,
            args.max_requests,
            args.subscribers,
            args.workers,
            args.seed,
        )
    print(describe(figures))
    if args.json:
        args.json.write_text(json.dumps({**figures, "faults": faults}, indent=2) + "\n")
    for fault in faults:
        print("FAULT:", fault, file=sys.stderr)
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
