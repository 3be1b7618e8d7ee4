"""The eventsourcing library's own recorder test cases, run against the ledger's recorders (ledger/persistence.py).

The ledger replaces only `select_events`; these cases check that it still behaves exactly as the library expects,
on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import tempfile
from typing import Any

import pytest
from eventsourcing.tests.persistence import AggregateRecorderTestCase, ApplicationRecorderTestCase
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore

from ledger.persistence import LedgerAggregateRecorder, LedgerApplicationRecorder
from tests.conftest import create_pg_database


class SqliteFile:
    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        self.folder = tempfile.TemporaryDirectory()
        self.url = f"sqlite:///{self.folder.name}/recorder.db"

    def tearDown(self) -> None:
        self.folder.cleanup()
        super().tearDown()  # type: ignore[misc]


@pytest.mark.postgres
class Postgres:
    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        self.url, self.drop = create_pg_database()

    def tearDown(self) -> None:
        if getattr(self, "datastore", None) is not None:
            self.datastore.engine.dispose()
        self.drop()
        super().tearDown()  # type: ignore[misc]


def prepared(recorder: Any) -> Any:
    """Tables created and, on SQLite, WAL mode switched on before any test thread starts, as a LedgerApplication
    does while it starts. Left to the first transaction, the library switches it while ten test threads are already
    writing, and the switch can fail with "database is locked" on a loaded machine."""
    recorder.create_table()
    recorder.datastore.init_sqlite_wal_mode()
    return recorder


class AggregateCases(AggregateRecorderTestCase):
    __test__ = False  # collected only through the concrete classes below, which say where the database is

    def create_recorder(self) -> LedgerAggregateRecorder:
        self.datastore = SQLAlchemyDatastore(url=self.url)
        recorder = LedgerAggregateRecorder(self.datastore, events_table_name="stored_events")
        return prepared(recorder)


class ApplicationCases(ApplicationRecorderTestCase):
    __test__ = False

    def create_recorder(self) -> LedgerApplicationRecorder:
        self.datastore = SQLAlchemyDatastore(url=self.url)
        recorder = LedgerApplicationRecorder(self.datastore, events_table_name="stored_events")
        return prepared(recorder)

    def test_concurrent_throughput(self) -> None:
        pytest.skip("a throughput measurement, not a behaviour: see benchmarks/")

    def test_performance(self) -> None:
        pytest.skip("a timing, not a behaviour: see benchmarks/")


class TestAggregateRecorderOnSqlite(SqliteFile, AggregateCases):
    __test__ = True


class TestApplicationRecorderOnSqlite(SqliteFile, ApplicationCases):
    __test__ = True


class TestAggregateRecorderOnPostgres(Postgres, AggregateCases):
    __test__ = True


class TestApplicationRecorderOnPostgres(Postgres, ApplicationCases):
    __test__ = True
