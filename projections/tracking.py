"""The read models' position in the ledger's notification log, in `rm_tracking`, written with each batch.

A position is eventsourcing's `Tracking(application_name, notification_id)`: the id of the last notification of
that application whose effects are in the read models. It moves only in the transaction that writes those effects,
and only from the position the writer started from (compare and set), so a batch is applied exactly once even if
the single-writer lock were ever lost.
"""

from __future__ import annotations

from eventsourcing.persistence import Tracking
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from projections.tables import tracking as table


class PositionMoved(RuntimeError):
    """Someone else moved the position while this runner was applying a batch: its batch is rolled back."""


def position(conn: Connection, application_name: str) -> int:
    found = conn.execute(
        select(table.c.notification_id).where(table.c.application_name == application_name)
    ).scalar_one_or_none()
    return 0 if found is None else int(found)


def ensure(conn: Connection, application_name: str) -> None:
    """Start at position 0 when this application has never been projected."""
    exists = conn.execute(select(table.c.application_name).where(table.c.application_name == application_name)).first()
    if exists is None:
        conn.execute(insert(table).values(application_name=application_name, notification_id=0))


def advance(conn: Connection, expected: int, to: Tracking) -> None:
    """Move the position from `expected` to `to.notification_id`, in the caller's transaction."""
    moved = conn.execute(
        update(table)
        .where(table.c.application_name == to.application_name, table.c.notification_id == expected)
        .values(notification_id=to.notification_id)
    )
    if moved.rowcount != 1:
        raise PositionMoved(
            f"the projection position of {to.application_name} is no longer {expected}: another runner wrote to "
            "the read models; this batch was rolled back"
        )


def reset(conn: Connection, application_name: str) -> None:
    conn.execute(update(table).where(table.c.application_name == application_name).values(notification_id=0))
