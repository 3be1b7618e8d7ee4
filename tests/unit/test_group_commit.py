"""Group commit (ledger/group_commit.py) with a stand-in for the append function, so that which requests share a
call is certain: appends that queue behind a running one go as one call, each gets exactly its own ids, a lost race
inside a group fails only the request that lost it, and a failure of the whole call is every member's."""

from __future__ import annotations

import threading
import time
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent

from ledger.group_commit import GroupCommit


def event(aggregate=None, version=1):
    return StoredEvent(originator_id=aggregate or uuid4(), originator_version=version, topic="t", state=b"{}")


class Store:
    """Appends like the server function: checks (aggregate, version) against what is stored, numbers in order."""

    def __init__(self, fail_with=None):
        self.stored: dict[tuple, int] = {}
        self.calls: list[int] = []
        self.first_call_may_end = threading.Event()
        self.fail_with = fail_with

    def append(self, events):
        self.calls.append(len(events))
        if len(self.calls) == 1:
            assert self.first_call_may_end.wait(10)
        if self.fail_with is not None and len(events) > 1:
            raise self.fail_with
        keys = [(e.originator_id, e.originator_version) for e in events]
        if any(key in self.stored for key in keys):
            raise IntegrityError("an event with this aggregate id and version is already stored")
        ids = list(range(len(self.stored) + 1, len(self.stored) + 1 + len(keys)))
        self.stored.update(zip(keys, ids, strict=True))
        return ids


def race(group, batches):
    """The first batch alone, then the others queued behind it; each thread's ids or error, in batch order."""
    outcomes = [None] * len(batches)

    def run(n):
        try:
            outcomes[n] = group.append(batches[n])
        except Exception as error:
            outcomes[n] = error

    first = threading.Thread(target=run, args=(0,))
    first.start()
    while not group._busy:
        time.sleep(0.001)
    others = [threading.Thread(target=run, args=(n,)) for n in range(1, len(batches))]
    for thread in others:
        thread.start()
    while len(group._queue) < len(others):
        time.sleep(0.001)
    return first, others, outcomes


def finish(store, first, others):
    store.first_call_may_end.set()
    for thread in [first, *others]:
        thread.join(10)


def test_appends_queued_behind_a_running_one_share_one_call_and_each_gets_its_own_ids():
    store = Store()
    group = GroupCommit(store.append)
    batches = [[event()], [event(), event()], [event()], [event(), event(), event()]]
    first, others, outcomes = race(group, batches)
    finish(store, first, others)
    assert store.calls == [1, 6]
    assert [ids for ids in outcomes] == [[1], [2, 3], [4], [5, 6, 7]]
    for batch, ids in zip(batches, outcomes, strict=True):
        assert [store.stored[(e.originator_id, e.originator_version)] for e in batch] == ids


def test_a_lost_race_inside_a_group_fails_only_the_request_that_lost_it():
    store = Store()
    group = GroupCommit(store.append)
    taken = event()
    store.stored[(taken.originator_id, 1)] = 0  # already stored by another process
    batches = [[event()], [event()], [event(taken.originator_id, 1)], [event()]]
    first, others, outcomes = race(group, batches)
    finish(store, first, others)
    assert store.calls == [1, 3, 1, 1, 1]  # the group failed as a whole, then each on its own
    assert isinstance(outcomes[2], IntegrityError)
    assert [outcomes[n] for n in (0, 1, 3)] == [[2], [3], [4]]  # numbered after the one stored before
    assert len(store.stored) == 4


def test_requests_for_the_same_aggregate_version_are_never_grouped():
    store = Store()
    group = GroupCommit(store.append)
    same = uuid4()
    batches = [[event()], [event(same, 1)], [event(same, 1)]]
    first, others, outcomes = race(group, batches)
    finish(store, first, others)
    assert store.calls == [1, 1, 1]
    assert sorted(type(o).__name__ for o in outcomes[1:]) == ["IntegrityError", "list"]


def test_a_failure_of_the_whole_call_is_every_members_and_nothing_is_stored():
    store = Store(fail_with=OperationalError("server closed the connection"))
    group = GroupCommit(store.append)
    first, others, outcomes = race(group, [[event()], [event()], [event()]])
    finish(store, first, others)
    assert outcomes[0] == [1]
    assert all(isinstance(o, OperationalError) for o in outcomes[1:]) and len(store.stored) == 1
    with pytest.raises(OperationalError):
        group.append([event(), event()])
