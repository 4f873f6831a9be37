"""AvtaleGiro mandate files for tests, built with netsgiro's own object model and serializer
(never by hand): a transmission from Nets with one AvtaleGiro agreements assignment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import netsgiro

from tests.support.ocr_files import ACCOUNT, NETS, PAYEE

NEW = netsgiro.AvtaleGiroRegistrationType.NEW_OR_UPDATED_AGREEMENT
DELETED = netsgiro.AvtaleGiroRegistrationType.DELETED_AGREEMENT


def mandate_file(
    mandates: Sequence[tuple[str, netsgiro.AvtaleGiroRegistrationType, bool]],
    *,
    transmission: str = "1801001",
    day: date = date(2026, 11, 20),
) -> bytes:
    """Nets' mandate file of ``(kid, registration type, notify)`` each, ISO-8859-1 bytes."""
    tx = netsgiro.Transmission(
        number=transmission, data_transmitter=NETS, data_recipient=PAYEE, date=day
    )
    a = tx.add_assignment(
        service_code=netsgiro.ServiceCode.AVTALEGIRO,
        assignment_type=netsgiro.AssignmentType.AVTALEGIRO_AGREEMENTS,
        number="0000001",
        account=ACCOUNT,
    )
    for i, (kid, kind, notify) in enumerate(mandates, start=1):
        a.transactions.append(
            netsgiro.Agreement(
                service_code=netsgiro.ServiceCode.AVTALEGIRO,
                number=i,
                registration_type=kind,
                kid=kid,
                notify=notify,
            )
        )
    return str(tx.to_ocr()).encode("iso-8859-1")
