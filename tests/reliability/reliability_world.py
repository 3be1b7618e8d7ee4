"""The world the reliability tests run in: a gunicorn server they can kill, a seeded ledger, and event counts.

- `Server`: `ledger serve` in its own process group, its output in a file; `kill()` is SIGKILL to the whole group
  (master and workers, as a crashed machine or container), `start()` again on the same port.
- `seed_billed` / `seed_due`: thousands of subscribers built as aggregates and saved in batches (`app.save(*batch)`),
  far faster than going through the commands one by one.
- `payment_events` / `claims` / `count_events`: what the store holds, to compare with what the clients were told.
- `scratch_database`: a fresh PostgreSQL database for the soak script (pytest tests use the `pg_url` fixture).

Imported by file name (pytest puts this folder on the path; `load.py` does the same when run as a script).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from eventsourcing.utils import get_topic
from sqlalchemy import create_engine, text

from ledger import LedgerApplication
from ledger.claims import PaymentClaim
from ledger.subscriber import Subscriber
from tests.e2e.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
LEDGER_COMMAND = str(Path(sys.executable).with_name("ledger"))
READ_AT = datetime(2026, 10, 28, 9, tzinfo=UTC)
CYCLE = "2026-C5"
BILL_AMOUNT = "3200.00"  # 400 kWh residential in new pounds
EVENTS_TABLE = "ledger_events"


def fresh_tokens() -> dict[str, str]:
    """Random tokens per run, so a search of the logs for them means something."""
    return {role: f"{role.split(':')[-1].lower()}-{secrets.token_hex(12)}" for role in ("staff", "portal", "bank:CBS")}


def tokens_spec(tokens: dict[str, str]) -> str:
    return ",".join(f"{token}={role}" for role, token in tokens.items())


def bill_id(subscriber_no: str) -> str:
    return f"{subscriber_no}-{CYCLE}"


# -- the server ------------------------------------------------------------------------------------------------------


class Server:
    """`ledger serve` (or the Procfile's bare gunicorn) on loopback, killable with SIGKILL, restartable on one port."""

    def __init__(
        self, url: str, tokens: dict[str, str], scratch: Path, workers: int = 2, procfile: bool = False
    ) -> None:
        self.url, self.tokens, self.scratch, self.workers, self.procfile = url, tokens, scratch, workers, procfile
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = scratch / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, wait: bool = True, timeout: float = 60.0) -> Server:
        self.starts += 1
        metrics = self.scratch / f"metrics-{self.starts}"
        metrics.mkdir()
        env = {
            **os.environ,
            "LEDGER_DATABASE_URL": self.url,
            "LEDGER_TOKENS": tokens_spec(self.tokens),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            "PYTHONPATH": str(ROOT),
        }
        command = [LEDGER_COMMAND, "serve", "--port", str(self.port), "--workers", str(self.workers)]
        if self.procfile:  # the Procfile's `web:` line: bare gunicorn on api.wsgi
            command = [
                str(Path(LEDGER_COMMAND).with_name("gunicorn")),
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "api.wsgi:app",
            ]
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
            )
        if wait:
            self.wait_until_up(timeout)
        return self

    def wait_until_up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"the server exited:\n{self.output()[-3000:]}")
            try:
                if requests.get(self.base + "/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or a worker still starting
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not answer /healthz within {timeout} s:\n{self.output()[-3000:]}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the master and every worker at once: nothing gets to finish or clean up."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def leaked_tokens(self) -> list[str]:
        """The roles whose token appears anywhere in what the server wrote (access and error logs)."""
        output = self.output()
        return [role for role, token in self.tokens.items() if token in output]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server.start()
    finally:
        server.stop()


def payment_body(subscriber_no: str, ref: str, amount: str) -> dict[str, Any]:
    return {
        "payment_ref": ref,
        "subscriber_no": subscriber_no,
        "bill_id": bill_id(subscriber_no),
        "amount": amount,
        "channel": "app",
        "paid_at": "2026-11-20T10:00:00Z",
    }


# -- seeding ---------------------------------------------------------------------------------------------------------


def subscriber_numbers(count: int, prefix: str = "DI-") -> list[str]:
    return [f"{prefix}{100000 + n}" for n in range(count)]


def seed(
    url: str,
    numbers: list[str],
    governorate: str = "SY-DI",
    read: bool = True,
    bill: bool = False,
    bank: str | None = "CBS",
    batch: int = 250,
) -> None:
    """Register (and enrol, read, bill) subscribers as aggregates, saved `batch` at a time."""
    app = LedgerApplication(env={"LEDGER_DATABASE_URL": url})
    try:
        now = datetime.now(UTC)
        for start in range(0, len(numbers), batch):
            built = []
            for number in numbers[start : start + batch]:
                sub = Subscriber.register(number, governorate, "residential", f"M-{number}", 1000, "Seeded")
                if bank:
                    sub.enrol(bank, "****4321")
                if read:
                    sub.submit_reading(1400, READ_AT, "reader", now)
                if bill:
                    sub.issue_bill(CYCLE, app.tariffs, now.date(), now.date())
                built.append(sub)
            app.save(*built)
    finally:
        app.close()


def seed_billed(url: str, count: int, prefix: str = "DI-") -> list[str]:
    """`count` subscribers enrolled with CBS, each with a bill of 3200.00 for 2026-C5."""
    numbers = subscriber_numbers(count, prefix)
    seed(url, numbers, bill=True)
    return numbers


# -- what the store holds --------------------------------------------------------------------------------------------


def domain_events(url: str, event_class: type) -> list[Any]:
    """Every stored event of one class, decoded, in order."""
    app = LedgerApplication(env={"LEDGER_DATABASE_URL": url})
    try:
        topic, found, position = get_topic(event_class), [], 0
        while True:
            page = app.recorder.select_notifications(position, 1000, topics=[topic], inclusive_of_start=False)
            found += [app.mapper.to_domain_event(notification) for notification in page]
            if len(page) < 1000:
                return found
            position = page[-1].id
    finally:
        app.close()


def payment_events(url: str) -> Counter[str]:
    """PaymentReceived events per payment key (`BANK:REF`)."""
    return Counter(event.payment_key for event in domain_events(url, Subscriber.PaymentReceived))


def claims(url: str) -> Counter[str]:
    """PaymentClaim aggregates per payment key: saved in the same transaction as the payment they claim."""
    return Counter(event.payment_key for event in domain_events(url, PaymentClaim.Claimed))


def count_events(url: str, event_class: type) -> int:
    """A cheap count straight from the table, for watching a running process from outside."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = text(f"SELECT count(*) FROM {EVENTS_TABLE} WHERE topic = :topic")
            return conn.execute(query, {"topic": get_topic(event_class)}).scalar_one()
    finally:
        engine.dispose()


# -- PostgreSQL ------------------------------------------------------------------------------------------------------


def psycopg2_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?")[0]


def terminate_backends(url: str) -> int:
    """Cut every connection to this test's own database (pg_terminate_backend); the server itself keeps running."""
    import psycopg2

    admin = psycopg2.connect(psycopg2_dsn(url.rsplit("/", 1)[0] + "/postgres"), connect_timeout=5)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database_name(url),),
            )
            return cur.fetchone()[0]
    finally:
        admin.close()


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new PostgreSQL database beside the admin URL's, dropped afterwards (for the soak script)."""
    import psycopg2

    name = f"ledger_soak_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(psycopg2_dsn(admin_url), connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = "postgresql+psycopg2://" + admin_url.split("://", 1)[1].rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
