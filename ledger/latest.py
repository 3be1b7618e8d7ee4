"""The latest state this process has seen of recently used aggregates, for loads that read only what is new.

An object in the cache is never changed once it is in: a load copies it, brings the copy up to date with the
events stored after it (one SELECT, usually empty) and puts the newer copy back; a command saves its own copy and
puts that. So no lock is needed, and a reader never sees a half-applied event. (The library's cache brings its
cached object up to date in place, which a reader copying it without the library's lock could see half done.)

Commands may also take `copy_of_seen()`: the state as last seen, without any read. That is safe only because the
command's save checks it: a newer event stored elsewhere holds the version number the command's event would take,
so the save fails and the command is decided again on stored state (`LedgerApplication.deciding`).
"""

from __future__ import annotations

import copy
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, LRUCache


class LatestStates:
    def __init__(self, repository: Any, maxsize: int) -> None:
        self.repository = repository
        self.events = repository.event_store
        self.cache: LRUCache[UUID, Any] | None = LRUCache(maxsize=maxsize) if maxsize > 0 else None

    def copy_of_seen(self, aggregate_id: UUID) -> Any | None:
        """A private copy of the state last seen here, or None; possibly behind the store."""
        seen = self._seen(aggregate_id)
        return None if seen is None else copy.deepcopy(seen)

    def load(self, aggregate_id: UUID) -> Any:
        """A private copy of the aggregate as stored now. Raises AggregateNotFoundError."""
        seen = self._seen(aggregate_id)
        if seen is None:
            latest = self.repository.get(aggregate_id)
            self.remember(copy.deepcopy(latest))
            return latest
        latest = copy.deepcopy(seen)
        newer = list(self.events.get(originator_id=aggregate_id, gt=latest.version))
        if not newer:
            return latest
        for event in newer:
            latest = event.mutate(latest)
        if latest is None:
            raise AggregateNotFoundError(aggregate_id)
        self.remember(copy.deepcopy(latest))
        return latest

    def remember(self, aggregate: Any) -> None:
        """Keep `aggregate` (which nobody may change from now on) unless a newer state is already kept."""
        if self.cache is None:
            return
        seen = self._seen(aggregate.id)
        if seen is None or seen.version < aggregate.version:
            self.cache.put(aggregate.id, aggregate)

    def _seen(self, aggregate_id: UUID) -> Any | None:
        if self.cache is None:
            return None
        try:
            return self.cache.get(aggregate_id)
        except KeyError:
            return None
