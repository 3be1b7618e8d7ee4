"""`ledger serve`: gunicorn serving `create_app()`, each worker with its own ledger and database connections.

A worker that starts while the database is away waits for it (up to BOOT_WAIT_SECONDS) rather than failing to boot:
gunicorn halts the whole server when a worker fails to boot, so one worker restarted during an outage would otherwise
take the service down for good.

Metrics of all workers are summed through prometheus_client's multiprocess mode: a fresh PROMETHEUS_MULTIPROC_DIR
is made (unless one is given) before prometheus_client is first imported, and removed when the server stops.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

TIMEOUT_SECONDS = 120  # a billing run over HTTP bills a whole governorate in one request
BOOT_WAIT_SECONDS = 90  # below TIMEOUT_SECONDS, after which gunicorn would kill a silent worker anyway
# gunicorn's default access line prints a Basic user name (`%(u)s`) and the query string (`%(r)s`): a client that
# sends its token as `curl -u TOKEN:` or `?access_token=TOKEN` would have it written to the log. Path only, no user.
ACCESS_LOG_FORMAT = '%(h)s - - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
log = logging.getLogger("gunicorn.error")


def _worker_exited(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class AccessLogger(Logger):
    """gunicorn's logger, building only the atoms ACCESS_LOG_FORMAT prints. gunicorn's own builds one for every
    request header, response header and WSGI environ entry of every request, which cost more than parsing it."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        status = resp.status
        sent = getattr(resp, "sent", None)
        return {
            "h": environ.get("REMOTE_ADDR", "-"),
            "t": self.now(),
            "m": environ.get("REQUEST_METHOD"),
            "U": environ.get("PATH_INFO"),
            "H": environ.get("SERVER_PROTOCOL"),
            "s": status.split(None, 1)[0] if isinstance(status, str) else status,
            "b": "-" if sent is None else str(sent),
            "M": request_time.seconds * 1000 + request_time.microseconds // 1000,
            "a": environ.get("HTTP_USER_AGENT", "-"),
        }


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

        return when_database_answers(create_app)


def when_database_answers(build: Callable[[], Any], wait: float = BOOT_WAIT_SECONDS) -> Any:
    """`build()`, tried again with backoff while it fails only because the database is away."""
    from api.problems import is_database_down

    deadline, delay = time.monotonic() + wait, 0.25
    while True:
        try:
            return build()
        except Exception as error:
            if not is_database_down(error) or time.monotonic() + delay > deadline:
                raise
            log.warning("database unreachable while starting (%s); trying again in %.2f s", type(error).__name__, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def serve(host: str, port: int, workers: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ledger-metrics-") as scratch:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", scratch)
        # One session key for all workers (they inherit the environment); a restart still signs everyone out.
        os.environ.setdefault("LEDGER_SECRET_KEY", secrets.token_hex(32))
        LedgerServer(
            {
                "bind": f"{host}:{port}",
                "workers": workers,
                "timeout": TIMEOUT_SECONDS,
                "accesslog": "-",
                "access_log_format": ACCESS_LOG_FORMAT,
                "logger_class": AccessLogger,
                "child_exit": _worker_exited,
                "control_socket_disable": True,  # no socket in $HOME, so several servers may run side by side
            }
        ).run()
