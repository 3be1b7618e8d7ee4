"""Scenarios that need the read side or the audit chain: projection rebuild and audit verification.

They run on the events left in the scratch database by the earlier scenarios and are compared with the raw rate
of reading and decoding the event table with a server-side cursor.
"""

from __future__ import annotations

from typing import Any

from benchmarks.databases import Scratch


def scenarios(db: Scratch, scale: int, read_decode: float, raw1: float) -> dict[str, dict[str, Any]]:
    return {}
