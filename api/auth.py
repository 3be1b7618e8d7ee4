"""Who is calling: bearer tokens, roles, and the few who-may-do-what rules that depend on the caller.

`require_roles` authenticates the request (401), checks the role (403) and, for routes naming a bank in their path,
that a bank acts only for its own code (403 `wrong-bank`); then it runs the view under `acting_as`, so every event
records the client. It also documents the roles and the 401/403 answers in the OpenAPI document.
Business rules stay in the ledger; these are only about the caller's identity.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from http import HTTPStatus
from typing import Any

from flask import current_app, g, request

from api.config import Client, token_digest
from api.problems import ApiProblem
from ledger import LedgerApplication
from ledger.actors import acting_as
from ledger.errors import WrongBank

CHANNEL = "api"
# The reading sources each role may submit: the portal speaks for the subscriber, staff for the utility.
READING_SOURCES = {"portal": ("self",), "staff": ("reader", "estimated")}


def current_ledger() -> LedgerApplication:
    return current_app.extensions["ledger"]


def current_client() -> Client:
    return g.client


def current_bank() -> str:
    """The calling bank's code (for routes only banks may call)."""
    bank = current_client().bank
    if bank is None:
        raise ApiProblem(403, "role-not-allowed", "Only a bank may do this.")
    return bank


def authenticate() -> Client:
    """The client named by `Authorization: Bearer TOKEN`; every known token is compared, in constant time."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("Send `Authorization: Bearer TOKEN` with a token issued to your organisation.")
    digest = token_digest(token.strip())
    found = None
    for known, client in current_app.extensions["ledger_clients"].items():
        if hmac.compare_digest(known, digest):
            found = client
    if found is None:
        raise _unauthenticated("The bearer token is not valid.")
    return found


def _unauthenticated(detail: str) -> ApiProblem:
    return ApiProblem(401, "unauthenticated", detail, headers={"WWW-Authenticate": 'Bearer realm="ledger"'})


def require_roles(*roles: str, bank_arg: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow only these roles; with `bank_arg`, a bank only for the bank code in that path argument."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            client = authenticate()
            if client.role not in roles:
                raise ApiProblem(403, "role-not-allowed", f"This route is for {' or '.join(roles)}, not {client.role}.")
            if bank_arg and client.role == "bank" and kwargs.get(bank_arg) != client.bank:
                raise WrongBank(f"A bank acts only for its own bank code ({client.bank}).")
            g.client = client
            with acting_as(client.name, CHANNEL):
                return view(*args, **kwargs)

        guarded._apidoc = _document(getattr(view, "_apidoc", {}), roles)  # type: ignore[attr-defined]
        return guarded

    return decorate


def _document(apidoc: dict[str, Any], roles: tuple[str, ...]) -> dict[str, Any]:
    doc = deepcopy(apidoc)
    responses = doc.setdefault("response", {}).setdefault("responses", {})
    for status in (401, 403):
        responses.setdefault(status, []).append(HTTPStatus(status).name)
    manual = doc.setdefault("manual_doc", {})
    manual["security"] = [{"bearerAuth": []}]
    manual["x-roles"] = list(roles)
    return doc


def acting_bank(requested: str | None) -> str:
    """The bank an enrolment is for: a bank may enrol only with itself (and by default does); staff must say."""
    client = current_client()
    if client.role == "bank":
        if requested not in (None, client.bank):
            raise WrongBank(f"A bank enrols subscribers only with itself ({client.bank}), not {requested}.")
        return client.bank or ""
    if requested is None:
        detail = "Staff must name the bank of an enrolment."
        raise ApiProblem(422, "validation-failed", detail, errors={"bank": [detail]})
    return requested


def check_reading_source(source: str) -> str:
    """The portal submits `self` readings only; staff submit `reader` or `estimated` ones."""
    allowed = READING_SOURCES.get(current_client().role, ())
    if source not in allowed:
        raise ApiProblem(
            403,
            "reading-source-not-allowed",
            f"A {current_client().role} client may submit readings with source {' or '.join(allowed)}, not {source}.",
        )
    return source
