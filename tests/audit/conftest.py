"""Fixtures for the audit tests: a seeded ledger on SQLite and PostgreSQL, and a tamperer on the same database."""

from __future__ import annotations

from typing import Any

import pytest

from tests.audit.audit_world import Tamperer, seed


@pytest.fixture
def ledger(database_url, make_ledger) -> Any:
    app = make_ledger(database_url)
    seed(app)
    return app


@pytest.fixture
def tamper(database_url) -> Any:
    tamperer = Tamperer(database_url)
    yield tamperer
    tamperer.close()
