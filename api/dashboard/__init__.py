"""The collection dashboard: an HTML page for ministry and governorate managers, in Arabic and English.

`GET /dashboard` shows, per cycle and governorate, collection efficiency, billed vs paid vs cleared, e-payment
shares by channel and bank, arrears by age, settlement breaks per bank and the e-payment rollout map, with charts
drawn on the server as SVG (no script, nothing from the internet). Every figure links to the bills, payments or
subscribers behind it (`/dashboard/subscribers`), and every table downloads as CSV (`/dashboard/<table>.csv`).
Money is in new Syrian pounds (SYP).

Staff and auditors sign in at `/dashboard/login` with their API token and get a signed session cookie, or call with
`Authorization: Bearer TOKEN`. Configuration (environment variables, read when the app is built):
- `LEDGER_SECRET_KEY`: the key that signs session cookies. Without it each process makes a random key, so a
  session lasts only as long as that process and is unknown to the other workers: set it whenever the server runs
  more than one worker (gunicorn, `ledger serve`), and the same in every worker.
- `LEDGER_SECURE_COOKIES=1`: send the session cookie over HTTPS only (set it behind a TLS-terminating proxy).

Wire it with `install(app, env)` in `create_app`: it registers the blueprint and gives dashboard responses their
own Content-Security-Policy (styles and images from the app itself, no script at all, forms posting only to the
app) in place of the API's, which forbids styles and forms. The policy is set by a WSGI wrapper around the app, so it
holds wherever `install` is called relative to the API's `secure()` hook; every other header `secure()` sets stays.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from api.dashboard.login import SESSION_HOURS
from api.dashboard.views import bp

__all__ = ["CSP", "bp", "install"]
log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PREFIX = "/dashboard"


def install(app: Flask, env: Mapping[str, str] | None = None) -> None:
    """Register the dashboard on `app`, configured from `env` (over os.environ)."""
    source = {**os.environ, **(env or {})}
    secret = source.get("LEDGER_SECRET_KEY") or app.config.get("SECRET_KEY")
    if not secret:
        log.warning("LEDGER_SECRET_KEY is not set: dashboard sessions use a random key of this process only")
        secret = secrets.token_hex(32)
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="ledger_dashboard",
        SESSION_COOKIE_PATH=PREFIX,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=source.get("LEDGER_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )
    app.session_interface = DashboardSessions()
    app.register_blueprint(bp)
    app.wsgi_app = DashboardPolicy(app.wsgi_app)  # type: ignore[method-assign]


def under_dashboard(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class DashboardSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, opened only under /dashboard, the only path the sign-in cookie is sent to
    (SESSION_COOKIE_PATH). Elsewhere the session is Flask's null session, which is never saved: opening a real one
    cost every API request a fresh signing serializer for a cookie no API client sends."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not under_dashboard(request.path):
            return self.make_null_session(app)
        return super().open_session(app, request)


class DashboardPolicy:
    """WSGI wrapper: responses under /dashboard carry the dashboard's Content-Security-Policy, and only that one."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not under_dashboard(environ.get("PATH_INFO", "")):
            return self.wsgi_app(environ, start_response)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if k.lower() != "content-security-policy"]
            return start_response(status, [*kept, ("Content-Security-Policy", CSP)], exc_info)

        return self.wsgi_app(environ, start)
