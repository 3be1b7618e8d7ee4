"""Fixtures for the HTTP API tests: an app over a fresh ledger with a fixed clock (see `http_world`).

`api` runs on a SQLite file; `any_api` once on SQLite and once on PostgreSQL (via `database_url`). A SQLite ledger
starts as a copy of a session-wide template with the governorates already listed, which keeps the tests fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from http_world import Api, build_api, sqlite_template


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Path:
    return sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def api(sqlite_url, make_ledger, template) -> Api:
    return build_api(sqlite_url, make_ledger, template)


@pytest.fixture
def any_api(database_url, make_ledger, template) -> Api:
    return build_api(database_url, make_ledger, template)
