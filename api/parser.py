"""Request body parsing: JSON only (415 otherwise), at most 1 MiB (413, via MAX_CONTENT_LENGTH).

The JSON must be JSON as RFC 8259 and I-JSON (RFC 7493) have it, or the request is malformed (400): no `NaN` or
`Infinity`, no lone surrogate (`"\\ud800"` is not text), no nesting deeper than the parser's recursion limit and no
integer beyond Python's 4300 digits. Each of those used to escape the parser as an exception and answer 500.

flask-smorest reads a blueprint's `ARGUMENTS_PARSER` when a view is declared, so the API's blueprints derive from
the `Blueprint` here rather than having the parser swapped in later.
"""

from __future__ import annotations

import json
from typing import Any

import flask
import flask_smorest
import marshmallow as ma
from webargs import core
from webargs.flaskparser import FlaskParser, abort


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(raw: bytes) -> Any:
    """Parse a body; any way it is not JSON this API accepts is a JSONDecodeError (webargs answers 400)."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
        if b"\\u" in raw:  # only an escape can make a lone surrogate (UTF-8 cannot); it cannot be encoded
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    except json.JSONDecodeError:
        raise  # an empty body stays "missing" (422 naming the required fields), as webargs has it
    except (ValueError, RecursionError) as error:  # bad UTF-8, NaN, a lone surrogate, too deep, too many digits
        raise json.JSONDecodeError(f"not acceptable JSON ({type(error).__name__})", "(body)", 0) from None
    return value


class JsonOnlyParser(FlaskParser):
    """webargs' Flask parser, refusing a body that is not `application/json` (or `application/*+json`).

    Unknown query parameters are refused (422) like unknown body fields, so a misspelt filter never silently
    widens an answer.
    """

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": "raise", "querystring": "raise"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[type, ma.Schema] = {}

    def _get_schema(self, argmap: Any, req: flask.Request) -> ma.Schema:
        """One instance per schema class: webargs built a new one (deep-copying every field) for each request.

        A marshmallow schema holds no per-load state, so one instance serves every request and thread.
        """
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            if argmap not in self._schemas:
                self._schemas[argmap] = argmap()
            return self._schemas[argmap]
        return super()._get_schema(argmap, req)

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not core.is_json(req.mimetype):
            abort(415, message=f"A request body must be application/json, not {req.mimetype or 'unspecified'}.")
        return strict_json(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonOnlyParser()
