"""Tariff input for the API: OCPI JSON read with exact numbers, or the simple text form.

Validation is the tariff engine's (``TariffError`` names the field); what is stored is the
engine's own JSON of the parsed tariff, so a stored version always parses again.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import HTTPException, Request

from tariffs import Tariff, check_tariff, dumps, parse_tariff
from tariffs import tariff_to_json as to_json

MAX_BODY = 256 * 1024
MAX_EXPONENT = 30  # no tariff needs 10^30; a number like 1e999999 would be a memory bomb


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"bad number {text!r}") from None
    if value.is_finite() and value and abs(value.adjusted()) > MAX_EXPONENT:
        raise ValueError(f"number {text} is out of range")
    return value


async def exact_json_body(request: Request) -> Any:
    """The request body as JSON with every decimal number read as an exact Decimal."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise HTTPException(413, f"the body is larger than {MAX_BODY // 1024} KiB")
    try:
        return json.loads(raw, parse_float=_decimal)
    except (ValueError, RecursionError) as exc:
        raise HTTPException(422, f"body: is not valid JSON ({str(exc)[:80]})") from None


def ocpi_version(obj: Any) -> tuple[Tariff, str, list[str]]:
    """Parse an OCPI tariff object: the model, its JSON text to store, warnings."""
    tariff = parse_tariff(obj)
    return tariff, dumps(to_json(tariff), indent=None), check_tariff(tariff)


def stored_json(text: str) -> Any:
    """A stored version's OCPI JSON, numbers exact."""
    return json.loads(text, parse_float=Decimal)


# OpenAPI description of the OCPI body (the handler reads it itself, to keep numbers exact)
OCPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "title": "OCPI 2.2.1 Tariff",
                    "type": "object",
                    "required": ["currency", "elements"],
                    "properties": {
                        "currency": {"type": "string", "example": "NOK"},
                        "elements": {
                            "type": "array",
                            "items": {"type": "object"},
                            "example": [
                                {
                                    "price_components": [
                                        {"type": "ENERGY", "price": 2.5, "step_size": 1}
                                    ]
                                }
                            ],
                        },
                    },
                    "additionalProperties": True,
                }
            }
        },
    }
}
