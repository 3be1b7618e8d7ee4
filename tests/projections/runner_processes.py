"""Running `ledger project` in separate processes for the crash and lock tests, and watching its position."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import Engine

from projections.tables import tracking

SLOW_RUNNER = Path(__file__).with_name("slow_runner.py")
ROOT = Path(__file__).resolve().parents[2]


def start_runner(url: str, *options: str, delay: float = 0.0) -> subprocess.Popen[str]:
    """`ledger project` (via tests/projections/slow_runner.py) on `url`, each batch held open `delay` seconds."""
    env = {**os.environ, "LEDGER_DATABASE_URL": url, "PROJECTION_TEST_DELAY": str(delay), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(SLOW_RUNNER), *options],
        env=env,
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def reader(url: str) -> Engine:
    """A separate engine for the test to look at the database while runner processes write to it."""
    return create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})


def position(engine: Engine, application_name: str = "Ledger") -> int:
    if not inspect(engine).has_table(tracking.name):
        return 0
    with engine.connect() as conn:
        found = conn.execute(
            select(tracking.c.notification_id).where(tracking.c.application_name == application_name)
        ).scalar_one_or_none()
    return found or 0


def wait_for(condition: Any, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def finish(process: subprocess.Popen[str], timeout: float = 120.0) -> tuple[int, str]:
    """Wait for a runner to end; returns (exit status, what it wrote on stderr)."""
    _, err = process.communicate(timeout=timeout)
    return process.returncode, err
