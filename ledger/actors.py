"""Who is acting: every event records the client (API token name or CLI user) and the channel it came through.

The API and the CLI set the actor once per request or command with `acting_as`; the aggregates read it when they
record an event, so commands need not thread it through every signature.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Actor:
    name: str
    channel: str


@cache
def _default_actor() -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(name=f"cli:{user}", channel="cli")


_current: ContextVar[Actor | None] = ContextVar("ledger_actor", default=None)


def current_actor() -> Actor:
    return _current.get() or _default_actor()


@contextmanager
def acting_as(name: str, channel: str) -> Iterator[Actor]:
    actor = Actor(name=name, channel=channel)
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)
