"""The ledger's PostgreSQL connections: every pool runs without JIT compilation, including connections opened
before the application finished starting, and with TCP keepalives and a user timeout (ledger/connections.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.connections import TCP_SETTINGS, autocommit_engine
from projections.runner import ProjectionRunner

pytestmark = pytest.mark.postgres


@pytest.fixture
def connections(pg_url, make_ledger) -> Iterator[list]:
    """One open connection from each pool the ledger uses: its own, the autocommit one, the projection runner's."""
    app = make_ledger(pg_url)
    runner = ProjectionRunner(app)
    engines = (app.recorder.datastore.engine, autocommit_engine(app.recorder.datastore), runner.engine)
    opened = [engine.connect() for engine in engines]
    try:
        yield opened
    finally:
        for connection in opened:
            connection.close()
        runner.close()


def test_every_pool_of_the_ledger_runs_without_jit(connections):
    for connection in connections:
        assert connection.exec_driver_sql("SHOW jit").scalar() == "off", connection.engine


def test_every_pool_notices_a_silently_vanished_server_within_seconds(connections):
    expected = {name: str(value) for name, value in TCP_SETTINGS.items()}
    for connection in connections:
        used = connection.connection.dbapi_connection.get_dsn_parameters()
        assert {name: used.get(name) for name in TCP_SETTINGS} == expected, connection.engine
