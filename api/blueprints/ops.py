"""Operations: liveness (no token), Prometheus metrics (staff), the OpenAPI document and the docs page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, jsonify, send_from_directory
from marshmallow import Schema, fields
from swagger_ui_bundle import swagger_ui_path

from api.auth import current_ledger, require_roles
from api.parser import Blueprint

blp = Blueprint("ops", __name__, description="Liveness and metrics.")
docs = FlaskBlueprint("docs", __name__, static_folder="../static", static_url_path="/docs/static")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    last_position = fields.Integer(
        required=True, allow_none=True, metadata={"description": "The newest event's position in the store."}
    )


@blp.get("/healthz")
@blp.response(200, HealthSchema)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
@blp.doc(security=[])
def healthz() -> Any:
    """Liveness: answers 200 when the event store answers a cheap query (503 otherwise). No token needed."""
    return {"status": "ok", "last_position": current_ledger().recorder.max_notification_id()}


@blp.get("/metrics")
@require_roles("staff")
@blp.response(200, {"type": "string"}, content_type="text/plain")
def metrics() -> Any:
    """Prometheus metrics in the text exposition format."""
    return current_app.extensions["ledger_metrics"].exposition()


@docs.get("/openapi.json")
@require_roles("staff", "auditor", "portal", "bank")
def openapi_json() -> Response:
    """The OpenAPI 3 document of this API."""
    return jsonify(current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict())


@docs.get("/docs")
def docs_page() -> Response:
    """The browsable API page (static; it asks for a token and then loads /openapi.json with it)."""
    return send_from_directory(docs.static_folder or "", "docs.html")


@docs.get("/docs/assets/<path:filename>")
def docs_assets(filename: str) -> Response:
    """Swagger UI's own files, shipped by the swagger-ui-bundle package: nothing is loaded from the internet."""
    return send_from_directory(str(swagger_ui_path), filename)
