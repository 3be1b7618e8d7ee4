"""Every error as `application/problem+json` (RFC 9457), from one table of handlers.

A problem has `type` (a URI built from the rule's slug), `title`, `status`, `detail`, the slug itself as `rule`,
and for validation errors a field-by-field `errors` object. The ledger's refusals (`LedgerError`) map to a status by
their `kind`; HTTP-level errors (routing, media type, body size, malformed JSON, authentication) come from werkzeug
or from `ApiProblem`. An unexpected exception is a bug: it is logged and still answered as a problem (500).
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

import sqlalchemy.exc
from eventsourcing.persistence import InterfaceError, OperationalError
from flask import Flask, Response, g, request
from flask_smorest import Api
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from ledger.errors import LedgerError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://ledger.electricity.gov.sy/problems/"
STATUS_BY_KIND = {"not_found": 404, "conflict": 409, "unprocessable": 422, "forbidden": 403}
RULE_BY_STATUS = {
    400: "malformed-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "body-too-large",
    415: "unsupported-media-type",
    422: "validation-failed",
    500: "internal-error",
    503: "service-unavailable",
}
RETRY_AFTER_SECONDS = "5"
# The database cannot be reached or dropped the connection: the event store's own errors, and SQLAlchemy's when they
# reach us unwrapped (the read side). A DBAPI error on a connection SQLAlchemy has just invalidated is one too.
DATABASE_DOWN = (
    OperationalError,
    InterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
)


class ApiProblem(Exception):
    """A refusal decided by the API itself (authentication, roles), not by the ledger."""

    def __init__(
        self,
        status: int,
        rule: str,
        detail: str,
        headers: dict[str, str] | None = None,
        errors: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.rule, self.detail, self.headers, self.errors = status, rule, detail, headers or {}, errors


class ProblemSchema(Schema):
    """An RFC 9457 problem document."""

    type = fields.String(required=True, metadata={"format": "uri", "example": TYPE_BASE + "overpayment"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    rule = fields.String(required=True, metadata={"description": "Stable slug of the rule that refused it."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={"description": "For validation errors: messages per field of the request."},
    )


def problem(
    status: int,
    rule: str,
    detail: str,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    title: str | None = None,
) -> Response:
    """Render a problem response and remember its rule for the metrics."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + rule,
        "title": title or rule.replace("-", " ").capitalize(),
        "status": status,
        "detail": detail,
        "rule": rule,
    }
    if errors:
        body["errors"] = errors
    g.problem_rule = rule
    response = Response(json.dumps(body, ensure_ascii=False, default=str), status=status, mimetype=PROBLEM_JSON)
    response.headers.update(headers or {})
    return response


def _field_errors(messages: Any) -> dict[str, Any]:
    """webargs nests messages by location ({"json": {...}}); clients want the fields."""
    if not isinstance(messages, dict):
        return {"_schema": messages}
    merged: dict[str, Any] = {}
    for location, errors in messages.items():
        if isinstance(errors, dict):
            merged.update(errors)
        else:
            merged[location] = errors
    return merged


def on_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        headers["Allow"] = ", ".join(allowed)
    title = HTTPStatus(status).phrase
    rule = RULE_BY_STATUS.get(status, title.lower().replace(" ", "-"))
    if "messages" in data:
        errors = _field_errors(data["messages"])
        if status == 400:
            return problem(
                400, "malformed-json", "The request body is not valid JSON.", headers=headers, title="Malformed JSON"
            )
        fields_named = ", ".join(sorted(errors))
        return problem(
            status, rule, f"The request has invalid fields: {fields_named}.", errors, headers, title="Validation failed"
        )
    detail = data.get("message") or error.description or title
    return problem(status, rule, detail, headers=headers, title=title)


def on_ledger_error(error: LedgerError) -> Response:
    status = STATUS_BY_KIND.get(error.kind, 422)
    field = error.context.get("field")
    errors = {str(field): [error.detail]} if field else None
    return problem(status, error.rule, error.detail, errors)


def on_api_problem(error: ApiProblem) -> Response:
    return problem(error.status, error.rule, error.detail, error.errors, error.headers)


def is_database_down(error: BaseException | None) -> bool:
    """The error, or one it was raised from, says the database is away (not that a query was wrong)."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, DATABASE_DOWN):
            return True
        if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def on_database_down(error: Exception) -> Response:
    log.warning("database unavailable on %s %s: %s", request.method, request.path, type(error).__name__)
    return problem(
        503,
        "database-unavailable",
        "The ledger's database cannot be reached; try again shortly.",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def on_unexpected(error: Exception) -> Response:
    if is_database_down(error):
        return on_database_down(error)
    log.exception("unexpected error on %s %s", request.method, request.path)
    return problem(500, "internal-error", "An unexpected error occurred; it has been logged.")


ERROR_HANDLERS: dict[type[Exception], Any] = {
    LedgerError: on_ledger_error,
    ApiProblem: on_api_problem,
    OperationalError: on_database_down,
    InterfaceError: on_database_down,
    sqlalchemy.exc.OperationalError: on_database_down,
    sqlalchemy.exc.InterfaceError: on_database_down,
    Exception: on_unexpected,
}


def register_error_handlers(app: Flask) -> None:
    for exception, handler in ERROR_HANDLERS.items():
        app.register_error_handler(exception, handler)


class ProblemApi(Api):
    """flask-smorest's Api, documenting and rendering every error as problem+json."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def _register_responses(self) -> None:
        for status in HTTPStatus:
            if status < 400:
                continue
            response = {"description": status.phrase, "content": {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}}}
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "A problem (RFC 9457)", "content": {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}}}
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Response:
        return on_http_error(error)
