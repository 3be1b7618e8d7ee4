"""The HTTP API under test: a Flask test client that calls as a role, and checks for problem+json answers.

`api.call(method, path, role=..., json=...)` sends `Authorization: Bearer <that role's token>`; `role=None` sends
no token. Imported by the api tests' conftest and test modules (by file name, as pytest puts this folder on the path).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from api import create_app
from ledger import LedgerApplication

TOKENS = {
    "staff": "staff-token",
    "auditor": "auditor-token",
    "portal": "portal-token",
    "bank:CBS": "cbs-token",
    "bank:REB": "reb-token",
    "bank:HUB": "hub-token",
}
LEDGER_TOKENS = ",".join(f"{token}={role}" for role, token in TOKENS.items())
READ_AT = "2026-10-28T09:00:00Z"
PAID_AT = "2026-11-10T10:30:00Z"
BILL_ID = "DI-1-2026-C5"


class Api:
    """A Flask test client that knows the test tokens, plus the ledger behind it."""

    def __init__(self, client: FlaskClient, ledger: Any) -> None:
        self.client, self.ledger = client, ledger

    def call(self, method: str, path: str, role: str | None = "staff", **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if role is not None:
            headers.setdefault("Authorization", f"Bearer {TOKENS[role]}")
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path: str, role: str | None = "staff", **kwargs: Any) -> Any:
        return self.call("GET", path, role, **kwargs)

    def post(self, path: str, body: Any = None, role: str | None = "staff", **kwargs: Any) -> Any:
        return self.call("POST", path, role, json=body, **kwargs)

    def events(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0

    # -- a subscriber with a bill, through the API -----------------------------------------------------------------

    def register(self, no: str = "DI-1", governorate: str = "SY-DI", **overrides: Any) -> Any:
        body = {
            "subscriber_no": no,
            "governorate": governorate,
            "category": "residential",
            "meter_no": f"M-{no}",
            "initial_reading_kwh": 1000,
            "name": "Ahmad Haddad",
            **overrides,
        }
        return self.post("/v1/subscribers", body)

    def billed(self, no: str = "DI-1", bank: str = "CBS", kwh: int = 1400) -> dict[str, Any]:
        """Register, enrol with `bank`, read `kwh` and bill cycle 2026-C5 (400 kWh residential: 3200.00)."""
        assert self.register(no).status_code == 201
        enrol = self.post(f"/v1/subscribers/{no}/enrolments", {"bank": bank, "account_ref": "****4321"})
        assert enrol.status_code == 201, enrol.json
        reading = self.post(
            f"/v1/subscribers/{no}/readings", {"reading_kwh": kwh, "read_at": READ_AT, "source": "reader"}
        )
        assert reading.status_code == 201, reading.json
        bill = self.post(f"/v1/subscribers/{no}/bills", {"cycle": "2026-C5"})
        assert bill.status_code == 201, bill.json
        return bill.json

    def pay(self, amount: str = "1000.00", ref: str = "TX1", role: str = "bank:CBS", **overrides: Any) -> Any:
        body = {
            "payment_ref": ref,
            "subscriber_no": "DI-1",
            "bill_id": BILL_ID,
            "amount": amount,
            "channel": "web",
            "paid_at": PAID_AT,
            **overrides,
        }
        return self.post("/v1/payments", body, role=role)


def build_api(url: str, make_ledger: Any, template: Path | None = None) -> Api:
    """An app over a fresh ledger at `url`; a SQLite ledger starts as a copy of `template` when one is given."""
    if template is not None and url.startswith("sqlite:///"):
        shutil.copyfile(template, url.removeprefix("sqlite:///"))
    ledger = make_ledger(url)
    app = create_app({"LEDGER_TOKENS": LEDGER_TOKENS}, ledger=ledger)
    app.testing = False  # answer unexpected errors as a server would, not by re-raising them
    return Api(app.test_client(), ledger)


def sqlite_template(folder: Path) -> Path:
    """A SQLite ledger with the governorates listed, to copy per test: listing them costs a commit each."""
    path = folder / "template.db"
    ledger = LedgerApplication(env={"LEDGER_DATABASE_URL": f"sqlite:///{path}"})
    ledger.close()  # the last connection checkpoints the WAL into the file
    return path


def is_problem(response: Any, status: int, rule: str | None = None) -> bool:
    """The response is RFC 9457 problem+json with this status (and rule)."""
    body = response.get_json(force=True)
    assert response.status_code == status, (response.status_code, body)
    assert response.mimetype == "application/problem+json", response.mimetype
    assert {"type", "title", "status", "detail"} <= set(body), body
    assert body["status"] == status and body["type"].endswith("/" + body["rule"])
    assert rule is None or body["rule"] == rule, body
    return True


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
