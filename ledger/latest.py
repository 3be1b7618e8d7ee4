"""The latest state this process has seen of recently used aggregates, so that a command need not read it again.

An object in the cache is never changed while it is in. A read copies it, brings the copy up to date with the events
stored after it (one SELECT, usually empty) and keeps the newer copy. A command `take`s it: out of the cache, changed
in place and put back only once its save has succeeded, so a command copies nothing (a copy grows with the
subscriber's history). A command that fails drops what it took, and the next load reads the store. Two commands on
one subscriber at once in one process: one takes the state, the other loads it from the store, and the save of the
slower one fails and is decided again. A read copies, and a command takes, under one lock, so a read that found the
state a moment before a command took it finishes its copy before the command can change it.

A command may take the state without reading what is newer: saving its events proves that state current (a newer
event stored elsewhere holds the version number the command's event would take, so the save fails and the command
is decided again on stored state; see `LedgerApplication.deciding`). That saves a read per command while this
process is the only one writing to its subscribers. With several server processes taking turns on the same
subscribers, the state kept here is often behind, and each failed save costs the decision, the append and a reload
from the store. So the cache keeps count (`observe`): once more than READ_FIRST_ABOVE of the states it handed out
unread turned out behind, commands read what is newer first, and these reads go on counting, so that it goes back
to not reading when that stops paying. (The library's cache brings its cached object up to date in place, which a
reader copying it without the library's lock could see half done.)
"""

from __future__ import annotations

import copy
import threading
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, LRUCache

READ_FIRST_ABOVE = 0.1  # a failed save and a reload cost about ten reads of the newer events
MEMORY = 32  # observations (about) that the share of stale states is averaged over


class LatestStates:
    def __init__(self, repository: Any, maxsize: int) -> None:
        self.repository = repository
        self.events = repository.event_store
        self.cache: LRUCache[UUID, Any] | None = LRUCache(maxsize=maxsize) if maxsize > 0 else None
        self.stale_share = 0.0
        self._handing_out = threading.Lock()

    def take(self, aggregate_id: UUID, proven: bool) -> tuple[Any, bool]:
        """The aggregate for a command, the caller's alone to change (`remember` it once saved), and whether it was
        read from the store: with `proven`, or when kept states have lately often been behind, it is brought up to
        date; otherwise it is the state as last seen here. Raises AggregateNotFoundError."""
        with self._handing_out:
            seen = self._seen(aggregate_id, evict=True)
        if seen is None:
            return self.repository.get(aggregate_id), True
        if not proven and self.stale_share <= READ_FIRST_ABOVE:
            return seen, False
        newer = self._newer(seen)
        if not proven:
            self.observe(stale=bool(newer))
        return self._applied(seen, newer), True

    def observe(self, stale: bool) -> None:
        """Count whether a state handed out unread was behind the store (its save failed) or current."""
        self.stale_share += ((1.0 if stale else 0.0) - self.stale_share) / MEMORY

    def load(self, aggregate_id: UUID) -> Any:
        """A private copy of the aggregate as stored now. Raises AggregateNotFoundError."""
        with self._handing_out:
            seen = self._seen(aggregate_id)
            latest = None if seen is None else copy.deepcopy(seen)
        if latest is None:
            latest = self.repository.get(aggregate_id)
            self.remember(copy.deepcopy(latest))
            return latest
        newer = self._newer(latest)
        if newer:
            latest = self._applied(latest, newer)
            self.remember(copy.deepcopy(latest))
        return latest

    def remember(self, aggregate: Any) -> None:
        """Keep `aggregate` (which nobody may change from now on) unless a newer state is already kept."""
        if self.cache is None:
            return
        seen = self._seen(aggregate.id)
        if seen is None or seen.version < aggregate.version:
            self.cache.put(aggregate.id, aggregate)

    def _newer(self, aggregate: Any) -> list[Any]:
        return list(self.events.get(originator_id=aggregate.id, gt=aggregate.version))

    @staticmethod
    def _applied(aggregate: Any, newer: list[Any]) -> Any:
        aggregate_id = aggregate.id
        for event in newer:
            aggregate = event.mutate(aggregate)
        if aggregate is None:
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    def _seen(self, aggregate_id: UUID, evict: bool = False) -> Any | None:
        if self.cache is None:
            return None
        try:
            return self.cache.get(aggregate_id, evict=evict)
        except KeyError:
            return None
