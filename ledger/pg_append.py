"""Appending events on PostgreSQL in one round trip: a server-side function, called in autocommit mode.

The library appends in a session: BEGIN, LOCK TABLE ... IN EXCLUSIVE MODE, the INSERT, NOTIFY, COMMIT. The lock
makes commit order equal notification-id order (projections rely on a gap-free log), but it is held across every
one of those round trips, so it bounds how many payments per second all writers together can record. Here the
same four steps run inside one function, `<events table>_append`, called as a single autocommit statement: the
lock is taken, the rows inserted, the NOTIFY queued and the transaction committed without the server waiting on
the client once. The lock is still held until the commit, so the ordering guarantee is the library's own.

Under that lock the function also checks for an event already stored at any of the new (aggregate, version)
pairs before inserting: a writer that lost an optimistic race gets its IntegrityError without drawing numbers
from the id sequence, so the notification ids stay consecutive (the library's insert leaves a gap there).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent

from ledger.connections import run_raw, translated_errors
from ledger.group_commit import GroupCommit

_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}(ids uuid[], versions bigint[], topics text[], states bytea[])
RETURNS SETOF bigint LANGUAGE plpgsql AS $$
DECLARE
    i integer;
BEGIN
    LOCK TABLE {table} IN EXCLUSIVE MODE;
    FOR i IN 1 .. array_length(ids, 1) LOOP
        IF EXISTS (SELECT 1 FROM {table} WHERE originator_id = ids[i] AND originator_version = versions[i]) THEN
            RAISE unique_violation USING MESSAGE = 'an event with this aggregate id and version is already stored';
        END IF;
    END LOOP;
    PERFORM pg_notify('{channel}', '');
    RETURN QUERY INSERT INTO {table} (originator_id, originator_version, topic, state)
        SELECT * FROM unnest(ids, versions, topics, states) RETURNING id;
END $$
"""


class Appender:
    """Calls (and first creates, once per process) the append function of one events table.

    `engine` is the autocommit pool (ledger/connections.py).
    """

    def __init__(self, engine: Any, table: str, channel: str) -> None:
        self.engine = engine
        self._dbapi = engine.dialect.loaded_dbapi
        self.table = table
        self.function = f"{table}_append"
        self.channel = channel
        self._ready = False
        self._lock = threading.Lock()
        self._group = GroupCommit(self._append_now)

    def ensure_function(self) -> None:
        """Create or replace the function; an advisory lock keeps processes starting together from colliding."""
        if self._ready:  # every append asks: once it is there, without taking the lock
            return
        with self._lock:
            if self._ready:
                return
            ddl = _FUNCTION.format(function=self.function, table=self.table, channel=self.channel)
            with translated_errors(self._dbapi), self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT pg_advisory_lock(hashtext(%s))", (self.function,))
                try:
                    connection.exec_driver_sql(ddl)
                finally:
                    connection.exec_driver_sql("SELECT pg_advisory_unlock(hashtext(%s))", (self.function,))
            self._ready = True

    def call(self, stored_events: Sequence[StoredEvent]) -> tuple[str, tuple[list[Any], ...]]:
        """The statement and parameters that append `stored_events` (creating the function first if need be)."""
        self.ensure_function()
        params = (
            [str(event.originator_id) for event in stored_events],
            [event.originator_version for event in stored_events],
            [event.topic for event in stored_events],
            [bytes(event.state) for event in stored_events],
        )
        return f"SELECT * FROM {self.function}(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[])", params

    def append(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        """Insert the events atomically and return their notification ids, in order; concurrent appends of this
        process share one call and one commit (ledger/group_commit.py)."""
        return self._group.append(stored_events)

    def _append_now(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        """One call of the function: this is the hottest statement of the ledger, and SQLAlchemy's statement
        handling cost about as much as the round trip."""
        statement, params = self.call(stored_events)
        return [row[0] for row in run_raw(self.engine, statement, params)]
