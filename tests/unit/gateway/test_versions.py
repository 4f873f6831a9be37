"""The subprotocol rule: one offered wins; both offered, the recorded one, else 2.0.1."""

from __future__ import annotations

import pytest

from gateway.versions import OCPP16, OCPP201, choose, offered


@pytest.mark.parametrize(
    ("offers", "recorded", "chosen"),
    [
        ([OCPP16], None, OCPP16),
        ([OCPP16], OCPP201, OCPP16),
        ([OCPP201], OCPP16, OCPP201),
        ([OCPP16, OCPP201], None, OCPP201),
        ([OCPP16, OCPP201], OCPP16, OCPP16),
        ([OCPP201, OCPP16], OCPP201, OCPP201),
        (["ocpp2.0", "ocpp1.5"], None, None),
        ([], OCPP16, None),
    ],
)
def test_choose(offers: list[str], recorded: str | None, chosen: str | None) -> None:
    assert choose(offers, recorded) == chosen


def test_offered_reads_every_header_and_list() -> None:
    assert offered(["ocpp1.6, ocpp2.0.1", " x "]) == [OCPP16, OCPP201, "x"]
