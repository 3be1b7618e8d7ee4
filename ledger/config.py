"""Configuration from environment variables, read once when an application is built.

`LEDGER_DATABASE_URL` is a SQLAlchemy URL: `sqlite:///ledger.db` (the default, a file in the working directory) or
`postgresql+psycopg2://user@host/db`. A plain `postgresql://` URL is taken to mean psycopg2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_DATABASE_URL = "sqlite:///ledger.db"


def database_url(env: Mapping[str, str] | None = None) -> str:
    source = os.environ if env is None else {**os.environ, **env}
    url = source.get("LEDGER_DATABASE_URL") or DEFAULT_DATABASE_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


def eventsourcing_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings `eventsourcing` reads, derived from ours."""
    return {
        "PERSISTENCE_MODULE": "ledger.persistence:Factory",
        "SQLALCHEMY_URL": database_url(env),
        "CREATE_TABLE": "y",
    }


def aggregate_cache_size(env: Mapping[str, str] | None = None) -> int:
    """How many subscribers each process keeps in memory (`LEDGER_AGGREGATE_CACHE`, 0 for none): see ledger/latest.py.

    Loads still read every newer event from the store, so a cache never serves stale state; it saves the snapshot
    read and the replay of old events.
    """
    source = os.environ if env is None else {**os.environ, **env}
    return max(int(source.get("LEDGER_AGGREGATE_CACHE") or "10000"), 0)
