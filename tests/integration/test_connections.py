"""The ledger's PostgreSQL connections: every pool runs without JIT compilation, including connections opened
before the application finished starting (ledger/connections.py)."""

from __future__ import annotations

import pytest

from ledger.connections import autocommit_engine
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
