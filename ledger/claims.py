"""Ledger-wide uniqueness of a bank's references, enforced by the event store itself.

A payment reference is unique per bank across the whole ledger, not just within one subscriber. Each accepted
payment therefore also creates a `PaymentClaim` aggregate whose id is derived from (bank, reference) and is saved
atomically with the subscriber's `PaymentReceived` event: the store's unique (aggregate id, version) index lets
exactly one of any number of racing processes create it. A settlement reference is claimed the same way.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

NAMESPACE = uuid5(NAMESPACE_URL, "https://ledger.electricity.gov.sy/claims")


def payment_key(bank: str, payment_ref: str) -> str:
    return f"{bank}:{payment_ref}"


def payment_claim_id(key: str) -> UUID:
    return uuid5(NAMESPACE, f"payment:{key}")


def settlement_id(bank: str, settlement_ref: str) -> UUID:
    return uuid5(NAMESPACE, f"settlement:{bank}:{settlement_ref}")


class PaymentClaim(Aggregate):
    class Claimed(Aggregate.Created):
        payment_key: str
        subscriber_no: str

        def apply(self, aggregate: Any) -> None:
            aggregate.payment_key = self.payment_key
            aggregate.subscriber_no = self.subscriber_no

    @classmethod
    def claim(cls, key: str, subscriber_no: str) -> PaymentClaim:
        return cls._create(cls.Claimed, id=payment_claim_id(key), payment_key=key, subscriber_no=subscriber_no)


class Settlement(Aggregate):
    """A bank's settlement of a business date: which payments it says it paid into the ministry's account."""

    if TYPE_CHECKING:  # set by Received.apply(); declared here for type checkers only
        bank: str
        settlement_ref: str
        business_date: str
        payment_refs: list[str]
        total: Decimal
        report: dict[str, Any]

    class Received(Aggregate.Created):
        bank: str
        settlement_ref: str
        business_date: str
        payment_refs: list[str]
        total: Decimal
        report: dict[str, Any]
        recorded_by: str

        def apply(self, aggregate: Any) -> None:
            aggregate.bank = self.bank
            aggregate.settlement_ref = self.settlement_ref
            aggregate.business_date = self.business_date
            aggregate.payment_refs = list(self.payment_refs)
            aggregate.total = self.total
            aggregate.report = dict(self.report)
            aggregate.received_at = self.timestamp.isoformat()

    @classmethod
    def receive(
        cls,
        bank: str,
        settlement_ref: str,
        business_date: str,
        payment_refs: list[str],
        total: Decimal,
        report: dict[str, Any],
        recorded_by: str,
    ) -> Settlement:
        return cls._create(
            cls.Received,
            id=settlement_id(bank, settlement_ref),
            bank=bank,
            settlement_ref=settlement_ref,
            business_date=business_date,
            payment_refs=payment_refs,
            total=total,
            report=report,
            recorded_by=recorded_by,
        )

    def same_as(
        self, business_date: str, payment_refs: list[str], total: Decimal, amounts: dict[str, str] | None = None
    ) -> bool:
        """Whether a resubmission is this settlement again: same date, references, total and listed amounts."""
        listed_amounts = self.report.get("listed_amounts", {})
        return (self.business_date, sorted(self.payment_refs), self.total, listed_amounts) == (
            business_date,
            sorted(payment_refs),
            total,
            amounts or {},
        )
