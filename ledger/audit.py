"""Tamper evidence for the whole event store: seal the hash chain, publish its digest, verify everything stored.

Invariant 6 of DESIGN.md: any stored event altered, removed, inserted or reordered is detected. The chain and its
byte encoding (`sha256-chain-v1`) are documented in `ledger.audit_chain`. `seal` extends the chain from the last
checkpoint to the newest event and stores checkpoints; `current_digest` seals and returns the digest an auditor
writes down as `HEX@POSITION`; `verify` re-reads every event in position order, in batches (memory does not grow
with the ledger), recomputes the chain, compares it with every checkpoint and with the auditor's digest, then
re-checks the business invariants (`ledger.audit_invariants`) and any extra checks.

Positions are notification ids. On PostgreSQL they are not gap-free (a rolled-back insert burns one), so a gap
alone is no fault: the chain binds each event to its position, and checkpoints list the positions they sealed,
so a removed row (also the last one), an inserted row or two swapped rows is named by position.

Extension point: `verify(app, extra_checks=[check])` calls each `check(app, upto)` after the built-in passes;
`upto` is the last position verified and the check returns an iterable of faults, dicts with `position` (int or
None), `kind` and `detail`. This is where a projection-versus-replay comparison plugs in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from tqdm import tqdm

from ledger.audit_chain import (
    ALGORITHM,
    CHECKPOINT_EVENTS,
    GENESIS,
    ORIGIN,
    Checkpoint,
    Segment,
    content_bytes,
    digests_table,
    last_checkpoint,
    max_position,
    store_checkpoint,
    stream_checkpoints,
    stream_rows,
)
from ledger.audit_invariants import check_invariants
from ledger.audit_parallel import Finding, start_invariants
from ledger.audit_walk import Anchor, ChainAudit, Faults
from ledger.errors import InvalidInput, NotFound

SEAL_ATTEMPTS = 20
Check = Callable[[Any, int | None], Iterable[dict[str, Any]]]


class InvalidDigest(InvalidInput):
    rule = "invalid-digest"


class InvalidAsOf(InvalidInput):
    rule = "invalid-as-of"


class InvalidPeriod(InvalidInput):
    rule = "invalid-period"


class InvalidCursor(InvalidInput):
    rule = "invalid-cursor"


class InvalidLimit(InvalidInput):
    rule = "invalid-limit"


class NotYetRegistered(NotFound):
    """The subscriber exists now, but had not been registered at the instant or position asked for."""

    rule = "not-yet-registered"


# -- sealing --------------------------------------------------------------------------------------------------------


def seal(app: Any, checkpoint_events: int = CHECKPOINT_EVENTS) -> dict[str, Any]:
    """Extend the chain over every event after the last checkpoint; return the newest digest."""
    table = digests_table(app)
    for _ in range(SEAL_ATTEMPTS):
        try:
            return _digest_view(_seal_once(app, table, checkpoint_events))
        except IntegrityError:
            continue  # another process stored the same checkpoint first; carry on from it
    raise RuntimeError("Could not seal the audit chain: other processes kept sealing at the same time.")


def _seal_once(app: Any, table: Any, size: int) -> Checkpoint | None:
    last = last_checkpoint(app, table)
    upto = max_position(app)
    after = last.position if last else ORIGIN
    segment = Segment(after, last.digest if last else GENESIS)
    for row in stream_rows(app, after=after, upto=upto):
        segment.add(row)
        if segment.events >= size:
            last = segment.checkpoint()
            store_checkpoint(app, table, last)
            segment = Segment(last.position, last.digest)
    if segment.events:
        last = segment.checkpoint()
        store_checkpoint(app, table, last)
    return last


def _digest_view(checkpoint: Checkpoint | None) -> dict[str, Any]:
    if checkpoint is None:
        return {"position": 0, "digest": GENESIS.hex(), "algorithm": ALGORITHM, "sealed_at": None}
    sealed_at = checkpoint.created_at.isoformat() if checkpoint.created_at else None
    return {
        "position": checkpoint.position,
        "digest": checkpoint.digest.hex(),
        "algorithm": ALGORITHM,
        "sealed_at": sealed_at,
    }


def current_digest(app: Any) -> dict[str, Any]:
    """The chain digest over every event stored now: {"position", "digest", "algorithm"} (seals first)."""
    return seal(app)


# -- verifying ------------------------------------------------------------------------------------------------------


_ANCHOR = re.compile(r"^\s*([0-9a-fA-F]{64})\s*(?:@\s*(-?\d+))?\s*$")


def parse_anchor(digest: str | None, position: int | None = None) -> Anchor | None:
    """`HEX@POSITION`, or HEX with a separate position; None when no digest is given."""
    if digest is None or digest == "":
        return None
    match = _ANCHOR.match(digest)
    at = match.group(2) if match is not None else None
    if match is None or (at is None and position is None):
        raise InvalidDigest("A digest is 64 hexadecimal characters followed by @POSITION, e.g. 3fa9...c1@1200.")
    return Anchor(int(at) if at is not None else int(str(position)), bytes.fromhex(match.group(1)))


def verify(
    app: Any,
    digest: str | None = None,
    position: int | None = None,
    progress: bool = False,
    extra_checks: Iterable[Check] = (),
    workers: int = 1,
) -> dict[str, Any]:
    """Re-read and check every stored event; a report dict whose `ok` is False when anything is wrong.

    With `workers` of 2 or more, a large ledger's invariant pass runs in that many other processes, split by
    subscriber (ledger/audit_parallel.py), while this one walks the chain and runs the extra checks.
    """
    anchor = parse_anchor(digest, position)
    started = datetime.now(UTC)
    table = digests_table(app)
    sealed = last_checkpoint(app, table)  # read before the max position, so it never covers unseen events
    upto = max_position(app)
    faults = Faults()
    checkpoints = stream_checkpoints(app, table, upto=sealed.position) if sealed else iter(())
    audit = ChainAudit(checkpoints, faults, anchor)
    elsewhere = start_invariants(app, upto, workers)
    for row in _progress(stream_rows(app, upto=upto), progress, "chain", upto):
        audit.feed(row.position, content_bytes(row))
    audit.finish(upto)
    if elsewhere is None:
        invariants = check_invariants(app, upto, faults.add, _bar(progress, "invariants"))
        extra = _run_extra_checks(app, upto, extra_checks)
    else:
        extra = _run_extra_checks(app, upto, extra_checks)  # here, while the other processes check invariants
        invariants, found = elsewhere.result()
        for finding in found:
            faults.add(*finding)
    for finding in extra:
        faults.add(*finding)
    return _report(audit, faults, anchor, invariants, sealed, started)


def _run_extra_checks(app: Any, upto: int | None, checks: Iterable[Check]) -> list[Finding]:
    found: list[Finding] = []
    for check in checks:
        name = getattr(check, "__name__", repr(check))
        try:
            found += [(fault.get("position"), fault["kind"], fault["detail"]) for fault in check(app, upto)]
        except Exception as error:  # a broken check is itself a finding, never a crash of the audit
            found.append((None, "check_error", f"{name} failed: {error!r}"))
    return found


def _report(
    audit: ChainAudit,
    faults: Faults,
    anchor: Anchor | None,
    invariants: dict[str, int],
    sealed: Checkpoint | None,
    started: datetime,
) -> dict[str, Any]:
    items = sorted(faults.items, key=lambda f: (f["position"] is None, f["position"] or 0))
    return {
        "ok": faults.count == 0,
        "algorithm": ALGORITHM,
        "events": audit.events,
        "position": audit.position if audit.position is not None else 0,
        "digest": audit.chain.hex(),
        "checkpoints": audit.verified,
        "sealed_position": sealed.position if sealed else None,
        "unsealed_events": audit.unsealed,
        "anchor": anchor.view() if anchor else None,
        "invariants": invariants,
        "faults": items,
        "fault_count": faults.count,
        "first_bad_position": faults.first,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
    }


def _bar(progress: bool, what: str) -> Any:
    return tqdm(desc=what, unit="ev", leave=False) if progress else None


def _progress(rows: Iterator[Any], progress: bool, what: str, upto: int | None) -> Iterator[Any]:
    """Yield rows; with progress, advance a bar by position (positions are dense enough for a bar)."""
    if not progress:
        yield from rows
        return
    with tqdm(total=upto or 0, desc=what, unit="pos", leave=False) as bar:
        for row in rows:
            bar.update(max(row.position - bar.n, 0))
            yield row
