"""The dashboard under test: its test tokens, an app with the dashboard installed, and signing in through the form.

Imported by the dashboard tests' conftest and test modules (by file name, as pytest puts this folder on the path).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from api import create_app, dashboard

TOKENS = {"staff": "staff-token", "auditor": "auditor-token", "portal": "portal-token", "bank:CBS": "cbs-token"}
ENV = {
    "LEDGER_TOKENS": ",".join(f"{token}={role}" for role, token in TOKENS.items()),
    "LEDGER_SECRET_KEY": "dashboard-test-secret",
}
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the `clock` fixture's instant, so `make_ledger` agrees


def build_app(ledger: Any, env: dict[str, str] | None = None) -> Any:
    """The API app with the dashboard on it (installed here too when create_app does not do it)."""
    env = env or ENV
    app = create_app(env, ledger=ledger)
    if "dashboard" not in app.blueprints:
        dashboard.install(app, env)
    app.testing = False  # answer errors as the server would
    return app


def csrf_of(client: Any) -> str:
    html = client.get("/dashboard/login").get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(client: Any, role: str = "staff") -> Any:
    body = {"token": TOKENS[role], "csrf": csrf_of(client), "next": "/dashboard"}
    return client.post("/dashboard/login", data=body)
