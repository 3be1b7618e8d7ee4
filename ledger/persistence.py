"""The ledger's persistence: eventsourcing-sqlalchemy, with its hot paths made cheaper.

Loading an aggregate reads its events through `select_events`, and rebuilds, audits and billing runs read the log
through `select_notifications`: the library builds an ORM query (and an ORM object per row) for each; here the same
SELECTs are SQLAlchemy Core statements, with the same filters, order, limit and results. On PostgreSQL, events are
appended by one server-side function (ledger/pg_append.py). Tracking and snapshots are the library's own.
`LEDGER_DATABASE_URL` selects this factory via `PERSISTENCE_MODULE=ledger.persistence:Factory`; the library's
recorder test cases run against it in the test suite."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing_sqlalchemy.datastore import transactions
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from eventsourcing_sqlalchemy.recorders import (
    SQLAlchemyAggregateRecorder,
    SQLAlchemyApplicationRecorder,
    SQLAlchemyProcessRecorder,
)
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError

from ledger.connections import autocommit_engine, read_raw
from ledger.pg_append import Appender


class FastSelectEvents:
    """`select_events` as one prepared Core SELECT on (originator_id, originator_version)."""

    events_record_cls: Any

    def select_events(
        self,
        originator_id: UUID | str,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        engine = self._autocommit_postgres()
        if engine is not None:
            return self._select_events_raw(engine, originator_id, gt, lte, desc, limit)
        table = self.events_record_cls.__table__
        version = table.c.originator_version
        statement = select(table.c.originator_id, version, table.c.topic, table.c.state).where(
            table.c.originator_id == bindparam("originator_id", type_=table.c.originator_id.type)
        )
        params: dict[str, Any] = {"originator_id": originator_id}
        if gt is not None:
            statement, params["gt"] = statement.where(version > bindparam("gt")), gt
        if lte is not None:
            statement, params["lte"] = statement.where(version <= bindparam("lte")), lte
        statement = statement.order_by(version.desc() if desc else version)
        if limit is not None:
            statement = statement.limit(limit)
        rows = self._read(statement, params)
        return [
            StoredEvent(
                originator_id=row[0],
                originator_version=row[1],
                topic=row[2],
                state=bytes(row[3]) if isinstance(row[3], memoryview) else row[3],
            )
            for row in rows
        ]

    def _select_events_raw(
        self, engine: Any, originator_id: UUID | str, gt: int | None, lte: int | None, desc: bool, limit: int | None
    ) -> list[StoredEvent]:
        """`select_events` as plain SQL on a raw connection: loading a subscriber is in every command, and
        SQLAlchemy's statement handling cost more than the round trip."""
        sql = f"SELECT originator_version, topic, state FROM {self._qualified_table()} WHERE originator_id = %s"
        params: list[Any] = [str(originator_id)]
        if gt is not None:
            sql, params = sql + " AND originator_version > %s", [*params, gt]
        if lte is not None:
            sql, params = sql + " AND originator_version <= %s", [*params, lte]
        sql += " ORDER BY originator_version DESC" if desc else " ORDER BY originator_version"
        if limit is not None:
            sql, params = sql + " LIMIT %s", [*params, limit]
        uuid = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        rows = read_raw(engine, sql, params)
        return [StoredEvent(uuid, version, topic, bytes(state)) for version, topic, state in rows]

    def select_after_snapshot(
        self, snapshots: FastSelectEvents, originator_id: UUID
    ) -> tuple[StoredEvent | None, list[StoredEvent]] | None:
        """The latest snapshot of an aggregate (in the `snapshots` recorder's table) and the events stored after it,
        in one round trip instead of two: most commands load a subscriber that is not in memory. None where this
        is not possible (not PostgreSQL, or inside a transaction)."""
        engine = self._autocommit_postgres()
        if engine is None:
            return None
        sql = (
            "WITH snapshot AS (SELECT originator_version, topic, state FROM "
            f"{snapshots._qualified_table()} WHERE originator_id = %(id)s ORDER BY originator_version DESC LIMIT 1) "
            "SELECT true, originator_version, topic, state FROM snapshot UNION ALL "
            f"SELECT false, originator_version, topic, state FROM {self._qualified_table()} WHERE originator_id = "
            "%(id)s AND originator_version > COALESCE((SELECT originator_version FROM snapshot), 0)"
        )
        snapshot, events = None, []
        for is_snapshot, version, topic, state in read_raw(engine, sql, {"id": str(originator_id)}):
            stored = StoredEvent(originator_id, version, topic, bytes(state))
            if is_snapshot:
                snapshot = stored
            else:
                events.append(stored)
        events.sort(key=lambda event: event.originator_version)  # in order already, but UNION ALL promises none
        return snapshot, events

    def _autocommit_postgres(self) -> Any | None:
        """The autocommit pool, when on PostgreSQL and outside any transaction open here (which must see its own
        writes); else None."""
        datastore = self.datastore  # type: ignore[attr-defined]
        engine = datastore.engine
        if engine is None or engine.dialect.name != "postgresql" or transactions.get(None) is not None:
            return None
        return autocommit_engine(datastore)

    def _qualified_table(self) -> str:
        """The table's name for raw SQL (bulk loads, the append function)."""
        name: str = self.events_table_name  # type: ignore[attr-defined]
        schema = self.schema_name  # type: ignore[attr-defined]
        return name if schema is None else f"{schema}.{name}"

    def _read(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        """On a pooled connection of its own, unless a transaction is open here (then inside it, to see its writes).

        An in-memory SQLite database has one shared connection guarded by the datastore's lock: go through it.
        """
        datastore = self.datastore  # type: ignore[attr-defined]
        if transactions.get(None) is not None or datastore.access_lock is not None or datastore.engine is None:
            with self.transaction(commit=False) as session:  # type: ignore[attr-defined]
                return session.connection().execute(statement, params).all()
        # One SELECT sees one snapshot anyway: on PostgreSQL it runs in autocommit mode, saving BEGIN and ROLLBACK.
        engine = autocommit_engine(datastore) if datastore.engine.dialect.name == "postgresql" else datastore.engine
        try:
            return _read_once(engine, statement, params)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            # The server dropped this pooled connection (a restart, a cut); SQLAlchemy has now invalidated the whole
            # pool, so reading again gets a fresh connection. A read is safe to repeat.
            return _read_once(engine, statement, params)


def _read_once(engine: Any, statement: Any, params: dict[str, Any]) -> list[Any]:
    with engine.connect() as connection:
        return connection.execute(statement, params).all()


class LedgerAggregateRecorder(FastSelectEvents, SQLAlchemyAggregateRecorder):
    pass


class LedgerApplicationRecorder(FastSelectEvents, SQLAlchemyApplicationRecorder):
    _appender: Appender | None = None

    def create_table(self) -> None:
        super().create_table()
        appender = self._postgres_appender()
        if appender is not None:
            appender.ensure_function()

    def insert_events(self, stored_events: Sequence[StoredEvent], *, session: Any = None, **kwargs: Any) -> Any:
        """On PostgreSQL and outside any open transaction, append in one autocommit round trip (ledger/pg_append.py);
        inside one, through `_insert_stored_events`."""
        appender = self._postgres_appender()
        if appender is None or session is not None or not stored_events or transactions.get(None) is not None:
            return super().insert_events(stored_events, session=session, **kwargs)
        return appender.append(stored_events)

    def _postgres_appender(self) -> Appender | None:
        engine = self.datastore.engine
        if engine is None or engine.dialect.name != "postgresql":
            return None
        if self._appender is None:
            self._appender = Appender(autocommit_engine(self.datastore), self._qualified_table(), self.channel_name)
        return self._appender

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        """The library's notification query as one Core SELECT: rebuilds, audits and billing runs read the whole
        log through it, and building an ORM object per row cost more than decoding the event."""
        table = self.events_record_cls.__table__
        query = select(table.c.id, table.c.originator_id, table.c.originator_version, table.c.topic, table.c.state)
        if start is not None:
            query = query.where(table.c.id >= start if inclusive_of_start else table.c.id > start)
        if stop is not None:
            query = query.where(table.c.id <= stop)
        if topics:
            query = query.where(table.c.topic.in_(list(topics)))
        rows = self._read(query.order_by(table.c.id).limit(limit), {})
        return [
            Notification(
                id=row[0],
                originator_id=row[1],
                originator_version=row[2],
                topic=row[3],
                state=bytes(row[4]) if isinstance(row[4], memoryview) else row[4],
            )
            for row in rows
        ]

    def _insert_stored_events(self, session: Any, stored_events: Any, **kwargs: Any) -> Any:
        """Inside a session's transaction on PostgreSQL, the same append function, run on the session's connection:
        it commits with the session, under the same lock and checks."""
        appender = self._postgres_appender()
        if appender is None or not stored_events:
            return super()._insert_stored_events(session, stored_events, **kwargs)
        return [row[0] for row in session.connection().exec_driver_sql(*appender.call(stored_events))]


class LedgerProcessRecorder(FastSelectEvents, SQLAlchemyProcessRecorder):
    pass


class Factory(SQLAlchemyFactory):
    aggregate_recorder_class = LedgerAggregateRecorder
    application_recorder_class = LedgerApplicationRecorder
    process_recorder_class = LedgerProcessRecorder

    def close(self) -> None:
        """Close the autocommit pool's connections (the library leaves its own engine to the garbage collector)."""
        engine = getattr(self.datastore, "ledger_autocommit_engine", None)
        if engine is not None:
            engine.dispose()
        super().close()
