"""The HTTP API: a thin Flask app over the ledger (`create_app()`), its schemas, and the `ledger` command.

`create_app` is imported lazily so that `ledger serve` can configure prometheus_client's multiprocess mode
before anything imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from flask import Flask


def create_app(env: Mapping[str, str] | None = None, ledger: Any = None) -> Flask:
    """Build the Flask app; see `api.app.create_app`."""
    from api.app import create_app as build

    return build(env, ledger=ledger)


__all__ = ["create_app"]
