"""Many commands, one transaction: the unit of work behind `LedgerApplication.batch()`.

Inside a batch, every command runs exactly as it would alone (the same aggregate methods decide, the same refusals
are raised), but what it saves is kept here instead of being written: loading an aggregate the batch already holds
returns that same object, with everything earlier commands did to it. When the batch ends, all the aggregates are
saved in one transaction. A batch is for bulk loading by a sole writer (the demo seeding a million subscribers):
it is all or nothing, so a collision with another writer fails the whole batch rather than one command.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any
from uuid import UUID


class Batch:
    def __init__(self) -> None:
        self.aggregates: dict[UUID, Any] = {}

    def collect(self, objects: Iterable[Any]) -> None:
        for obj in objects:
            if obj is not None:
                self.aggregates[obj.id] = obj

    def get(self, aggregate_id: UUID) -> Any | None:
        return self.aggregates.get(aggregate_id)


current: ContextVar[Batch | None] = ContextVar("ledger_batch", default=None)


def held(aggregate_id: UUID) -> Any | None:
    """The aggregate as the current batch holds it, or None (no batch, or not in it)."""
    batch = current.get()
    return None if batch is None else batch.get(aggregate_id)
