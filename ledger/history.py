"""An account's history for auditors: its stored events one by one, and the account rebuilt as it stood at any
instant or position.

Both read the event table itself (never projections, never snapshots: snapshots are derived data outside the hash
chain, so an audit replays from the chained events alone). Events are shown with the field names auditors rely on
(`position, version, type, recorded_at, data, hash`, plus `recorded_by`, `recorded_via`); `data` is the event's
fields as stored, JSON-ready (Decimals as strings such as "3200.00", times ISO 8601 UTC). `hash` is the event's own
SHA-256 from `ledger.audit_chain`. Money in account views is in new pounds (SYP), as in `ledger.views`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any
from uuid import UUID

from eventsourcing.application import project_aggregate

from ledger import views
from ledger.audit import InvalidAsOf, InvalidCursor, InvalidLimit, NotYetRegistered
from ledger.audit_chain import Row, event_hash, events_table, stream_rows, to_event
from ledger.errors import UnknownSubscriber
from ledger.statement import statement, statement_csv, statement_html
from ledger.subscriber import subscriber_id

__all__ = [
    "account_as_of",
    "account_view",
    "history",
    "parse_cursor",
    "statement",
    "statement_csv",
    "statement_html",
    "subscriber_rows",
]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_NOT_DATA = {"timestamp", "originator_id", "originator_version", "originator_topic", "recorded_by", "recorded_via"}


def subscriber_rows(app: Any, subscriber_no: str, after: int | None = None) -> Iterator[Row]:
    """A subscriber's stored events in position order (which is also version order)."""
    table = events_table(app)
    return stream_rows(app, after=after, where=table.c.originator_id == subscriber_id(subscriber_no))


def _unknown(subscriber_no: str) -> UnknownSubscriber:
    return UnknownSubscriber(f"There is no subscriber {subscriber_no}.", subscriber_no=subscriber_no)


# -- events ---------------------------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Event field values as JSON-ready plain values: Decimal and UUID as strings, times in ISO 8601."""
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def event_item(app: Any, row: Row) -> dict[str, Any]:
    event = to_event(app, row)
    fields = {key: value for key, value in vars(event).items() if key not in _NOT_DATA}
    return {
        "position": row.position,
        "version": row.version,
        "type": type(event).__name__,
        "recorded_at": event.timestamp.astimezone(UTC).isoformat(),
        "recorded_by": getattr(event, "recorded_by", None),
        "recorded_via": getattr(event, "recorded_via", None),
        "data": jsonable(fields),
        "hash": event_hash(row).hex(),
    }


def parse_cursor(cursor: str | int | None) -> int | None:
    """A page cursor is the position of the last event already seen."""
    if cursor is None or cursor == "":
        return None
    try:
        return int(cursor)
    except (TypeError, ValueError):
        raise InvalidCursor(f"The cursor {cursor!r} is not one this service gave out.") from None


def history(
    app: Any, subscriber_no: str, after_position: int | None = None, limit: int = DEFAULT_LIMIT
) -> dict[str, Any]:
    """One page of a subscriber's stored events, oldest first: {"items": [...], "next_cursor": str | None}."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidLimit(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    rows = list(islice(subscriber_rows(app, subscriber_no, after_position), limit + 1))
    if not rows and next(subscriber_rows(app, subscriber_no), None) is None:
        raise _unknown(subscriber_no)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [event_item(app, row) for row in rows], "next_cursor": str(rows[-1].position) if more else None}


# -- the account as it stood ---------------------------------------------------------------------------------------


def account_view(sub: Any, today: date) -> dict[str, Any]:
    """The subscriber view with every bill, payment and reading, all with their status on `today`."""
    return {
        **views.subscriber_view(sub, today),
        "bills": [views.bill_view(sub, bill, today) for bill in sub.bills.values()],
        "payments": [views.payment_view(sub, payment) for payment in sub.payments.values()],
        "readings": [views.reading_view(reading) for reading in sub.readings.values()],
    }


def _events_until(
    app: Any, subscriber_no: str, as_of: datetime | None, as_of_position: int | None
) -> list[tuple[int, Any]]:
    """(position, event) of every event up to the last one recorded at or before the instant or position."""
    kept: list[tuple[int, Any]] = []
    cut = 0
    seen = False
    for row in subscriber_rows(app, subscriber_no):
        seen = True
        if as_of_position is not None and row.position > as_of_position:
            break
        event = to_event(app, row)
        kept.append((row.position, event))
        if as_of is None or event.timestamp <= as_of:
            cut = len(kept)  # the last version recorded by then (clock skew between writers cannot hide it)
    if not seen:
        raise _unknown(subscriber_no)
    return kept[:cut]


def account_as_of(
    app: Any,
    subscriber_no: str,
    as_of: datetime | None = None,
    as_of_position: int | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """The account as it stood at `as_of` (an aware instant) or at event position `as_of_position`, replayed.

    `today` decides which bills were overdue; by default the day of `as_of`, or the day the last replayed event
    was recorded. Raises NotYetRegistered when the subscriber had no event yet by then.
    """
    if as_of is not None and as_of_position is not None:
        raise InvalidAsOf("Give either an instant (as_of) or a position (as_of_position), not both.")
    if as_of is not None and as_of.tzinfo is None:
        raise InvalidAsOf("as_of must carry a timezone, for example 2026-03-01T00:00:00Z.")
    events = _events_until(app, subscriber_no, as_of, as_of_position)
    if not events:
        when = as_of.isoformat() if as_of is not None else f"position {as_of_position}"
        raise NotYetRegistered(
            f"Subscriber {subscriber_no} was not registered yet at {when}.", subscriber_no=subscriber_no
        )
    sub: Any = project_aggregate(None, [event for _, event in events])
    position, last = events[-1]
    recorded_at = last.timestamp.astimezone(UTC)
    day = today or (
        as_of.astimezone(UTC).date()
        if as_of is not None
        else recorded_at.date()
        if as_of_position is not None
        else app.today()
    )
    return {
        **account_view(sub, day),
        "replayed": {
            "as_of": as_of.astimezone(UTC).isoformat() if as_of is not None else None,
            "as_of_position": as_of_position,
            "version": sub.version,
            "position": position,
            "recorded_at": recorded_at.isoformat(),
            "today": day.isoformat(),
        },
    }
