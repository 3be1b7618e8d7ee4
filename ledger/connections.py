"""Database connections: pooled connections that survive a server restart, the autocommit pool, and plain
statements on its raw connections with the driver's errors raised as the library's.

eventsourcing-sqlalchemy builds its engine itself and takes no engine options, so the engine it built gets
listeners instead (SQLAlchemy's documented pessimistic disconnect handling, as `pool_pre_ping`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy.exc
from eventsourcing import persistence as es
from eventsourcing.persistence import InterfaceError, OperationalError
from sqlalchemy import create_engine, event
from sqlalchemy.exc import DisconnectionError

PING_AFTER_IDLE_SECONDS = 1.0
CONNECT_TIMEOUT_SECONDS = 5
# A server that vanishes without a reset (a silent network drop) is noticed within about 25 s on an idle or waiting
# connection (keepalive probes after 10 s, then 3 every 5 s) and within 30 s on one with unacknowledged data,
# instead of TCP's minutes: the request gets a 503 and the pool reconnects, well before gunicorn's worker timeout.
# A busy server's kernel still answers probes, so a long query is never cut short by them.
TCP_SETTINGS = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


def harden(engine: Any) -> None:
    """Replace pooled connections the server dropped (a restart, a cut) before clients see them.

    A connection idle for PING_AFTER_IDLE_SECONDS is pinged as it is checked out; one used a moment ago is not
    (a ping per checkout would double every read's round trips), and a read that meets a dropped connection is
    repeated once (ledger/persistence.py). A connect gives up after CONNECT_TIMEOUT_SECONDS rather than minutes,
    and TCP_SETTINGS bound how long a connection waits on a server that silently went away. Sessions run without
    JIT compilation.
    """
    if getattr(engine, "dialect", None) is None or engine.dialect.name != "postgresql":
        return

    def connect_params(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        cparams.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
        for name, value in TCP_SETTINGS.items():
            cparams.setdefault(name, value)

    def without_jit(dbapi_connection: Any, record: Any) -> None:
        """JIT compilation pays off for long analytic queries, which the ledger does not run; on its short ones it
        cost more than the statement (a fresh, unanalysed table inflates estimates past `jit_above_cost`). Set once
        per new connection, as a statement rather than a startup option, which connection poolers may refuse."""
        with dbapi_connection.cursor() as cursor:
            try:
                cursor.execute("SET jit = off")
            except engine.dialect.loaded_dbapi.Error:  # a server without JIT (before PostgreSQL 11)
                dbapi_connection.rollback()
                return
        dbapi_connection.commit()

    def ping(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if time.monotonic() - record.info.get("checked_in", 0.0) < PING_AFTER_IDLE_SECONDS:
            return  # in use a moment ago: a ping per checkout would double the round trips of every read
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError("the database dropped a pooled connection") from error  # the pool reconnects

    def checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    event.listen(engine, "do_connect", connect_params)
    event.listen(engine, "connect", without_jit)
    event.listen(engine, "checkout", ping)
    event.listen(engine, "checkin", checked_in)
    engine.dispose()  # connections opened before (creating the tables) reconnect with the settings above


def autocommit_engine(datastore: Any) -> Any:
    """A second pool, to the same PostgreSQL database, whose connections stay in autocommit mode.

    Single-statement reads and the one-statement append (ledger/pg_append.py) need no BEGIN and no COMMIT, and
    switching a pooled connection to autocommit and back on every checkout cost more than the statement.
    """
    engine = getattr(datastore, "ledger_autocommit_engine", None)
    if engine is None:
        engine = create_engine(datastore.engine.url, isolation_level="AUTOCOMMIT")
        harden(engine)
        datastore.ledger_autocommit_engine = engine
    return engine


# The library's exceptions, by the name they share with the DB-API's and SQLAlchemy's, most specific first.
_TRANSLATED = (
    "IntegrityError",
    "InterfaceError",
    "DataError",
    "OperationalError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
    "DatabaseError",
)


def _translated(error: Exception) -> Exception:
    """A psycopg2 or SQLAlchemy error as the library's exception of the same name, as the library's own
    transactions translate them (IntegrityError, OperationalError, ...; else PersistenceError)."""
    names = {kind.__name__ for kind in type(error).__mro__}
    for name in _TRANSLATED:
        if name in names:
            return getattr(es, name)(error)
    return es.PersistenceError(error)


@contextmanager
def translated_errors(dbapi: Any) -> Iterator[None]:
    try:
        yield
    except (sqlalchemy.exc.SQLAlchemyError, dbapi.Error) as error:
        raise _translated(error) from error


def run_raw(engine: Any, statement: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
    """One statement's rows, on a raw connection of the autocommit pool (`autocommit_engine`); the driver's errors
    are raised as the library's, and a connection the server dropped is never handed out again."""
    dbapi = engine.dialect.loaded_dbapi
    with translated_errors(dbapi):  # the pool hands on the driver's own error when it cannot connect
        connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(statement, params)
        return cursor.fetchall()
    except dbapi.Error as error:
        if isinstance(error, dbapi.OperationalError | dbapi.InterfaceError):
            connection.invalidate(error)  # the server went away: never hand this connection out again
        raise _translated(error) from error
    finally:
        connection.close()


def read_raw(engine: Any, sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
    """One read's rows on a raw connection of the autocommit pool, read again once if the server dropped it."""
    try:
        return run_raw(engine, sql, params)
    except (OperationalError, InterfaceError):
        # The server dropped a pooled connection (a restart, a cut): start the pool afresh, as SQLAlchemy does on its
        # own statements, and read again. A read is safe to repeat.
        engine.dispose()
        return run_raw(engine, sql, params)
