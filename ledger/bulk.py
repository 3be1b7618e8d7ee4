"""Loading many subscribers at once: two SELECTs for a whole batch instead of two per subscriber.

Billing runs touch every subscriber of a governorate. Each subscriber is rebuilt exactly as the repository would:
from its latest snapshot plus the events after it (or from all its events when it has no snapshot yet). Saving
stays optimistic: a subscriber changed by someone else after this read collides on its next version when saved.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from sqlalchemy import and_, or_, select

from ledger.connections import autocommit_engine, read_raw
from ledger.subscriber import Subscriber, subscriber_id


def _rows(recorder: Any, where: Any) -> list[Any]:
    table = recorder.events_record_cls.__table__
    query = select(table.c.originator_id, table.c.originator_version, table.c.topic, table.c.state).where(where)
    with recorder.datastore.engine.connect() as connection:
        return connection.execute(query.order_by(table.c.originator_id, table.c.originator_version)).all()


def _stored(row: Any) -> StoredEvent:
    state = bytes(row[3]) if isinstance(row[3], memoryview) else row[3]
    return StoredEvent(originator_id=row[0], originator_version=row[1], topic=row[2], state=state)


def _latest_snapshots(app: Any, ids: list[UUID]) -> dict[UUID, Any]:
    """The latest snapshot of each aggregate that has one; on PostgreSQL the ids go as one array, on the autocommit
    pool (an IN list of 200 ids cost more to build and compile, in a transaction of its own, than to answer)."""
    if app.snapshots is None:
        return {}
    recorder = app.snapshots.recorder
    if recorder.datastore.engine.dialect.name == "postgresql":
        statement = (
            f"SELECT originator_id::text, originator_version, topic, state FROM {recorder._qualified_table()} "
            "WHERE originator_id = ANY(%s::uuid[]) ORDER BY originator_id, originator_version"
        )
        rows = _pg_rows(recorder, statement, ids, ([str(i) for i in ids],))
    else:
        rows = _rows(recorder, recorder.events_record_cls.__table__.c.originator_id.in_(ids))
    latest: dict[UUID, Any] = {}
    for row in rows:
        latest[row[0]] = row  # ordered by version: the last one wins
    return latest


def load_subscribers(app: Any, numbers: Iterable[str] | Mapping[str, UUID]) -> dict[str, Subscriber]:
    """The current state of each known subscriber in `numbers`, keyed by number; unknown numbers are left out.

    `numbers` may map each number to its subscriber's id, when the caller has it already."""
    if isinstance(numbers, Mapping):
        by_id = {oid: no for no, oid in numbers.items()}
    else:
        by_id = {subscriber_id(no): no for no in numbers}
    if not by_id:
        return {}
    snapshots = _latest_snapshots(app, list(by_id))
    after = {oid: snapshots[oid][1] if oid in snapshots else 0 for oid in by_id}
    found: dict[UUID, Any] = {
        oid: app.mapper.to_domain_event(_stored(row)).mutate(None) for oid, row in snapshots.items()
    }
    found = _replay(app, _events_after(app.recorder, after), found)
    return {by_id[oid]: aggregate for oid, aggregate in found.items()}


def _replay(app: Any, rows: Iterable[Any], found: dict[UUID, Any]) -> dict[UUID, Any]:
    """Apply each row's event to its aggregate in `found` (rows ordered by aggregate and version)."""
    for row in rows:
        found[row[0]] = app.mapper.to_domain_event(_stored(row)).mutate(found.get(row[0]))
    return found


def _events_after(recorder: Any, after: dict[UUID, int]) -> list[Any]:
    """Each aggregate's events after the given version, ordered by aggregate and version.

    On PostgreSQL one statement takes the (id, version) pairs as arrays (SQLAlchemy took longer to build and compile
    a 200-branch OR than the server took to answer it), and a LATERAL subquery per pair, fenced with `OFFSET 0` so
    that each stays an index range scan: otherwise the planner may hash-join the whole event table once per batch.
    """
    engine = recorder.datastore.engine
    if engine.dialect.name != "postgresql":
        table = recorder.events_record_cls.__table__
        version, originator = table.c.originator_version, table.c.originator_id
        return _rows(recorder, or_(*[and_(originator == oid, version > v) for oid, v in after.items()]))
    table = recorder._qualified_table()
    statement = (
        "SELECT e.originator_id::text, e.originator_version, e.topic, e.state "
        "FROM unnest(%s::uuid[], %s::bigint[]) AS wanted (id, after) CROSS JOIN LATERAL ("
        f"SELECT originator_id, originator_version, topic, state FROM {table} "
        "WHERE originator_id = wanted.id AND originator_version > wanted.after OFFSET 0) AS e "
        "ORDER BY e.originator_id, e.originator_version"
    )
    return _pg_rows(recorder, statement, after, ([str(oid) for oid in after], list(after.values())))


def aggregates_at(app: Any, ids: list[UUID], position: int) -> dict[UUID, Any]:
    """Each aggregate as its events up to notification `position` leave it, replayed from events alone (one SELECT
    for the whole list); aggregates with no event by then are left out."""
    if not ids:
        return {}
    return _replay(app, _events_upto(app.recorder, ids, position), {})


def _events_upto(recorder: Any, ids: list[UUID], position: int) -> list[Any]:
    """The aggregates' events with notification id <= `position`, by aggregate and version; on PostgreSQL with a
    fenced index lookup per aggregate (see `_events_after`: an IN list let the planner scan the whole table)."""
    engine = recorder.datastore.engine
    if engine.dialect.name != "postgresql":
        table = recorder.events_record_cls.__table__
        return _rows(recorder, and_(table.c.originator_id.in_(ids), table.c.id <= position))
    # The position is tested outside the fence: inside, the planner once ANDed a bitmap of every id <= position
    # (the whole table) into each aggregate's lookup.
    statement = (
        "SELECT e.originator_id::text, e.originator_version, e.topic, e.state "
        "FROM unnest(%s::uuid[]) AS wanted (id) CROSS JOIN LATERAL ("
        f"SELECT id, originator_id, originator_version, topic, state FROM {recorder._qualified_table()} "
        "WHERE originator_id = wanted.id OFFSET 0) AS e "
        "WHERE e.id <= %s ORDER BY e.originator_id, e.originator_version"
    )
    return _pg_rows(recorder, statement, ids, ([str(i) for i in ids], position))


def _pg_rows(recorder: Any, statement: str, ids: Iterable[UUID], params: tuple[Any, ...]) -> list[Any]:
    """(originator_id, version, topic, state) rows of one statement on a raw connection of the autocommit pool.

    The statement gives each id as text, and the caller's own UUID for that text goes in the row: the driver made a
    UUID of every row's id, and SQLAlchemy's row handling cost more than the rows' decoding."""
    known = {str(oid): oid for oid in ids}
    return [(known[row[0]], *row[1:]) for row in read_raw(autocommit_engine(recorder.datastore), statement, params)]


def notification_pages(app: Any, topic: str, upto: int, page: int = 1000, window: int = 20_000) -> Iterator[list[Any]]:
    """The notifications of one topic up to position `upto`, in order, a page at a time.

    The log is read in windows of `window` positions: asking for "the next `page` of this topic after P" let the
    planner read and sort every event after P, once per page, which grew with the square of the log.
    """
    position = 0
    while position < upto:
        stop = min(position + window, upto)
        found = app.recorder.select_notifications(position, page, stop=stop, topics=[topic], inclusive_of_start=False)
        if found:
            yield found
        position = found[-1].id if len(found) == page else stop
