"""Shared fixtures: a fresh SQLite file or a fresh PostgreSQL database per test, and hypothesis profiles.

PostgreSQL tests read LEDGER_TEST_DATABASE_URL (an admin URL, e.g. postgresql+psycopg2://postgres@127.0.0.1/test),
create a database of their own and drop it afterwards. Without that variable they are skipped, except under CI=true,
where an unreachable server fails the run instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

IN_CI = os.environ.get("CI", "").lower() == "true"


def _admin_url() -> str | None:
    return os.environ.get("LEDGER_TEST_DATABASE_URL")


def _psycopg2_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


def create_pg_database() -> tuple[str, Callable[[], None]]:
    """A new, empty PostgreSQL database; returns its SQLAlchemy URL and a function that drops it."""
    import psycopg2

    admin = _admin_url()
    if not admin:
        if IN_CI:
            pytest.fail("CI=true but LEDGER_TEST_DATABASE_URL is not set")
        pytest.skip("LEDGER_TEST_DATABASE_URL is not set")
    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = psycopg2.connect(_psycopg2_dsn(admin), connect_timeout=5)
    except psycopg2.OperationalError as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL at LEDGER_TEST_DATABASE_URL is unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable: {error}")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    if not url.startswith("postgresql+psycopg2://"):
        url = "postgresql+psycopg2://" + url.split("://", 1)[1]

    def drop() -> None:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()

    return url, drop


@pytest.fixture
def pg_url() -> Iterator[str]:
    url, drop = create_pg_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/ledger.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    """Each test that takes this runs once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.db"
        return
    url, drop = create_pg_database()
    try:
        yield url
    finally:
        drop()


class FixedClock:
    """A clock tests can set and move; the ledger reads `now` through it."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def make_ledger(clock) -> Iterator[Callable[..., object]]:
    """Build LedgerApplications on a URL; closes them after the test so databases can be dropped."""
    from ledger import LedgerApplication

    apps: list[LedgerApplication] = []

    def make(url: str, **kwargs: object) -> LedgerApplication:
        app = LedgerApplication(env={"LEDGER_DATABASE_URL": url}, clock=kwargs.pop("clock", clock), **kwargs)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()
