"""A short run of the load test (`load.py`): gunicorn (2 workers) on PostgreSQL, loopback only, about 12 s.

`make soak` runs the same for longer. The figures are printed (run with `-s` to see them) and kept for the report.
"""

from __future__ import annotations

import json

import pytest
from load import describe, soak

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
SECONDS = 12


def test_mixed_load_has_no_server_error_and_one_event_per_created_payment(pg_url, tmp_path):
    figures, faults, server = soak(pg_url, tmp_path, duration=SECONDS, threads=6, cap=5000, subscribers=100, workers=2)
    print("\n" + describe(figures))
    (tmp_path / "figures.json").write_text(json.dumps(figures, indent=2))
    assert not faults, faults
    assert figures["requests"] >= 100 and figures["payments_created"] >= 20
    assert {"bill_lookup", "balance", "payment", "payment_retry"} <= set(figures["latency"])
    assert "Traceback" not in server.output()
