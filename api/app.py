"""`create_app()`: the one place the API is wired together.

Configuration comes from environment variables, read once here (`api.config`). A test may hand in a prebuilt
`LedgerApplication` (`create_app(env, ledger=app)`); otherwise one is built on `LEDGER_DATABASE_URL`.
Every response carries security headers; API answers are never cached.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request

from api import audit_routes, dashboard
from api.blueprints import ALL, ops
from api.config import MAX_BODY_BYTES, load_settings
from api.metrics import Metrics
from api.problems import ProblemApi, register_error_handlers
from ledger import LedgerApplication

log = logging.getLogger(__name__)

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
SPEC_OPTIONS = {
    "info": {
        "description": "Event-sourced ledger of the state electricity utility's e-payment service. "
        "Money is a string with two places (never a float); times are ISO 8601 in UTC. "
        "Errors are application/problem+json (RFC 9457)."
    },
    "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearerAuth": []}],
}


def create_app(env: Mapping[str, str] | None = None, ledger: LedgerApplication | None = None) -> Flask:
    """Build the API app; `env` overrides os.environ, `ledger` replaces the one built from LEDGER_DATABASE_URL."""
    settings = load_settings(env)
    if not settings.clients:
        log.warning("LEDGER_TOKENS is empty: every request but /healthz will be refused (401)")
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        API_TITLE="Electricity e-payment ledger",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        API_SPEC_OPTIONS=SPEC_OPTIONS,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Arabic names stay readable
    app.extensions["ledger"] = ledger or LedgerApplication(env=_ledger_env(settings.database_url))
    app.extensions["ledger_clients"] = settings.clients
    metrics = Metrics(settings.multiprocess_dir)
    app.extensions["ledger_metrics"] = metrics
    api = ProblemApi(app)
    for blueprint in ALL:
        api.register_blueprint(blueprint)
    app.register_blueprint(ops.docs)
    app.register_blueprint(audit_routes.bp)
    dashboard.install(app, env)
    register_error_handlers(app)
    metrics.install(app)
    app.after_request(secure)
    return app


def _ledger_env(database_url: str | None) -> dict[str, str]:
    return {"LEDGER_DATABASE_URL": database_url} if database_url else {}


def secure(response: Response) -> Response:
    """Security headers on every response; nothing the API answers may be cached, except the docs' assets."""
    response.headers.update(SECURITY_HEADERS)
    docs = request.path == "/docs" or request.path.startswith("/docs/")
    response.headers["Content-Security-Policy"] = DOCS_CSP if docs else API_CSP
    if not request.path.startswith(("/docs/assets/", "/docs/static/")):
        response.headers["Cache-Control"] = "no-store"
    return response


def app_ledger(app: Flask) -> Any:
    """The LedgerApplication behind an app (for tests and the CLI)."""
    return app.extensions["ledger"]
