"""Who may look: staff and auditors, signed in with their API token or calling with `Authorization: Bearer`.

Signing in puts a signed session cookie (Flask's session, keyed by `SECRET_KEY`) on the browser. The cookie holds
no token and no token digest: only an HMAC of the token's digest under the secret key, which names the client
without revealing anything that could be replayed against the JSON API. Every request looks the client up again
in `LEDGER_TOKENS`, so removing a token there ends its sessions at once; a session also ends after
`SESSION_HOURS`. The login and logout forms carry a per-session CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for

from api.auth import authenticate
from api.config import Client, token_digest
from api.problems import ApiProblem

VIEWERS = ("staff", "auditor")
SESSION_HOURS = 8


def _seal(digest: bytes) -> str:
    key = current_app.secret_key
    secret = key.encode() if isinstance(key, str) else bytes(key or b"")
    return hmac.new(secret, b"dashboard-session:" + digest, hashlib.sha256).hexdigest()


def client_for_token(token: str) -> Client | None:
    """The client a token belongs to, compared in constant time against every known token."""
    digest, found = token_digest(token.strip()), None
    for known, client in current_app.extensions["ledger_clients"].items():
        if hmac.compare_digest(known, digest):
            found = client
    return found


def sign_in(token: str) -> Client:
    session.clear()
    session.permanent = True
    session["viewer"] = _seal(token_digest(token.strip()))
    session["csrf"] = secrets.token_urlsafe(24)
    return current_viewer_from_session()  # type: ignore[return-value]


def sign_out() -> None:
    session.clear()


def current_viewer_from_session() -> Client | None:
    sealed = session.get("viewer")
    if not isinstance(sealed, str):
        return None
    found = None
    for known, client in current_app.extensions["ledger_clients"].items():
        if hmac.compare_digest(_seal(known), sealed):
            found = client
    return found


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def csrf_ok() -> bool:
    sent, kept = request.form.get("csrf", ""), session.get("csrf", "")
    return bool(kept) and hmac.compare_digest(str(sent), str(kept))


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path of the dashboard itself, never another site."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/dashboard") or "\\" in (target or ""):
        return url_for("dashboard.page")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def require_viewer(view: Callable[..., Any]) -> Callable[..., Any]:
    """Staff or auditor, by session cookie or bearer token; otherwise off to the sign-in form (or 403)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        client: Client | None
        if request.headers.get("Authorization"):
            client = authenticate()  # a wrong bearer token is a 401 problem, as on the API
            if client.role not in VIEWERS:
                raise ApiProblem(403, "role-not-allowed", f"The dashboard is for staff or auditor, not {client.role}.")
        else:
            client = current_viewer_from_session()
            if client is None or client.role not in VIEWERS:
                return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
        g.client = client
        return view(*args, **kwargs)

    return guarded
