"""Fields shared by every schema: money as strings, UTC instants, ISO dates, strict integers, list pages.

Money is a JSON string with at most two decimal places on input (`"3200.00"`, `"-150.5"` for a signed credit) and
always two places on output. A JSON number is refused for money (422): a float cannot carry piastres exactly, and
clients cannot tell their integers from floats reliably. Instants must carry a UTC offset on input and are always
written in UTC (`2026-01-15T09:30:00Z`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from ledger.money import as_text

# ASCII digits only (`\d` would take Arabic-Indic ones), and `(?!\n)$` because a bare `$` also matches before a final
# newline: "TX1\n" would otherwise be a second, different reference for the same payment.
MONEY = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?(?!\n)$")
SIGNED_MONEY = re.compile(r"^-?[0-9]{1,12}(\.[0-9]{1,2})?(?!\n)$")
REFERENCE = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}(?!\n)$"
SUBSCRIBER_NO = r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}(?!\n)$"
MAX_KWH = 10**9


class Money(fields.Field):
    """An amount in pounds as a string with at most two decimal places; never a JSON number."""

    default_error_messages = {
        "type": 'Money must be a JSON string such as "3200.00"; numbers (floats) are refused.',
        "format": 'Money must look like "3200.00": digits with at most two decimal places{sign}.',
    }

    def __init__(self, *, signed: bool = False, **kwargs: Any) -> None:
        self.signed = signed
        pattern = SIGNED_MONEY if signed else MONEY
        metadata = {"type": "string", "pattern": pattern.pattern, "example": "-150.00" if signed else "3200.00"}
        super().__init__(metadata={**metadata, **kwargs.pop("metadata", {})}, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else as_text(Decimal(value))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if not isinstance(value, str):
            raise self.make_error("type")
        if not (SIGNED_MONEY if self.signed else MONEY).match(value):
            raise self.make_error("format", sign=", optionally signed" if self.signed else "")
        return Decimal(value)


class Instant(fields.AwareDateTime):
    """A timezone-aware ISO 8601 instant; read with any offset, written in UTC."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"example": "2026-01-15T09:30:00Z", **kwargs.pop("metadata", {})}
        super().__init__(format="iso", metadata=metadata, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise self.make_error("invalid", input=value, obj_type="datetime") from None


class IsoDate(fields.Date):
    """A calendar date `YYYY-MM-DD`; the ledger keeps dates as ISO strings, which pass through."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return date.fromisoformat(value).isoformat() if isinstance(value, str) else value.isoformat()


class StrictInteger(fields.Integer):
    """A JSON integer: no floats, no strings, no booleans."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def kwh(**kwargs: Any) -> StrictInteger:
    return StrictInteger(validate=validate.Range(0, MAX_KWH), **kwargs)


def reference(**kwargs: Any) -> fields.String:
    """A bank's or hub's reference: letters, digits and `._:-`, at most 64 characters."""
    return fields.String(validate=validate.Regexp(REFERENCE), **kwargs)


# Control characters other than tab and newlines: a NUL, once in an event, stops PostgreSQL's read models for good.
CONTROLS = [chr(code) for code in (*range(0x20), 0x7F) if chr(code) not in "\t\n\r"]


def text(max_length: int = 500, **kwargs: Any) -> fields.String:
    """Free text that must say something, without control characters."""
    no_controls = validate.ContainsNoneOf(CONTROLS, error="Control characters (such as NUL) are not allowed in text.")
    return fields.String(validate=[validate.Length(1, max_length), validate.Regexp(r"\S"), no_controls], **kwargs)


class RequestSchema(Schema):
    """Base of request bodies: unknown fields are refused (422)."""

    class Meta:
        unknown = RAISE


@cache
def page_of(item: type[Schema]) -> type[Schema]:
    """The list envelope `{"items": [...], "next_cursor": null | "..."}` for an item schema."""
    name = item.__name__.removesuffix("Schema") + "PageSchema"
    return type(
        name,
        (Schema,),
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(required=True, allow_none=True),
        },
    )


def page(items: list[Any]) -> dict[str, Any]:
    """A single page holding everything (a subscriber's own bills or readings are few)."""
    return {"items": items, "next_cursor": None}
