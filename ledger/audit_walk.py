"""Walks the recomputed hash chain alongside the stored checkpoints, and names each fault by position.

A merge on position: rows arrive in position order, checkpoints in position order. Within each checkpoint's
segment every row is matched against the leaves it sealed: an unknown position is `inserted`, a sealed position
that never comes is `missing`, a different hash is `altered`, or `reordered` when it is the hash sealed at another
position of the segment. A segment with no such fault whose digest still differs is a rewritten `checkpoint`.
The chain from genesis is also checked against the auditor's own digest (`anchor`). Memory holds one segment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ledger.audit_chain import GENESIS, LEAF_BYTES, ORIGIN, Checkpoint, chain_step

MAX_FAULTS = 1000


@dataclass
class Anchor:
    """A digest the auditor kept outside the database: the chain must reach `digest` at `position`."""

    position: int
    digest: bytes
    ok: bool | None = None

    def view(self) -> dict[str, Any]:
        return {"position": self.position, "digest": self.digest.hex(), "ok": self.ok}


@dataclass
class Faults:
    """Faults found so far, capped so that a badly damaged store cannot exhaust memory."""

    items: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    first: int | None = None

    def add(self, position: int | None, kind: str, detail: str) -> None:
        self.count += 1
        if position is not None and (self.first is None or position < self.first):
            self.first = position
        if len(self.items) < MAX_FAULTS:
            self.items.append({"position": position, "kind": kind, "detail": detail})


class ChainAudit:
    """Recomputes the chain row by row and walks the stored checkpoints alongside it (a merge on position)."""

    def __init__(self, checkpoints: Iterator[Checkpoint], faults: Faults, anchor: Anchor | None) -> None:
        self.checkpoints, self.faults, self.anchor = checkpoints, faults, anchor
        self.chain = GENESIS
        self.events = self.verified = self.unsealed = 0
        self.position: int | None = None
        self.previous = ORIGIN
        self._open(next(checkpoints, None), GENESIS)

    def _open(self, checkpoint: Checkpoint | None, start: bytes) -> None:
        self.cp, self.segment, self.segment_faulty = checkpoint, start, False
        self.expected = checkpoint.expected() if checkpoint else {}
        self.sealed_at = {leaf: position for position, leaf in self.expected.items()}
        if checkpoint is not None and checkpoint.previous != self.previous:
            self.faults.add(
                checkpoint.position,
                "checkpoint_gap",
                f"checkpoint {checkpoint.position} follows checkpoint {checkpoint.previous}, but the "
                f"checkpoint before it is {self.previous}: a checkpoint was removed or altered",
            )

    def feed(self, position: int, content: bytes) -> None:
        while self.cp is not None and position > self.cp.position:
            self._close()
        self._check_anchor(before=position)
        self.chain = chain_step(self.chain, position, content)
        self.events += 1
        self.position = position
        if self.cp is None:
            self.unsealed += 1
            return
        self.segment = chain_step(self.segment, position, content)
        self._match(position, hashlib.sha256(content).digest()[:LEAF_BYTES])

    def _match(self, position: int, leaf: bytes) -> None:
        expected = self.expected.pop(position, None)
        if expected == leaf:
            return
        self.segment_faulty = True
        origin = self.sealed_at.get(leaf)
        if origin is not None and origin != position:
            self.faults.add(position, "reordered", f"holds the event that was sealed at position {origin}")
        elif expected is None:
            self.faults.add(
                position,
                "inserted",
                f"no event was stored here when checkpoint {self.cp_position} "
                "sealed this range: the row was inserted afterwards",
            )
        else:
            self.faults.add(position, "altered", "the stored event differs from the one sealed at this position")

    @property
    def cp_position(self) -> int | None:
        return self.cp.position if self.cp is not None else None

    def _close(self) -> None:
        cp = self.cp
        assert cp is not None
        for position in sorted(self.expected):
            self.faults.add(position, "missing", f"the event sealed here by checkpoint {cp.position} is gone")
        rows_intact = not (self.segment_faulty or self.expected)
        if self.segment != cp.digest and rows_intact:
            self.faults.add(
                cp.position,
                "checkpoint",
                f"the chain digest recomputed at checkpoint {cp.position} differs from the stored one",
            )
        self.verified += 1
        self.previous = cp.position
        # Go on from whichever digest is trustworthy, so that one fault does not echo into every later checkpoint.
        self._open(next(self.checkpoints, None), self.segment if rows_intact else cp.digest)

    def _check_anchor(self, before: int | None, upto: int | None = None) -> None:
        anchor = self.anchor
        if anchor is None or anchor.ok is not None or (before is not None and before <= anchor.position):
            return
        if before is None and anchor.position > (upto if upto is not None else 0):
            anchor.ok = False
            self.faults.add(
                anchor.position,
                "anchor",
                f"the supplied digest is for position {anchor.position}, "
                f"but the log now ends at {upto}: events were removed",
            )
            return
        anchor.ok = self.chain == anchor.digest
        if not anchor.ok:
            self.faults.add(
                anchor.position,
                "anchor",
                f"the chain digest at position {anchor.position} is "
                f"{self.chain.hex()}, not the supplied one: an event at or "
                "before that position was altered, removed or inserted",
            )

    def finish(self, upto: int | None) -> None:
        while self.cp is not None:
            self._close()
        self._check_anchor(before=None, upto=upto)
