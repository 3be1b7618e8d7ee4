"""Billing runs: bill every due subscriber of a governorate for one cycle.

A run is idempotent by construction: each bill's id is derived from (subscriber, cycle) and the subscriber
aggregate refuses a second bill for a cycle, so a run that is killed and started again skips those already billed
and bills the rest. Subscribers are found by streaming the registration events, never by loading everyone at once.
Bills are saved BATCH at a time in one transaction (one commit instead of BATCH); if another writer touched one of
the batch's subscribers meanwhile, the whole batch is rolled back and billed again one subscriber at a time. Three
threads share the work: one loads the next batch, this one decides the current one, and a third saves the one
decided before (a save waits mostly on the database, when the other two can run).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from typing import Any, TypeVar

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic
from tqdm import tqdm

from ledger import governorate as gov
from ledger.bulk import load_subscribers, notification_pages
from ledger.cycles import Cycle
from ledger.errors import BillAlreadyIssued, LedgerError, NothingToBill
from ledger.read_ahead import read_ahead
from ledger.subscriber import Subscriber

log = logging.getLogger(__name__)
T = TypeVar("T")
PAGE = 1000
BATCH = 200  # bills saved per transaction


def registrations(app: Any, governorate: str | None = None) -> Iterator[tuple[str, str]]:
    """(subscriber_no, governorate) of every subscriber registered when the run starts, in registration order; only
    those of `governorate` when one is given.

    A run per governorate skips the others' registrations before decoding them when it can tell from the stored
    bytes: the ledger's JSON never escapes the ASCII of a governorate code, so a registration whose plain (neither
    compressed nor encrypted) state lacks the code's bytes is of another governorate. The decoded event decides.
    """
    for event in _registered(app, governorate):
        yield event.subscriber_no, event.governorate


def _registered(app: Any, governorate: str | None) -> Iterator[Any]:
    """The registration events behind `registrations`."""
    last = app.recorder.max_notification_id() or 0
    plain = app.mapper.compressor is None and app.mapper.cipher is None
    marker = f'"{governorate}"'.encode() if governorate is not None and plain else None
    for page in notification_pages(app, get_topic(Subscriber.Registered), last, PAGE):
        for notification in page:
            if marker is not None and marker not in notification.state:
                continue
            event = app.mapper.to_domain_event(notification)
            if governorate is None or event.governorate == governorate:
                yield event


def run_billing(
    app: Any, cycle: str, governorate: str | None = None, issued_on: date | None = None, progress: bool = False
) -> dict[str, Any]:
    """Bill every due subscriber (all governorates when none is given); report issued and skipped counts."""
    cycle = Cycle.parse(cycle).name
    if governorate is not None:
        gov.names(governorate)
    counts: Counter[str] = Counter()
    failures: list[dict[str, str]] = []
    subscribers = tqdm(_registered(app, governorate), disable=not progress, desc=f"billing {cycle}", unit="sub")
    # The next batch is loaded while this one is billed: it holds other subscribers, and a save still proves that
    # the state it decided on was current, so loading it a moment early changes no decision. Each is loaded by the
    # id its registration names (working out ids from numbers was a tenth of the loading).
    batches = _batches((event.subscriber_no, event.originator_id) for event in subscribers)
    loading = ((numbers, load_subscribers(app, numbers)) for numbers in map(dict, batches))
    with ThreadPoolExecutor(1, thread_name_prefix="billing-writer") as writer:
        saving: Future[Outcome] | None = None
        for numbers, loaded in read_ahead(loading, "billing-reader"):
            billed = _decide_batch(app, numbers, loaded, cycle, issued_on, counts, failures)
            _add(saving, counts, failures)  # the previous batch is saved before this one is handed over
            saving = writer.submit(_save_batch, app, billed, cycle, issued_on) if billed else None
        _add(saving, counts, failures)
    log.info("billing run %s %s: %s", cycle, governorate or "all", dict(counts))
    return {
        "cycle": cycle,
        "governorate": governorate,
        "issued": counts["issued"],
        "skipped": counts["already_billed"] + counts["no_new_reading"] + counts["refused"],
        "already_billed": counts["already_billed"],
        "no_new_reading": counts["no_new_reading"],
        "refused": failures,
    }


def _batches(items: Iterator[T]) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _decide_batch(
    app: Any,
    numbers: Iterable[str],
    loaded: dict[str, Any],
    cycle: str,
    issued_on: date | None,
    counts: Counter[str],
    failures: list[dict[str, str]],
) -> list[Any]:
    """Decide a batch's bills; returns the subscribers that now hold one, to be saved together."""
    today = app.today()
    billed = []
    for subscriber_no in numbers:
        sub = loaded[subscriber_no]
        outcome = _decide(sub, cycle, app.tariffs, issued_on or today, today, failures)
        counts[outcome] += 1
        if outcome == "issued":
            billed.append(sub)
    return billed


Outcome = tuple[Counter[str], list[dict[str, str]]]


def _save_batch(app: Any, billed: list[Any], cycle: str, issued_on: date | None) -> Outcome:
    """Save a batch's bills in one transaction; if anyone else wrote to one of them meanwhile, bill them one by one.

    Returns the corrections to the batch's counts and the refusals met on the way (the deciding thread keeps the
    totals)."""
    counts: Counter[str] = Counter()
    failures: list[dict[str, str]] = []
    try:
        app.save(*billed)
    except IntegrityError:
        counts["issued"] -= len(billed)
        for sub in billed:
            counts[_bill_one(app, sub.subscriber_no, cycle, issued_on, failures)] += 1
    return counts, failures


def _add(saving: Future[Outcome] | None, counts: Counter[str], failures: list[dict[str, str]]) -> None:
    """Wait for a batch's save and add its corrections; an error of the save is raised here."""
    if saving is None:
        return
    corrections, refused = saving.result()
    counts.update(corrections)
    failures.extend(refused)


def _decide(sub: Any, cycle: str, tariffs: Any, issued_on: date, today: date, failures: list) -> str:
    try:
        sub.issue_bill(cycle, tariffs, issued_on, today)
        return "issued"
    except BillAlreadyIssued:
        return "already_billed"
    except NothingToBill:
        return "no_new_reading"
    except LedgerError as error:
        failures.append({"subscriber_no": sub.subscriber_no, "rule": error.rule, "detail": error.detail})
        return "refused"


def _bill_one(app: Any, subscriber_no: str, cycle: str, issued_on: date | None, failures: list) -> str:
    """One subscriber in a transaction of its own, retried if another writer got there first."""
    today = app.today()
    return app.on_subscriber(
        subscriber_no, lambda sub: _decide(sub, cycle, app.tariffs, issued_on or today, today, failures)
    )
