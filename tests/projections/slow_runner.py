"""`python tests/projections/slow_runner.py [ledger project options]`: the real projection CLI, with every batch
held open for PROJECTION_TEST_DELAY seconds after its writes and before its commit, so that a test can kill the
process in the middle of a batch (or start a second runner while the first is still busy)."""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from projections import apply  # noqa: E402
from projections.cli import project  # noqa: E402

DELAY = float(os.environ.get("PROJECTION_TEST_DELAY", "0"))
_apply_all = apply.apply_all


def slow_apply_all(ws, events):  # type: ignore[no-untyped-def]
    _apply_all(ws, events)
    time.sleep(DELAY)


apply.apply_all = slow_apply_all

if __name__ == "__main__":
    project()
