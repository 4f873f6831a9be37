"""Print the config API's OpenAPI document: `python -m config.api.openapi > docs/openapi.json`."""

from __future__ import annotations

import json
from typing import Any

from config.api.app import create_app
from store.db import create_engine


def document() -> dict[str, Any]:
    """The OpenAPI document (no database is touched: the engine is never connected)."""
    return create_app(create_engine("sqlite+aiosqlite:///:memory:")).openapi()


def text() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(text(), end="")
