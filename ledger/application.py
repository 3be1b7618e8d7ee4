"""The ledger application: commands and queries that take and return plain values.

Every command loads the aggregates it needs, lets them decide, and saves all their new events in one atomic
transaction. Two processes acting on one subscriber at once collide on the store's unique (aggregate id, version)
index; the loser retries the whole command against fresh state, so the conflict never reaches the client. Payment
and settlement references are made unique ledger-wide by claim aggregates saved in the same transaction.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from ledger import batch as batching
from ledger import billing, history, settlements, views
from ledger import governorate as gov
from ledger.claims import PaymentClaim, payment_claim_id, payment_key
from ledger.config import aggregate_cache_size, eventsourcing_env
from ledger.connections import harden
from ledger.cycles import Cycle
from ledger.errors import (
    ConcurrencyExhausted,
    InvalidInput,
    LedgerError,
    PaymentRefConflict,
    SubscriberExists,
    UnknownPayment,
    UnknownSubscriber,
)
from ledger.latest import LatestStates
from ledger.money import parse_amount
from ledger.repository import LedgerProcessingEvent, LedgerRepository, project_events
from ledger.subscriber import Subscriber, subscriber_id
from ledger.tariffs import TariffBook

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_ATTEMPTS = 20
ROLLOUT_CACHE_SECONDS = 2.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class StaleDecision(Exception):
    """A decision taken on cached state that nothing has proven current: to be taken again on stored state."""


def trusted(decide: Callable[[Subscriber], T], sub: Subscriber, proven: bool) -> T:
    """`decide(sub)`, where only an outcome that records events is trusted from a state not proven current.

    The save of those events proves the state was current. A rejection or a no-op proves nothing, since an event
    recorded meanwhile by another process (a bill, a reading) may change the answer: it is decided again.
    """
    try:
        result = decide(sub)
    except LedgerError:
        if proven:
            raise
        raise StaleDecision from None
    if not proven and not sub.pending_events:
        raise StaleDecision
    return result


class LedgerApplication(Application[Any]):
    name = "Ledger"
    snapshotting_intervals = {Subscriber: 50}
    snapshotting_projectors = {Subscriber: project_events}

    def __init__(self, env: Mapping[str, str] | None = None, clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(env={**eventsourcing_env(env), **(env or {})})
        engine = getattr(getattr(self.factory, "datastore", None), "engine", None)
        if engine is not None:
            harden(engine)
        self.subscribers = LatestStates(self.repository, aggregate_cache_size(env))
        self.clock = clock
        self._rollout_cache: dict[str, tuple[float, date | None]] = {}
        self.tariffs = TariffBook.load()
        self.ensure_governorates()

    # -- plumbing -------------------------------------------------------------------------------------------------

    def construct_repository(self) -> LedgerRepository:
        """The library's repository with the ledger's projector (ledger/repository.py), configured as the library's."""
        library = super().construct_repository()
        return LedgerRepository(
            event_store=library.event_store,
            snapshot_store=library.snapshot_store,
            cache_maxsize=None if library.cache is None else getattr(library.cache, "maxsize", 0),
            fastforward=library.fastforward,
            fastforward_skipping=library.fastforward_skipping,
            deepcopy_from_cache=library.deepcopy_from_cache,
        )

    def today(self) -> date:
        return self.clock().date()

    def current_cycle(self) -> str:
        return Cycle.containing(self.today()).name

    def load_subscriber(self, subscriber_no: str) -> Subscriber:
        """The subscriber as stored now, a private copy."""
        sub_id = subscriber_id(subscriber_no)
        held = batching.held(sub_id)
        if held is not None:
            return cast(Subscriber, held)
        try:
            return self.subscribers.load(sub_id)
        except AggregateNotFoundError:
            raise UnknownSubscriber(f"There is no subscriber {subscriber_no}.", subscriber_no=subscriber_no) from None

    @contextlib.contextmanager
    def changing_subscriber(self, subscriber_no: str, latest: bool) -> Iterator[tuple[Subscriber, bool]]:
        """One attempt of a command: the subscriber, handed over without a copy, and whether it is proven current
        (with `latest` it is; else it may be the state as last seen here, see ledger/latest.py). The caller decides
        with `trusted` and saves with `save_subscriber`; the cache learns whether an unproven state was current."""
        sub_id = subscriber_id(subscriber_no)
        held = batching.held(sub_id)
        if held is not None:
            yield cast(Subscriber, held), True
            return
        try:
            sub, proven = self.subscribers.take(sub_id, proven=latest)
        except AggregateNotFoundError:
            raise UnknownSubscriber(f"There is no subscriber {subscriber_no}.", subscriber_no=subscriber_no) from None
        try:
            yield sub, proven
        except IntegrityError:
            if not proven:
                self.subscribers.observe(stale=True)
            raise
        except StaleDecision:
            if not sub.pending_events:  # unchanged: kept for the decision on stored state, which catches it up
                self.subscribers.remember(sub)
            raise
        if not proven:
            self.subscribers.observe(stale=False)

    def retrying(self, attempt: Callable[[], T]) -> T:
        """Run `attempt` (load, decide, save) again whenever another writer got to the same aggregate first."""
        return self.deciding(lambda latest: attempt())

    def deciding(self, attempt: Callable[[bool], T]) -> T:
        """Run `attempt(latest)` until it commits: first perhaps on cached state (`latest=False`), then on stored
        state.

        An attempt on unproven state raises `StaleDecision` for any outcome its save did not prove current (a
        rejection, or nothing to record); a conflict on save means another writer got there first. Both are
        decided again on the latest state, so neither ever reaches the client.
        """
        for number in range(MAX_ATTEMPTS):
            try:
                return attempt(number > 0)
            except StaleDecision:
                log.debug("decided on cached state without committing; deciding again on stored state")
            except IntegrityError:
                log.debug("optimistic concurrency conflict; retrying")
        raise ConcurrencyExhausted("The account was changed by others too often in a row; try again.")

    def on_subscriber(self, subscriber_no: str, decide: Callable[[Subscriber], T]) -> T:
        def attempt(latest: bool) -> T:
            with self.changing_subscriber(subscriber_no, latest) as (sub, proven):
                result = trusted(decide, sub, proven)
                self.save_subscriber(sub)
                return result

        return self.deciding(attempt)

    def save_subscriber(self, sub: Subscriber, *others: Any) -> None:
        """Save, then keep the saved state as this process's latest for the next command.

        From then on `sub` belongs to the cache: the caller must neither change it nor read it again.
        """
        if sub.pending_events or others:
            self.save(sub, *others)
        if batching.current.get() is None:  # a batch goes on changing its aggregates: never cache them
            self.subscribers.remember(sub)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Save now, or inside `batch()` keep the aggregates for the batch's one transaction.

        The steps of the library's `save`, with the ledger's processing event (ledger/repository.py).
        """
        batch = batching.current.get()
        if batch is not None:
            batch.collect(objs)
            return []
        processing_event = LedgerProcessingEvent()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def _take_snapshots(self, processing_event: Any) -> None:
        """The library's snapshots, but an aggregate saved exactly at a snapshot's version is snapshotted as it is
        in hand, being the state just recorded, rather than read back from the store and replayed."""
        if self.snapshots is None:
            return
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = None if aggregate is None else self.snapshotting_intervals.get(type(aggregate))
            if interval is None or event.originator_version % interval:
                continue
            if aggregate.version == event.originator_version:
                snapshot_class: Any = getattr(type(aggregate), "Snapshot", type(self).snapshot_class)
                self.snapshots.put([snapshot_class.take(aggregate)])
            else:
                self.take_snapshot(event.originator_id, event.originator_version, project_events)

    def get_aggregate(self, aggregate_id: Any) -> Any:
        """An aggregate as the current batch holds it, else as stored. Raises AggregateNotFoundError."""
        held = batching.held(aggregate_id)
        return held if held is not None else self.repository.get(aggregate_id)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Run many commands, then save everything they decided in ONE transaction (ledger/batch.py)."""
        if batching.current.get() is not None:
            raise RuntimeError("batches do not nest")
        batch = batching.Batch()
        token = batching.current.set(batch)
        try:
            yield
        finally:
            batching.current.reset(token)
        if batch.aggregates:
            self.save(*batch.aggregates.values())

    # -- governorates ---------------------------------------------------------------------------------------------

    def ensure_governorates(self) -> None:
        """List every governorate of the reference data once, with its initial e-payment status."""
        for entry in gov.reference()["governorates"]:
            try:
                self.repository.get(gov.governorate_id(entry["code"]))
            except AggregateNotFoundError:
                governorate = gov.Governorate.list_governorate(entry["code"])
                if entry["live_since"]:
                    governorate.switch_e_payment(True, date.fromisoformat(entry["live_since"]))
                with contextlib.suppress(IntegrityError):  # another process listed it at the same moment
                    self.save(governorate)

    def load_governorate(self, code: str) -> gov.Governorate:
        gov.names(code)
        return self.repository.get(gov.governorate_id(code))

    def e_payment_live_since(self, code: str) -> date | None:
        """A governorate's e-payment start, read from its events at most every ROLLOUT_CACHE_SECONDS.

        Every payment needs it and it changes a few times a year, so each process keeps it briefly; a switch made
        through this process clears it at once, one made elsewhere is seen within the interval.
        """
        now = time.monotonic()
        cached = self._rollout_cache.get(code)
        if cached is None or cached[0] <= now:
            cached = (now + ROLLOUT_CACHE_SECONDS, self.load_governorate(code).live_on())
            self._rollout_cache[code] = cached
        return cached[1]

    def governorates(self) -> list[dict[str, Any]]:
        return [self.governorate(code) for code in gov.codes()]

    def governorate(self, code: str) -> dict[str, Any]:
        g = self.load_governorate(code)
        live_on = g.live_on()
        live = live_on is not None and live_on <= self.today()
        return {
            "code": code,
            **gov.names(code),
            "e_payment": "live" if live else "not_live",
            "live_since": g.live_since,
            "rollout": g.rollout,
        }

    def switch_e_payment(self, code: str, live: bool, effective_from: date) -> dict[str, Any]:
        def attempt() -> None:
            g = self.load_governorate(code)
            if g.switch_e_payment(live, effective_from):
                self.save(g)

        self.retrying(attempt)
        self._rollout_cache.pop(code, None)
        return self.governorate(code)

    # -- subscribers ----------------------------------------------------------------------------------------------

    def register_subscriber(
        self, subscriber_no: str, governorate: str, category: str, meter_no: str, initial_reading_kwh: int, name: str
    ) -> dict[str, Any]:
        gov.names(governorate)
        sub = Subscriber.register(subscriber_no, governorate, category, meter_no, initial_reading_kwh, name)
        try:
            self.save(sub)
        except IntegrityError:
            raise SubscriberExists(f"Subscriber {subscriber_no} is already registered.") from None
        return views.subscriber_view(sub, self.today())

    def subscriber(
        self, subscriber_no: str, as_of: datetime | None = None, as_of_position: int | None = None
    ) -> dict[str, Any]:
        """The live account, or with `as_of`/`as_of_position` the account replayed from events as it stood then."""
        if as_of is None and as_of_position is None:
            return views.subscriber_view(self.load_subscriber(subscriber_no), self.today())
        return history.account_as_of(self, subscriber_no, as_of, as_of_position)

    def enrol(self, subscriber_no: str, bank: str, account_ref: str) -> dict[str, Any]:
        if bank not in gov.bank_codes():
            raise InvalidInput(f"Bank {bank!r} is not one of {', '.join(gov.bank_codes())}.")
        self.on_subscriber(subscriber_no, lambda sub: sub.enrol(bank, account_ref))
        return {"subscriber_no": subscriber_no, "bank": bank, "account_ref": account_ref}

    def submit_reading(self, subscriber_no: str, reading_kwh: int, read_at: datetime, source: str) -> dict[str, Any]:
        def decide(sub: Subscriber) -> dict[str, Any]:
            reading_id = sub.submit_reading(reading_kwh, read_at, source, self.clock())
            return views.reading_view(sub.readings[reading_id])

        return self.on_subscriber(subscriber_no, decide)

    def review_reading(self, subscriber_no: str, reading_id: str, accepted: bool, note: str) -> dict[str, Any]:
        def decide(sub: Subscriber) -> dict[str, Any]:
            sub.review_reading(reading_id, accepted, note)
            return views.reading_view(sub.readings[reading_id])

        return self.on_subscriber(subscriber_no, decide)

    def readings(self, subscriber_no: str) -> list[dict[str, Any]]:
        return [views.reading_view(r) for r in self.load_subscriber(subscriber_no).readings.values()]

    def replace_meter(
        self,
        subscriber_no: str,
        old_final_reading_kwh: int,
        new_meter_no: str,
        new_initial_reading_kwh: int,
        replaced_at: datetime,
    ) -> dict[str, Any]:
        def decide(sub: Subscriber) -> dict[str, Any]:
            sub.replace_meter(old_final_reading_kwh, new_meter_no, new_initial_reading_kwh, replaced_at)
            return views.subscriber_view(sub, self.today())

        return self.on_subscriber(subscriber_no, decide)

    # -- bills ----------------------------------------------------------------------------------------------------

    def issue_bill(self, subscriber_no: str, cycle: str, issued_on: date | None = None) -> dict[str, Any]:
        def decide(sub: Subscriber) -> dict[str, Any]:
            bill_id = sub.issue_bill(cycle, self.tariffs, issued_on or self.today(), self.today())
            return views.bill_view(sub, sub.bills[bill_id], self.today())

        return self.on_subscriber(subscriber_no, decide)

    def bills(self, subscriber_no: str, status: str | None = None) -> list[dict[str, Any]]:
        sub = self.load_subscriber(subscriber_no)
        found = [views.bill_view(sub, b, self.today()) for b in sub.bills.values()]
        return [b for b in found if status is None or b["status"] == status]

    def bill(self, subscriber_no: str, bill_id: str) -> dict[str, Any]:
        sub = self.load_subscriber(subscriber_no)
        return views.bill_view(sub, sub.bill(bill_id), self.today())

    def adjust_bill(self, subscriber_no: str, bill_id: str, amount: Decimal, reason: str) -> dict[str, Any]:
        def decide(sub: Subscriber) -> dict[str, Any]:
            sub.adjust_bill(bill_id, amount, reason)
            return views.bill_view(sub, sub.bills[bill_id], self.today())

        return self.on_subscriber(subscriber_no, decide)

    # -- payments -------------------------------------------------------------------------------------------------

    def receive_payment(
        self,
        bank: str,
        payment_ref: str,
        subscriber_no: str,
        bill_id: str,
        amount: Any,
        channel: str,
        paid_at: datetime,
        fee: Any = None,
    ) -> tuple[dict[str, Any], bool]:
        """Apply a bank's payment once. Returns (payment, created); created is False for a same-content replay."""
        key = payment_key(bank, payment_ref)
        payment = {
            "payment_key": key,
            "payment_ref": payment_ref,
            "bank": bank,
            "bill_id": bill_id,
            "amount": parse_amount(amount),
            "channel": channel,
            "paid_at": paid_at,
            "fee": None if fee is None else parse_amount(fee, field="fee"),
        }

        attempts = 0

        def attempt(latest: bool) -> tuple[dict[str, Any], bool]:
            nonlocal attempts
            attempts += 1
            # A first collision is most likely a stale cached state (another process wrote since): deciding again on
            # stored state settles that. Colliding again, on stored state, may mean another subscriber holds the
            # reference: only then is the claim read.
            if attempts > 2:
                self._check_claim(key, subscriber_no, payment_ref)
            with self.changing_subscriber(subscriber_no, latest) as (sub, proven):
                live_since = self.e_payment_live_since(sub.governorate)
                try:
                    created = trusted(lambda s: s.receive_payment(payment, live_since, self.clock()), sub, proven)
                except LedgerError:
                    # A reference another subscriber holds is a conflict first, whatever else is wrong with it.
                    self._check_claim(key, subscriber_no, payment_ref)
                    raise
                # A replay answers with the original answer, even if the payment has cleared since. The answer is
                # taken before the save, after which the state is kept for the next command and no longer this one's.
                answer = views.received_payment_view(sub, sub.payments[key])
                self.save_subscriber(sub, *([PaymentClaim.claim(key, subscriber_no)] if created else []))
                return answer, created

        return self.deciding(attempt)

    def _check_claim(self, key: str, subscriber_no: str, payment_ref: str) -> None:
        claimed_by = self._claimant(key)
        if claimed_by is not None and claimed_by != subscriber_no:
            raise PaymentRefConflict(
                f"Payment reference {payment_ref} was already used for another subscriber's payment.",
                payment_key=key,
            )

    def _claimant(self, key: str) -> str | None:
        try:
            return self.get_aggregate(payment_claim_id(key)).subscriber_no
        except AggregateNotFoundError:
            return None

    def payment(self, bank: str, payment_ref: str) -> dict[str, Any]:
        key = payment_key(bank, payment_ref)
        subscriber_no = self._claimant(key)
        if subscriber_no is None:
            raise UnknownPayment(f"{bank} has no payment with reference {payment_ref}.", payment_key=key)
        sub = self.load_subscriber(subscriber_no)
        return views.payment_view(sub, sub.payment(key))

    def reverse_payment(self, bank: str, payment_ref: str, reason: str) -> dict[str, Any]:
        key = payment_key(bank, payment_ref)
        subscriber_no = self.payment(bank, payment_ref)["subscriber_no"]

        def decide(sub: Subscriber) -> dict[str, Any]:
            sub.reverse_payment(key, reason)
            return views.payment_view(sub, sub.payments[key])

        return self.on_subscriber(subscriber_no, decide)

    # -- runs and settlements (kept in their own modules) ----------------------------------------------------------

    def billing_run(
        self, cycle: str, governorate: str | None = None, issued_on: date | None = None, progress: bool = False
    ) -> dict[str, Any]:
        return billing.run_billing(self, cycle, governorate, issued_on=issued_on, progress=progress)

    def settle(
        self, bank: str, settlement_ref: str, business_date: date, payment_refs: list[Any], total: Any
    ) -> tuple[dict[str, Any], bool]:
        return settlements.settle(self, bank, settlement_ref, business_date, payment_refs, total)
