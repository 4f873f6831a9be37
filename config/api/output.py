"""JSON out without losing digits: Decimals are written as exact numbers, times as ISO 8601."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi.responses import Response

from tariffs import dumps


def plain(value: Any) -> Any:
    """Rows to JSON-ready values (Decimals stay Decimals for `dumps`)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


class ExactJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(plain(content), indent=None).encode()


def percent(basis_points: int) -> str:
    """1500 -> "15.00" (an exact percentage for people)."""
    return str(Decimal(basis_points).scaleb(-2).quantize(Decimal("0.01")))
