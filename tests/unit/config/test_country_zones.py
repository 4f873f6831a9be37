"""The alpha-3 table and the zone inference behind `evgate tariffs price` without --tz."""

from __future__ import annotations

import importlib.resources
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.country_zones import ALPHA3_TO_ALPHA2, infer_zone

ISO_CODES = Path("/usr/share/iso-codes/json/iso_3166-1.json")  # Debian's iso-codes, if present


def tzdata_countries() -> set[str]:
    tab = importlib.resources.files("tzdata").joinpath("zoneinfo", "iso3166.tab")
    lines = tab.read_text("utf-8").splitlines()
    return {line.split("\t")[0] for line in lines if line and not line.startswith("#")}


def test_the_table_maps_every_tzdata_country_once() -> None:
    assert len(ALPHA3_TO_ALPHA2) == 249
    assert sorted(ALPHA3_TO_ALPHA2.values()) == sorted(tzdata_countries())
    assert ALPHA3_TO_ALPHA2["NOR"] == "NO" and ALPHA3_TO_ALPHA2["CHE"] == "CH"


def test_the_table_agrees_with_iso_codes() -> None:
    if not ISO_CODES.exists():
        pytest.skip(f"{ISO_CODES} not installed (Debian package iso-codes)")
    entries = json.loads(ISO_CODES.read_text())["3166-1"]
    assert {e["alpha_3"]: e["alpha_2"] for e in entries} == ALPHA3_TO_ALPHA2


SUMMER = [datetime(2024, 7, 1, 12, tzinfo=UTC), datetime(2024, 7, 1, 14, tzinfo=UTC)]


def test_one_clock_countries_and_real_choices() -> None:
    assert infer_zone("NOR", SUMMER).zone == "Europe/Oslo"
    assert infer_zone("SWE", SUMMER).zone == "Europe/Stockholm"
    assert infer_zone("DEU", SUMMER).zone == "Europe/Berlin"  # and Europe/Busingen, same clock
    assert infer_zone("USA", SUMMER).zone is None
    assert "America/Chicago" in infer_zone("USA", SUMMER).candidates
    assert infer_zone("ESP", SUMMER).zone is None  # Atlantic/Canary is an hour behind
    unknown = infer_zone("ZZZ", SUMMER)
    assert unknown.zone is None and not unknown.known
