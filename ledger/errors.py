"""Every way a command can be refused, as one family of exceptions.

Each error names the rule it enforces (`rule`, a stable slug used in problem+json `type` URIs) and says in a
sentence a clerk understands what went wrong. The HTTP status each kind maps to lives in `api/`, not here;
`kind` only groups them (not_found, conflict, unprocessable, forbidden).
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every refusal. A refused command leaves no event behind."""

    kind = "unprocessable"
    rule = "ledger-error"

    def __init__(self, detail: str, **context: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.context = context


class NotFound(LedgerError):
    kind = "not_found"
    rule = "not-found"


class Conflict(LedgerError):
    kind = "conflict"
    rule = "conflict"


class Forbidden(LedgerError):
    kind = "forbidden"
    rule = "forbidden"


class InvalidInput(LedgerError):
    rule = "invalid-input"


class UnknownSubscriber(NotFound):
    rule = "unknown-subscriber"


class UnknownBill(NotFound):
    rule = "unknown-bill"


class UnknownPayment(NotFound):
    rule = "unknown-payment"


class UnknownGovernorate(InvalidInput):
    rule = "unknown-governorate"


class SubscriberExists(Conflict):
    rule = "subscriber-exists"


class BillAlreadyIssued(Conflict):
    rule = "bill-already-issued"


class PaymentRefConflict(Conflict):
    rule = "payment-ref-conflict"


class SettlementRefConflict(Conflict):
    rule = "settlement-ref-conflict"


class PaymentAlreadyReversed(Conflict):
    rule = "payment-already-reversed"


class ReadingIdConflict(Conflict):
    rule = "reading-id-conflict"


class ReadingWentBackwards(LedgerError):
    rule = "reading-went-backwards"


class ReadingOutOfOrder(LedgerError):
    rule = "reading-out-of-order"


class NothingToBill(LedgerError):
    rule = "nothing-to-bill"


class NoTariffInForce(LedgerError):
    rule = "no-tariff-in-force"


class InvalidCycle(InvalidInput):
    rule = "invalid-cycle"


class InvalidAmount(InvalidInput):
    rule = "invalid-amount"


class Overpayment(LedgerError):
    rule = "overpayment"


class FeeNotAllowed(LedgerError):
    rule = "fee-not-allowed"


class BillNotPayable(LedgerError):
    rule = "bill-not-payable"


class AdjustmentTooLarge(LedgerError):
    rule = "adjustment-too-large"


class NotEnrolled(Forbidden):
    rule = "not-enrolled"


class GovernorateNotLive(LedgerError):
    rule = "governorate-not-live"


class WrongBank(Forbidden):
    rule = "wrong-bank"


class UnmaskedAccountReference(InvalidInput):
    rule = "unmasked-account-reference"


class ConcurrencyExhausted(Conflict):
    """Optimistic retries gave up: the subscriber was changed by others too often in a row."""

    rule = "concurrent-update"
