"""Governorates and their e-payment rollout, recorded as events so that the rollout history is auditable.

Reference data (codes, English and Arabic names, banks) lives in `ledger/data/governorates.json`. Each governorate
is an aggregate whose events switch e-payment on (or off) from an effective date; dates are ISO strings.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from ledger.actors import current_actor
from ledger.errors import InvalidInput, UnknownGovernorate

DATA = Path(__file__).parent / "data" / "governorates.json"
NAMESPACE = uuid5(NAMESPACE_URL, "https://ledger.electricity.gov.sy/governorates")


@cache
def reference() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def codes() -> tuple[str, ...]:
    return tuple(g["code"] for g in reference()["governorates"])


def bank_codes() -> tuple[str, ...]:
    return tuple(b["code"] for b in reference()["banks"])


def names(code: str) -> dict[str, str]:
    for entry in reference()["governorates"]:
        if entry["code"] == code:
            return {"name_en": entry["name_en"], "name_ar": entry["name_ar"]}
    raise UnknownGovernorate(f"{code!r} is not a governorate code; use one of {', '.join(codes())}.")


def governorate_id(code: str) -> UUID:
    return uuid5(NAMESPACE, code)


class Governorate(Aggregate):
    if TYPE_CHECKING:  # set by the events' apply(); declared here for type checkers only
        code: str
        live_since: str | None
        rollout: list[dict[str, Any]]

    class Listed(Aggregate.Created):
        code: str
        recorded_by: str

        def apply(self, aggregate: Any) -> None:
            aggregate.code = self.code
            aggregate.live_since = None
            aggregate.rollout = []

    class EPaymentSwitched(Aggregate.Event):
        live: bool
        effective_from: str
        recorded_by: str

        def apply(self, aggregate: Any) -> None:
            aggregate.live_since = self.effective_from if self.live else None
            aggregate.rollout = [
                *aggregate.rollout,
                {"live": self.live, "effective_from": self.effective_from, "recorded_at": self.timestamp.isoformat()},
            ]

    @classmethod
    def list_governorate(cls, code: str) -> Governorate:
        names(code)
        return cls._create(cls.Listed, id=governorate_id(code), code=code, recorded_by=current_actor().name)

    def switch_e_payment(self, live: bool, effective_from: date) -> bool:
        """Switch e-payment on or off from a date; False (no event) when it is already so."""
        wanted = effective_from.isoformat() if live else None
        if wanted == self.live_since:
            return False
        if not live and self.live_since is None:
            raise InvalidInput(f"E-payment is not live in {self.code}; there is nothing to switch off.")
        self.trigger_event(
            self.EPaymentSwitched,
            live=live,
            effective_from=effective_from.isoformat(),
            recorded_by=current_actor().name,
        )
        return True

    def live_on(self) -> date | None:
        return None if self.live_since is None else date.fromisoformat(self.live_since)
