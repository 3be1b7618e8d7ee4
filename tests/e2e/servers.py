"""Starting a real `ledger serve` for end-to-end tests: a free loopback port, and waiting until it answers."""

from __future__ import annotations

import socket
import subprocess
import time

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
