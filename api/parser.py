"""Request body parsing: JSON only (415 otherwise), at most 1 MiB (413, via MAX_CONTENT_LENGTH).

flask-smorest reads a blueprint's `ARGUMENTS_PARSER` when a view is declared, so the API's blueprints derive from
the `Blueprint` here rather than having the parser swapped in later.
"""

from __future__ import annotations

from typing import Any

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, abort


class JsonOnlyParser(FlaskParser):
    """webargs' Flask parser, refusing a body that is not `application/json` (or `application/*+json`).

    Unknown query parameters are refused (422) like unknown body fields, so a misspelt filter never silently
    widens an answer.
    """

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": "raise", "querystring": "raise"}

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not core.is_json(req.mimetype):
            abort(415, message=f"A request body must be application/json, not {req.mimetype or 'unspecified'}.")
        return core.parse_json(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonOnlyParser()
