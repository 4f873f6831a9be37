"""Input types shared by the routers: strings a database can store, ids, UTC times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, Field

MAX_BIGINT = 2**63 - 1


def _storable(value: str) -> str:
    """No NUL, no lone surrogates: PostgreSQL and SQLite refuse them."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


Text = Annotated[str, AfterValidator(_storable)]
UtcTime = Annotated[AwareDatetime, AfterValidator(_utc)]
IdTag = Annotated[Text, Field(min_length=1, max_length=20)]
BigId = Annotated[int, Field(ge=1, le=MAX_BIGINT)]

# path parameters
_ID_PATTERN = r"^[^\x00-\x1f/?#% ]+$"
SiteIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID_PATTERN)]
ChargerIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID_PATTERN)]
IdPath = Annotated[int, Path(ge=1, le=MAX_BIGINT)]
IdTagPath = Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[^\x00]+$")]
SiteIdText = Annotated[Text, Field(min_length=1, max_length=64, pattern=_ID_PATTERN)]

# query parameters (None: not given)
SiteIdQuery = Annotated[
    str | None, Query(min_length=1, max_length=64, pattern=_ID_PATTERN, description="a site id")
]
ChargerIdQuery = Annotated[
    str | None, Query(min_length=1, max_length=64, pattern=_ID_PATTERN, description="a charger id")
]
