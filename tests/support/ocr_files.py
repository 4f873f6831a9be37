"""OCR Giro files for tests, built with netsgiro's own object model and serializer (never by
hand): a transmission from Nets with one OCR Giro assignment of the payments given."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import netsgiro

NETS = netsgiro.NETS_ID  # the data transmitter of an OCR Giro file is Nets
PAYEE = "00010200"  # the payee's (our) Nets id: the file's recipient
ACCOUNT = "99991042764"
AGREEMENT = "001008566"


def ocr_file(
    payments: Sequence[tuple[str, int]],
    *,
    transmission: str = "1701001",
    assignment: str = "0000001",
    day: date = date(2026, 11, 25),
    types: Sequence[netsgiro.TransactionType] = (),
) -> bytes:
    """An OCR Giro file paying ``(kid, øre)`` each, in order, as ISO-8859-1 bytes."""
    tx = netsgiro.Transmission(
        number=transmission, data_transmitter=NETS, data_recipient=PAYEE, date=day
    )
    a = tx.add_assignment(
        service_code=netsgiro.ServiceCode.OCR_GIRO,
        assignment_type=netsgiro.AssignmentType.TRANSACTIONS,
        agreement_id=AGREEMENT,
        number=assignment,
        account=ACCOUNT,
        date=day,
    )
    for i, (kid, ore) in enumerate(payments, start=1):
        kind = types[i - 1] if types else netsgiro.TransactionType.FROM_GIRO_DEBITED_ACCOUNT
        a.transactions.append(
            netsgiro.Transaction(
                service_code=netsgiro.ServiceCode.OCR_GIRO,
                type=kind,
                number=i,
                date=day,
                amount=Decimal(ore) / 100,
                kid=kid,
                reference=f"{i:09d}",
                text="Faktura" if kind in _WITH_TEXT else None,
                centre_id="13",
                day_code=day.day,
                partial_settlement_number=1,
                partial_settlement_serial_number="01464",
                sign="0",
                form_number="9636827194",
                bank_date=day,
                debit_account=f"9999{i:07d}",
                filler=None,
            )
        )
    return tx.to_ocr().encode("iso-8859-1")


_WITH_TEXT = (
    netsgiro.TransactionType.REVERSING_WITH_TEXT,
    netsgiro.TransactionType.PURCHASE_WITH_TEXT,
)
