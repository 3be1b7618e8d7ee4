"""`ledger serve`: gunicorn serving `create_app()`, each worker with its own ledger and database connections.

Metrics of all workers are summed through prometheus_client's multiprocess mode: a fresh PROMETHEUS_MULTIPROC_DIR
is made (unless one is given) before prometheus_client is first imported, and removed when the server stops.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from gunicorn.app.base import BaseApplication

TIMEOUT_SECONDS = 120  # a billing run over HTTP bills a whole governorate in one request


def _worker_exited(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class LedgerServer(BaseApplication):
    """gunicorn, configured in code rather than from a config file or the command line."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from api.app import create_app

        return create_app()


def serve(host: str, port: int, workers: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ledger-metrics-") as scratch:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", scratch)
        LedgerServer(
            {
                "bind": f"{host}:{port}",
                "workers": workers,
                "timeout": TIMEOUT_SECONDS,
                "accesslog": "-",
                "child_exit": _worker_exited,
                "control_socket_disable": True,  # no socket in $HOME, so several servers may run side by side
            }
        ).run()
