"""The simulator's Firmware Management pieces that need no socket, and the upload names and
redaction of services.firmware."""

from __future__ import annotations

import pytest

from services import firmware
from simulators.charger import SimCharger
from simulators.firmware import FirmwareSwitches, version_from
from store.errors import Invalid


@pytest.mark.parametrize(
    ("location", "version"),
    [
        ("https://fw.example.com/wallbox-6.5.1.bin", "6.5.1"),
        ("ftp://fw.example.com/pulsar/v5.5.12.tar.gz?x=1", "5.5.12"),
        ("https://fw.example.com/6.0/latest.bin", None),  # the file's name, not the folder
    ],
)
def test_the_version_comes_from_the_file_name(location: str, version: str | None) -> None:
    assert version_from(location) == version


def test_a_diagnostics_request_is_answered_with_a_file_name_and_a_small_log() -> None:
    cp = SimCharger("ws://127.0.0.1:1/ocpp", "WB-9", firmware=FirmwareSwitches())
    answer, after = cp.firmware.get_diagnostics({"location": "https://up.example.com/x"})
    assert answer["fileName"].startswith("WB-9-diagnostics-") and after is not None
    log = cp.firmware.diagnostics_file({}, cp.clock.now_ms())
    assert log.startswith(b"charger WB-9 ") and b"connector 1 status Available" in log
    quiet = SimCharger(
        "ws://127.0.0.1:1/ocpp", "WB-8", firmware=FirmwareSwitches(no_diagnostics=True)
    )
    assert quiet.firmware.get_diagnostics({"location": "https://up.example.com/x"}) == ({}, None)


def test_installing_changes_what_the_next_boot_reports() -> None:
    cp = SimCharger("ws://127.0.0.1:1/ocpp", "WB-9")
    before = cp.spec
    cp.install_firmware("7.0.0")
    assert cp.spec.firmware == "7.0.0" and cp.spec.model == before.model


def test_upload_names_are_one_plain_segment() -> None:
    assert firmware.safe_name("../../etc/passwd", "x") == "passwd"
    assert firmware.safe_name("C:\\logs\\cp 1.log", "x") == "cp_1.log"
    assert firmware.safe_name("...", "fallback") == "fallback"
    assert firmware.safe_name(None, "fallback") == "fallback"


def test_the_upload_token_is_masked_and_defaults_fill_in() -> None:
    filled = firmware.diagnostics_defaults({}, "https://evgate.example.com/")
    location = filled["location"]
    assert location.startswith("https://evgate.example.com/upload/diagnostics/")
    token = location.rsplit("/", 1)[1]
    assert len(token) >= 43
    masked = firmware.redacted_payload(filled)["location"]
    assert masked == "https://evgate.example.com/upload/diagnostics/***" and token not in masked
    other = {"location": "ftp://logs.example.com/in/"}
    assert firmware.diagnostics_defaults(other, None) == other
    assert firmware.redacted_payload(other) == other
    with pytest.raises(Invalid, match="EVGATE_PUBLIC_URL"):
        firmware.diagnostics_defaults({}, None)
    assert firmware.firmware_defaults({"location": "x"}, None)["retrieveDate"].endswith("Z")
    assert firmware.firmware_defaults({"retrieveDate": "2020-01-01T00:00:00Z"}, None) == {
        "retrieveDate": "2020-01-01T00:00:00Z"
    }
