"""Scratch databases for a benchmark run: a fresh PostgreSQL database (dropped afterwards) or a SQLite file."""

from __future__ import annotations

import os
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg2

DEFAULT_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Scratch:
    backend: str  # "postgres" or "sqlite"
    url: str  # SQLAlchemy URL

    def connect(self):
        """A raw DB-API connection (psycopg2 or sqlite3) to the same database the ledger uses."""
        if self.backend == "postgres":
            return psycopg2.connect(self.url.replace("postgresql+psycopg2://", "postgresql://", 1))
        conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn


def admin_url() -> str:
    environ = os.environ
    return environ.get("LEDGER_BENCH_DATABASE_URL") or environ.get("LEDGER_TEST_DATABASE_URL") or DEFAULT_ADMIN_URL


@contextmanager
def scratch(backend: str) -> Iterator[Scratch]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ledger-bench-") as folder:
            yield Scratch("sqlite", f"sqlite:///{folder}/bench.db")
        return
    admin = admin_url().replace("postgresql+psycopg2://", "postgresql://", 1)
    name = f"ledger_bench_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        yield Scratch("postgres", f"postgresql+psycopg2://{admin.split('://', 1)[1].rsplit('/', 1)[0]}/{name}")
    finally:
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
