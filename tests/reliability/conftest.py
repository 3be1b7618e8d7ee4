"""Fixtures for the reliability tests: the HTTP API tests' `api` (a Flask test client over a fresh SQLite ledger).

The servers, databases and load of the slower tests are built by `reliability_world`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.http_world import Api, build_api, sqlite_template


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Path:
    return sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def api(sqlite_url, make_ledger, template) -> Api:
    return build_api(sqlite_url, make_ledger, template)
