"""The ledger's PostgreSQL connections: every pool runs without JIT compilation, including connections opened
before the application finished starting, and with TCP keepalives and a user timeout (ledger/connections.py)."""

from __future__ import annotations

import pytest

from ledger.connections import TCP_SETTINGS, autocommit_engine
from projections.runner import ProjectionRunner

pytestmark = pytest.mark.postgres


def test_every_pool_of_the_ledger_runs_without_jit(pg_url, make_ledger):
    app = make_ledger(pg_url)
    runner = ProjectionRunner(app)
    try:
        for engine in (app.recorder.datastore.engine, autocommit_engine(app.recorder.datastore), runner.engine):
            with engine.connect() as connection:
                assert connection.exec_driver_sql("SHOW jit").scalar() == "off", engine
    finally:
        runner.close()


def test_every_pool_notices_a_silently_vanished_server_within_seconds(pg_url, make_ledger):
    app = make_ledger(pg_url)
    runner = ProjectionRunner(app)
    try:
        for engine in (app.recorder.datastore.engine, autocommit_engine(app.recorder.datastore), runner.engine):
            with engine.connect() as connection:
                used = connection.connection.dbapi_connection.get_dsn_parameters()
                assert {name: used.get(name) for name in TCP_SETTINGS} == {k: str(v) for k, v in TCP_SETTINGS.items()}
    finally:
        runner.close()
