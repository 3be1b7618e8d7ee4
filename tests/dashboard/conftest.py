"""Fixtures for the dashboard tests: a demo ledger seeded once per session, copied for each test, and a signed-in
browser-like client over it (the Flask test client keeps the session cookie between requests).

The demo runs on a fixed clock (2026-11-20), so its cycles (2026-C3..C5), arrears and clearing breaks are the same
on every run.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from dashboard_world import NOW, build_app, sign_in

from api.demo import seed
from ledger import LedgerApplication
from projections.fresh import ReadSide


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dashboard") / "demo.db"
    ledger = LedgerApplication(env={"LEDGER_DATABASE_URL": f"sqlite:///{path}"}, clock=lambda: NOW)
    seed(ledger, subscribers=80, cycles=3, seed=7, progress=False)
    side = ReadSide(ledger)
    side.ensure_fresh()  # each copy starts with its read models caught up
    side.close()
    ledger.close()
    with closing(sqlite3.connect(path)) as conn:  # move everything from the WAL into the file that is copied
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def board(tmp_path, demo_template, make_ledger):
    """(app, ledger) over a fresh copy of the seeded demo."""
    path = tmp_path / "ledger.db"
    shutil.copyfile(demo_template, path)
    ledger = make_ledger(f"sqlite:///{path}")
    return build_app(ledger), ledger


@pytest.fixture
def browser(board):
    """A test client signed in as staff."""
    app, _ = board
    client = app.test_client()
    assert sign_in(client).status_code == 302
    return client
