"""The tamper-evidence hash chain over every stored event, and the checkpoints that seal it.

Chain `sha256-chain-v1`, over the rows of the event table in position (notification id) order::

    content_n = originator_id (16 bytes, the UUID's big-endian bytes)
             || version       (8 bytes, unsigned big-endian)
             || len(topic)    (4 bytes, unsigned big-endian, length of the UTF-8 topic)
             || topic         (UTF-8)
             || sha256(state) (32 bytes, over the stored state bytes exactly as stored)
    h_0 = 32 zero bytes
    h_n = sha256(h_{n-1} || position (8 bytes, signed big-endian) || content_n)

Every field but the topic has a fixed width and the topic is length-prefixed, so the encoding is unambiguous.
An event's own `hash` (shown to auditors beside each event) is sha256(content_n): it names the event's content
whatever its position; the chain binds contents to positions and to everything before them.

Checkpoints live in `ledger_audit_digests` (same database, created here with SQLAlchemy Core): one row per sealed
segment of at most CHECKPOINT_EVENTS events, keyed by the last position it covers, with the chain digest there;
`previous`, the previous checkpoint's position (unique, ORIGIN for the first, so that racing sealers can only extend
one line of checkpoints, never store overlapping ones); and `leaves`: for each event of the segment its position
(8 bytes) and the first 8 bytes of its hash. The digest proves the segment; the leaves only locate a fault (which
position was altered, removed, inserted or moved). Whoever can write the database can also rewrite checkpoints: an
auditor keeps a digest (`HEX@POSITION`) outside the database and supplies it to `verify`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID
from weakref import WeakKeyDictionary

from eventsourcing.persistence import StoredEvent
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
    select,
    type_coerce,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import NullType

ALGORITHM = "sha256-chain-v1"
GENESIS = bytes(32)
BATCH = 1000
CHECKPOINT_EVENTS = 1000
LEAF_BYTES = 8
ORIGIN = -(2**63)  # the `previous` of the first checkpoint: below every position
DIGESTS_TABLE = "ledger_audit_digests"
_ID = BigInteger().with_variant(Integer(), "sqlite")


class Row(NamedTuple):
    """One stored event as the chain sees it: its position and the four stored columns."""

    position: int
    originator_id: UUID
    version: int
    topic: str
    state: bytes


def content_bytes(row: Row) -> bytes:
    topic = row.topic.encode("utf-8")
    return b"".join(
        (
            row.originator_id.bytes,
            row.version.to_bytes(8, "big"),
            len(topic).to_bytes(4, "big"),
            topic,
            hashlib.sha256(row.state).digest(),
        )
    )


def event_hash(row: Row) -> bytes:
    """sha256(content): the event's own hash, independent of its position."""
    return hashlib.sha256(content_bytes(row)).digest()


def position_bytes(position: int) -> bytes:
    return position.to_bytes(8, "big", signed=True)


def chain_step(previous: bytes, position: int, content: bytes) -> bytes:
    return hashlib.sha256(previous + position_bytes(position) + content).digest()


# -- reading the event table (read-only, streamed in batches) ------------------------------------------------------


def events_table(app: Any) -> Table:
    return app.recorder.events_record_cls.__table__


def engine(app: Any) -> Any:
    return app.recorder.datastore.engine


def raw_columns(table: Table) -> tuple[Any, ...]:
    """The event columns read as the driver returns them, so a row whose bytes were damaged still reads."""
    return (
        table.c.id,
        *(
            type_coerce(table.c[name], NullType()).label(name)
            for name in ("originator_id", "originator_version", "topic", "state")
        ),
    )


def _uuid(value: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(bytes=bytes(value)) if isinstance(value, bytes | memoryview) else UUID(str(value))
    except ValueError:
        return UUID(int=0)  # damaged beyond reading: never matches a sealed event, so it is reported


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes | memoryview | bytearray):
        return bytes(value)
    return value.encode("utf-8") if isinstance(value, str) else repr(value).encode("utf-8")


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def as_row(record: Any) -> Row:
    """A row read with `raw_columns`, normalised; damaged values get stand-ins that never match a sealed event."""
    return Row(
        record.id, _uuid(record.originator_id), _int(record.originator_version), str(record.topic), _bytes(record.state)
    )


def to_event(app: Any, row: Row) -> Any:
    """Decode a stored row into its domain event with the application's own mapper."""
    stored = StoredEvent(
        originator_id=row.originator_id, originator_version=row.version, topic=row.topic, state=row.state
    )
    return app.mapper.to_domain_event(stored)


def max_position(app: Any) -> int | None:
    table = events_table(app)
    with engine(app).connect() as conn:
        return conn.execute(select(func.max(table.c.id))).scalar()


def stream_rows(
    app: Any, after: int | None = None, upto: int | None = None, batch: int = BATCH, where: Any = None
) -> Iterator[Row]:
    """Every stored event with after < position <= upto, in position order, fetched `batch` rows at a time."""
    table = events_table(app)
    query = select(*raw_columns(table)).order_by(table.c.id)
    if after is not None:
        query = query.where(table.c.id > after)
    if upto is not None:
        query = query.where(table.c.id <= upto)
    if where is not None:
        query = query.where(where)
    return streamed(app, query, batch)


def streamed(app: Any, query: Any, batch: int = BATCH) -> Iterator[Row]:
    """The rows of one query read with `raw_columns`, fetched `batch` at a time through a server-side cursor.

    One query for a whole pass, not one per batch: each of those paid for its own plan, index descent and round
    trip, which cost a whole-ledger pass more than reading the rows did."""
    with engine(app).connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
        for chunk in result.partitions():
            yield from map(as_row, chunk)


# -- checkpoints ----------------------------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    position: int
    previous: int
    digest: bytes
    events: int
    leaves: bytes
    created_at: datetime | None = None

    def expected(self) -> dict[int, bytes]:
        """position -> first LEAF_BYTES of that event's hash, as sealed."""
        size = 8 + LEAF_BYTES
        return {
            int.from_bytes(self.leaves[i : i + 8], "big", signed=True): self.leaves[i + 8 : i + size]
            for i in range(0, len(self.leaves), size)
        }


@dataclass
class Segment:
    """A checkpoint being built: the chain so far and the leaves of the events since the previous checkpoint."""

    previous: int
    digest: bytes
    events: int = 0
    position: int | None = None
    leaves: bytearray = field(default_factory=bytearray)

    def add(self, row: Row) -> None:
        content = content_bytes(row)
        self.digest = chain_step(self.digest, row.position, content)
        self.leaves += position_bytes(row.position) + hashlib.sha256(content).digest()[:LEAF_BYTES]
        self.events += 1
        self.position = row.position

    def checkpoint(self) -> Checkpoint:
        assert self.position is not None
        return Checkpoint(self.position, self.previous, self.digest, self.events, bytes(self.leaves), datetime.now(UTC))


def _define_digests(schema: str | None) -> Table:
    return Table(
        DIGESTS_TABLE,
        MetaData(schema=schema),
        Column("position", _ID, primary_key=True, autoincrement=False),
        Column("previous", _ID, nullable=False, unique=True),
        Column("digest", String(64), nullable=False),
        Column("events", Integer, nullable=False),
        Column("leaves", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


_TABLES: WeakKeyDictionary[Any, Table] = WeakKeyDictionary()


def digests_table(app: Any) -> Table:
    """The checkpoint table, created once per engine if missing (same database and schema as the events)."""
    table = _TABLES.get(engine(app))
    if table is None:
        table = _define_digests(app.recorder.schema_name)
        try:
            table.create(engine(app), checkfirst=True)
        except DBAPIError:  # another process created it between the check and the create
            table.create(engine(app), checkfirst=True)
        _TABLES[engine(app)] = table
    return table


def _checkpoint(record: Any) -> Checkpoint:
    created = record.created_at
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    try:
        digest = bytes.fromhex(record.digest)
    except ValueError:
        digest = b""  # an unreadable stored digest simply never matches
    return Checkpoint(record.position, record.previous, digest, record.events, bytes(record.leaves), created)


def last_checkpoint(app: Any, table: Table) -> Checkpoint | None:
    with engine(app).connect() as conn:
        record = conn.execute(select(table).order_by(table.c.position.desc()).limit(1)).first()
    return None if record is None else _checkpoint(record)


def stream_checkpoints(app: Any, table: Table, upto: int, batch: int = 100) -> Iterator[Checkpoint]:
    """Stored checkpoints with position <= upto, in position order."""
    after: int | None = None
    while True:
        query = select(table).where(table.c.position <= upto).order_by(table.c.position).limit(batch)
        if after is not None:
            query = query.where(table.c.position > after)
        with engine(app).connect() as conn:
            records = conn.execute(query).all()
        yield from (_checkpoint(r) for r in records)
        if len(records) < batch:
            return
        after = records[-1].position


def store_checkpoint(app: Any, table: Table, checkpoint: Checkpoint) -> None:
    with engine(app).begin() as conn:
        conn.execute(
            table.insert().values(
                position=checkpoint.position,
                previous=checkpoint.previous,
                digest=checkpoint.digest.hex(),
                events=checkpoint.events,
                leaves=checkpoint.leaves,
                created_at=checkpoint.created_at,
            )
        )
