"""The electricity e-payment ledger: the domain (subscribers, bills, payments, clearing) and its application."""

from ledger.application import LedgerApplication
from ledger.errors import LedgerError

__all__ = ["LedgerApplication", "LedgerError"]
