"""Group commit: the appends that threads of one process ask for at the same moment go as one call, one commit.

Every append holds the event table's lock until its commit, and a commit waits for the server to flush its write-
ahead log, so appends from many threads queue behind one another's flushes. Here a thread that finds another
append already under way waits; when that one ends, one waiting thread takes every request queued meanwhile and
appends all their events with one call of the append function, in the order they were asked for, in one
transaction. Each request still gets exactly its own notification ids, or its own error:

- the group's transaction is all or nothing, so when it fails with an IntegrityError (one request lost an optimistic
  race) no request's events are stored, and each request is appended again on its own, so that only the one that
  lost fails, as it would have without the group;
- requests that would store the same aggregate at the same version are never grouped (the function checks the
  table, not its own arguments, and a collision inside one statement would burn sequence numbers);
- any other error (the server went away) is every request's error, as it would have been for each of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from eventsourcing.persistence import IntegrityError, StoredEvent

Append = Callable[[Sequence[StoredEvent]], list[int]]


class _Request:
    def __init__(self, events: Sequence[StoredEvent]) -> None:
        self.events = events
        self.ids: list[int] | None = None
        self.error: BaseException | None = None

    @property
    def finished(self) -> bool:
        return self.ids is not None or self.error is not None

    def outcome(self) -> list[int]:
        if self.error is not None:
            raise self.error
        assert self.ids is not None
        return self.ids


class GroupCommit:
    """Wraps an append function (events -> their notification ids) so that concurrent calls share commits."""

    def __init__(self, append: Append) -> None:
        self._append = append
        self._changed = threading.Condition()
        self._queue: list[_Request] = []
        self._busy = False

    def append(self, events: Sequence[StoredEvent]) -> list[int]:
        mine = _Request(events)
        with self._changed:
            self._queue.append(mine)
            while self._busy and not mine.finished:
                self._changed.wait()
            if mine.finished:
                return mine.outcome()
            self._busy = True
            group, self._queue = self._queue, []
        try:
            self._run(group)
        finally:
            with self._changed:
                self._busy = False
                self._changed.notify_all()
        return mine.outcome()

    def _run(self, group: list[_Request]) -> None:
        if len(group) > 1 and not _collide(group):
            try:
                ids = self._append([event for request in group for event in request.events])
            except IntegrityError:
                pass  # someone lost a race: find out who, one by one
            except BaseException as error:  # nothing was stored: each request fails as it would have alone
                for request in group:
                    request.error = error
                return
            else:
                for request in group:
                    request.ids, ids = ids[: len(request.events)], ids[len(request.events) :]
                return
        for request in group:
            try:
                request.ids = self._append(request.events)
            except BaseException as error:
                request.error = error


def _collide(group: list[_Request]) -> bool:
    keys = [(event.originator_id, event.originator_version) for request in group for event in request.events]
    return len(set(keys)) != len(keys)
