"""billing.ocr_giro: a file built with netsgiro reads back exactly; a file that is not a whole,
consistent OCR Giro payments file is refused with one sentence."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import netsgiro
import pytest

from billing.ocr_giro import OcrFileError, read_ocr, sha256_of
from tests.support.ocr_files import ACCOUNT, AGREEMENT, NETS, ocr_file


def test_a_file_reads_back_exactly() -> None:
    data = ocr_file(
        [("0000001000000017", 11250), ("99", 1), ("1234567890123456789012345", 99_999_999_99)]
    )
    f = read_ocr(data)
    assert (f.data_transmitter, f.transmission_number, f.nets_date) == (
        NETS,
        "1701001",
        date(2026, 11, 25),
    )
    assert f.sha256 == sha256_of(data) and len(f.sha256) == 64
    assert [(t.kid, t.amount, t.number) for t in f.transactions] == [
        ("0000001000000017", 11250, 1),
        ("99", 1, 2),
        ("1234567890123456789012345", 99_999_999_99, 3),
    ]
    assert f.total == 11250 + 1 + 99_999_999_99
    first = f.transactions[0]
    assert (first.account, first.agreement_id, first.debit_account) == (
        ACCOUNT,
        AGREEMENT,
        "99990000001",
    )
    assert first.identity == (NETS, "1701001", "0000001", 1)
    assert first.identity_text == f"{NETS}/1701001/0000001/1"
    assert not first.reversal and isinstance(first.amount, int)


def test_windows_line_ends_read_the_same() -> None:
    data = ocr_file([("17", 500)])
    assert read_ocr(data.replace(b"\n", b"\r\n")).transactions == read_ocr(data).transactions


def test_reversals_are_marked() -> None:
    kinds = [
        netsgiro.TransactionType.REVERSING_WITH_KID,
        netsgiro.TransactionType.PURCHASE_WITH_KID,
    ]
    f = read_ocr(ocr_file([("17", 500), ("18", 600)], types=kinds))
    assert [t.reversal for t in f.transactions] == [True, False]


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda d: b"", "empty"),
        (lambda d: b"hello", "not a readable OCR Giro file: All lines must be exactly 80"),
        (lambda d: b"\n".join(d.split(b"\n")[:-1]), "not in the order of a transmission"),
        (
            lambda d: b"\n".join(d.split(b"\n")[:2] + d.split(b"\n")[4:]),
            "says 2 transactions but holds 1",
        ),
        (
            lambda d: d.replace(b"00000000000000500", b"00000000000000501", 1),
            "incomplete or altered",
        ),
        (lambda d: d[:-2] + b"x0", "not a readable OCR Giro file"),
    ],
)
def test_a_broken_file_is_refused(mangle, message: str) -> None:  # type: ignore[no-untyped-def]
    data = ocr_file([("17", 500), ("18", 600)])
    with pytest.raises(OcrFileError, match=message):
        read_ocr(mangle(data))


def test_an_avtalegiro_file_is_not_an_ocr_giro_payments_file() -> None:
    tx = netsgiro.Transmission(
        number="1703231", data_transmitter="01234567", data_recipient=netsgiro.NETS_ID
    )
    a = tx.add_assignment(
        service_code=netsgiro.ServiceCode.AVTALEGIRO,
        assignment_type=netsgiro.AssignmentType.TRANSACTIONS,
        number="0323001",
        account="99998877777",
    )
    a.add_payment_request(
        kid="000133700501645", due_date=date(2026, 12, 6), amount=Decimal("52.44")
    )
    with pytest.raises(OcrFileError, match="not OCR Giro transactions"):
        read_ocr(tx.to_ocr().encode("iso-8859-1"))
