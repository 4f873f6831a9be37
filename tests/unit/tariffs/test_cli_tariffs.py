"""`evgate tariffs price|check`, in process through config.cli.main and once as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from config.cli import main

TIME_TARIFF = {
    "id": "12",
    "currency": "EUR",
    "elements": [
        {"price_components": [{"type": "TIME", "price": 2.00, "vat": 10.0, "step_size": 300}]}
    ],
    "last_updated": "2015-02-02T14:15:01Z",
}
CDR = {
    "id": "12345",
    "start_date_time": "2015-06-29T21:39:09Z",
    "end_date_time": "2015-06-29T23:37:32Z",
    "currency": "EUR",
    "cdr_location": {"id": "LOC1", "country": "BEL"},
    "tariffs": [TIME_TARIFF],
    "charging_periods": [
        {
            "start_date_time": "2015-06-29T21:39:09Z",
            "dimensions": [{"type": "TIME", "volume": 1.973}],
            "tariff_id": "12",
        }
    ],
    "total_cost": {"excl_vat": 4.00, "incl_vat": 4.40},
    "total_energy": 15.342,
    "total_time": 1.973,
}
EVENING = {
    "id": "22",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [{"type": "ENERGY", "price": "0.40", "step_size": 1}],
            "restrictions": {"start_time": "17:00", "end_time": "21:00"},
        },
        {"price_components": [{"type": "ENERGY", "price": "0.20", "step_size": 1}]},
    ],
}


def write(tmp_path: Path, name: str, obj: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(obj) if not isinstance(obj, str) else obj)
    return str(path)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_price_cdr_example_with_its_own_tariff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["tariffs", "price", "--cdr", write(tmp_path, "c.json", CDR)], capsys)
    assert code == 0
    result = json.loads(out)
    assert result["total_cost"] == {"excl_vat": "4.0000", "incl_vat": "4.4000"}
    assert result["total_time_cost"] == {"excl_vat": "4.0000", "incl_vat": "4.4000"}
    assert result["total_fixed_cost"] == {"excl_vat": "0.0000", "incl_vat": "0.0000"}
    assert result["total_reservation_cost"] == {"excl_vat": "0.0000", "incl_vat": "0.0000"}
    assert (result["total_time"], result["total_parking_time"], result["total_energy"]) == (
        1.973,
        0,
        0,
    )
    # CdrLocation of 2.2.1 has no time_zone, but Belgium keeps one clock
    assert err == (
        "evgate: time zone Europe/Brussels inferred from cdr_location.country BEL "
        "(pass --tz ZONE to override)\n"
    )


def test_time_zone_changes_which_element_applies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cdr = dict(CDR, tariffs=[], charging_periods=[
        {"start_date_time": "2024-05-02T15:30:00Z",
         "dimensions": [{"type": "ENERGY", "volume": 10}, {"type": "TIME", "volume": 1}]},
    ], end_date_time="2024-05-02T16:30:00Z")  # fmt: skip
    args = ["tariffs", "price", "--cdr", write(tmp_path, "c.json", cdr)]
    args += ["--tariff", write(tmp_path, "t.json", EVENING)]
    code, out, _ = run([*args, "--tz", "Europe/Oslo"], capsys)  # 17:30 local: evening price
    assert code == 0 and json.loads(out)["total_cost"]["excl_vat"] == "4.0000"
    code, out, _ = run([*args, "--tz", "UTC"], capsys)  # 15:30: day price
    assert code == 0 and json.loads(out)["total_cost"]["excl_vat"] == "2.0000"
    cdr["cdr_location"] = {"id": "LOC1", "time_zone": "Europe/Oslo"}
    args[3] = write(tmp_path, "c2.json", cdr)
    code, out, err = run(args, capsys)
    assert code == 0 and json.loads(out)["total_cost"]["excl_vat"] == "4.0000"
    assert err == ""


@pytest.mark.parametrize(
    ("files", "extra", "message"),
    [
        ({"c.json": "{not json"}, [], "c.json: not valid JSON (line 1"),
        ({}, [], "cannot read"),
        (
            {"c.json": CDR, "t.json": {"currency": "EUR", "elements": [{"price_components": [
                {"type": "TIME", "price": 1, "step_size": -60}]}]}},
            ["--tariff", "t.json"],
            "t.json: elements[0].price_components[0].step_size: must be a non-negative integer",
        ),
        (
            {"c.json": dict(CDR, tariffs=[dict(TIME_TARIFF, currency="eur")])},
            [],
            "c.json: tariffs[0].currency: must be an ISO 4217 code",
        ),
        (
            {"c.json": dict(CDR, charging_periods=[{"start_date_time": "2015-06-29T21:39:09Z",
                                                   "dimensions": [{"type": "TIME"}]}])},
            [],
            "c.json: charging_periods[0].dimensions[0].volume: is required",
        ),
        ({"c.json": dict(CDR, tariffs=[])}, [], "the CDR carries no tariff"),
        ({"c.json": dict(CDR, currency="NOK")}, [], "currency: the CDR is in NOK"),
        ({"c.json": CDR}, ["--tz", "Mars/Olympus"], "--tz: unknown time zone 'Mars/Olympus'"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, Any],
    extra: list[str],
    message: str,
) -> None:
    for name, content in files.items():
        write(tmp_path, name, content)
    extra = [str(tmp_path / a) if a.endswith(".json") else a for a in extra]
    code, out, err = run(["tariffs", "price", "--cdr", str(tmp_path / "c.json"), *extra], capsys)
    assert code == 2
    assert out == ""
    lines = [line for line in err.splitlines() if not line.startswith("evgate: warning:")]
    assert len(lines) == 1 and lines[0].startswith("evgate: ")
    assert message in lines[0]


def test_check_lists_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "t.json", EVENING)
    code, out, _ = run(["tariffs", "check", path], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{path}: valid OCPI 2.2.1 tariff 22 in EUR, 2 element(s)"
    assert lines[1:] == [
        "warning: country_code: required by OCPI 2.2.1 (needed when the tariff is sent)",
        "warning: party_id: required by OCPI 2.2.1 (needed when the tariff is sent)",
        "warning: last_updated: required by OCPI 2.2.1 (needed when the tariff is sent)",
    ]


def test_check_rejects_an_invalid_tariff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = dict(EVENING, elements=[{"price_components": [{"type": "ENERGY", "price": 1,
                                                        "step_size": 1}],
                                   "restrictions": {"start_time": "5pm"}}])  # fmt: skip
    code, out, err = run(["tariffs", "check", write(tmp_path, "t.json", bad)], capsys)
    assert code == 2 and out == ""
    assert "t.json: elements[0].restrictions.start_time: must be a time of day" in err


def test_installed_command_runs(tmp_path: Path) -> None:
    evgate = Path(sys.executable).with_name("evgate")
    if not evgate.exists():
        pytest.skip("the evgate script is not installed in this environment")
    done = subprocess.run(
        [str(evgate), "tariffs", "price", "--cdr", write(tmp_path, "c.json", CDR), "--tz", "UTC"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total_cost"]["incl_vat"] == "4.4000"
    bad = subprocess.run(
        [str(evgate), "tariffs", "check", str(tmp_path / "missing.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("evgate: cannot read")


def evening_cdr(location: dict[str, Any], start: str = "2024-05-02T15:30:00Z") -> dict[str, Any]:
    """10 kWh from 15:30 UTC: 17:30 in Oslo, inside EVENING's 17:00-21:00 window (0.40)."""
    return dict(CDR, tariffs=[], cdr_location=location, start_date_time=start,
                end_date_time="2024-05-02T16:30:00Z", charging_periods=[
        {"start_date_time": "2024-05-02T15:30:00Z",
         "dimensions": [{"type": "ENERGY", "volume": 10}, {"type": "TIME", "volume": 1}]},
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("country", "zone", "excl_vat"),
    [
        ("NOR", "Europe/Oslo", "4.0000"),
        ("DEU", "Europe/Berlin", "4.0000"),  # Busingen keeps Berlin's clock: one zone in effect
        ("no", "Europe/Oslo", "4.0000"),  # alpha-2, lower case: as some CPOs send it
    ],
)
def test_time_zone_inferred_from_the_cdr_country(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    country: str,
    zone: str,
    excl_vat: str,
) -> None:
    args = ["tariffs", "price", "--tariff", write(tmp_path, "t.json", EVENING)]
    args += ["--cdr", write(tmp_path, "c.json", evening_cdr({"id": "L", "country": country}))]
    code, out, err = run(args, capsys)
    assert code == 0 and json.loads(out)["total_cost"]["excl_vat"] == excl_vat
    assert f"time zone {zone} inferred from cdr_location.country {country}" in err
    assert "warning" not in err
    code, out, err = run([*args, "--tz", "UTC"], capsys)  # --tz wins, silently
    assert code == 0 and json.loads(out)["total_cost"]["excl_vat"] == "2.0000" and err == ""


@pytest.mark.parametrize(
    ("country", "words"),
    [
        ("USA", "cdr_location.country USA has several time zones (America/New_York, "),
        ("AUS", "cdr_location.country AUS has several time zones"),
        ("ESP", "cdr_location.country ESP has several time zones"),  # the Canary Islands
        ("XYZ", "cdr_location.country 'XYZ' is not a country the time zone table knows"),
    ],
)
def test_ambiguous_or_unknown_country_keeps_utc_and_says_pass_tz(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], country: str, words: str
) -> None:
    args = ["tariffs", "price", "--tariff", write(tmp_path, "t.json", EVENING)]
    args += ["--cdr", write(tmp_path, "c.json", evening_cdr({"id": "L", "country": country}))]
    code, out, err = run(args, capsys)
    assert code == 0 and json.loads(out)["total_cost"]["excl_vat"] == "2.0000"  # UTC: day price
    assert err.startswith(f"evgate: warning: {words}")
    assert "pricing time windows in UTC. Pass --tz ZONE" in err
    assert len(err.splitlines()) == 1


def test_periods_before_the_cdr_start_are_priced_at_their_own_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real CPO's CDR: the period starts 30 minutes before the CDR's start_date_time."""
    one_hour = dict(EVENING, elements=[
        dict(EVENING["elements"][0], restrictions={"start_time": "17:00", "end_time": "18:00"}),
        EVENING["elements"][1],
    ])  # fmt: skip
    cdr = evening_cdr({"id": "L", "country": "NOR"}, start="2024-05-02T16:00:00Z")
    args = ["tariffs", "price", "--tariff", write(tmp_path, "t.json", one_hour)]
    args += ["--cdr", write(tmp_path, "c.json", cdr)]
    code, out, err = run(args, capsys)
    # 17:30 Oslo (the period's own start) is in the 17-18 window; 18:00 (the CDR's) is not
    assert code == 0 and json.loads(out)["total_cost"]["excl_vat"] == "4.0000"
    warning = [line for line in err.splitlines() if "warning" in line]
    assert warning == [
        f"evgate: warning: {tmp_path / 'c.json'}: charging_periods[0].start_date_time: "
        "2024-05-02T15:30:00Z is 30 min before the CDR's start_date_time 2024-05-02T16:00:00Z "
        "(1 period(s) start before it); priced at the periods' own times"
    ]
    cdr["start_date_time"] = "2024-05-02T15:30:00Z"  # agreeing times: no warning
    args[-1] = write(tmp_path, "c.json", cdr)
    code, _, err = run(args, capsys)
    assert code == 0 and "warning" not in err
