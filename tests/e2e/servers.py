"""Starting a real `ledger serve` for end-to-end tests: a free loopback port, and waiting until it answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(base: str, process: subprocess.Popen) -> None:
    """Until /healthz answers 200 (at most 60 s); fails the test with gunicorn's last words if it exits."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if requests.get(base + "/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or a worker still starting
            pass
        time.sleep(0.2)
    pytest.fail("gunicorn did not answer /healthz within 60 s")


@contextmanager
def serving(database_url: str, tokens: str, **extra_env: str) -> Iterator[str]:
    """`ledger serve` with two workers on a free loopback port; yields its base URL and stops it afterwards."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("ledger")), "serve", "--port", str(port), "--workers", "2"]
    env = {**os.environ, "LEDGER_DATABASE_URL": database_url, "LEDGER_TOKENS": tokens, **extra_env}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
