"""A Nets OCR Giro file read into plain transactions (pure: bytes in, values out).

The file format is netsgiro's (``netsgiro.records.parse`` reads each 80-character record,
``netsgiro.Transmission.from_records`` builds the transmission, its assignments and their
transactions); nothing here parses a record by hand. What this module adds is what an
import must be able to trust before it records anything:

- the file is OCR Giro payments (every assignment is service 09, type 00 "transactions");
  an AvtaleGiro agreement or payment-request file is refused;
- the counts and totals the file states in its assignment and transmission end records
  equal what its transactions add up to (a truncated or edited file is refused);
- each amount is exact in øre (integers, never a float).

A file is refused whole with ``OcrFileError`` (one sentence); the import records nothing.
A transaction's identity (data transmitter, transmission, assignment and transaction
numbers) is what makes an import idempotent (store/payments_schema.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import netsgiro
import netsgiro.records

from billing.errors import BillingError

CURRENCY = "NOK"  # OCR Giro is Norwegian bank giro: amounts are NOK, in øre
# card-terminal reversals take money back: never applied as a payment
_REVERSALS = frozenset(
    {netsgiro.TransactionType.REVERSING_WITH_KID, netsgiro.TransactionType.REVERSING_WITH_TEXT}
)
_PARSE_ERRORS = (ValueError, KeyError, AssertionError, TypeError, IndexError, AttributeError)


class OcrFileError(BillingError):
    """The file is not a readable, consistent OCR Giro payments file."""


@dataclass(frozen=True)
class GiroTransaction:
    """One payment of the file, as the bank reported it."""

    data_transmitter: str
    transmission_number: str
    assignment_number: str
    agreement_id: str | None
    account: str  # the payee's account (the assignment's)
    number: int  # unique and in order within its assignment
    type: int  # netsgiro.TransactionType
    kid: str | None
    amount: int  # øre, positive
    paid_on: date  # Nets' processing date
    reference: str | None
    debit_account: str | None  # the payer's account, where a refund would go
    reversal: bool

    @property
    def identity(self) -> tuple[str, str, str, int]:
        return (
            self.data_transmitter,
            self.transmission_number,
            self.assignment_number,
            self.number,
        )

    @property
    def identity_text(self) -> str:
        return "/".join(str(part) for part in self.identity)


@dataclass(frozen=True)
class GiroFile:
    sha256: str
    data_transmitter: str
    transmission_number: str
    data_recipient: str
    nets_date: date | None
    transactions: tuple[GiroTransaction, ...]

    @property
    def total(self) -> int:
        return sum(t.amount for t in self.transactions)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_ocr(data: bytes) -> GiroFile:
    """The OCR Giro file ``data`` (ISO-8859-1 bytes, as Nets delivers it), checked whole."""
    if not data.strip():
        raise OcrFileError("the OCR file is empty: give the file Nets delivered")
    text = data.decode("iso-8859-1")  # every byte is a character: never fails
    try:
        records: list[Any] = netsgiro.records.parse(text)
        transmission = netsgiro.Transmission.from_records(records)
    except _PARSE_ERRORS as exc:
        raise OcrFileError(f"not a readable OCR Giro file: {_first_line(exc)}") from None
    _check_totals(records, transmission)
    transactions: list[GiroTransaction] = []
    for assignment in transmission.assignments:
        if (
            assignment.service_code != netsgiro.ServiceCode.OCR_GIRO
            or assignment.type != netsgiro.AssignmentType.TRANSACTIONS
        ):
            raise OcrFileError(
                f"assignment {assignment.number} is {assignment.service_code.name} "
                f"{assignment.type.name}, not OCR Giro transactions: import only OCR Giro "
                "payment files"
            )
        for tx in assignment.transactions:
            transactions.append(_transaction(transmission, assignment, tx))
    return GiroFile(
        sha256=sha256_of(data),
        data_transmitter=transmission.data_transmitter,
        transmission_number=transmission.number,
        data_recipient=transmission.data_recipient,
        nets_date=transmission.date,
        transactions=tuple(transactions),
    )


def _transaction(transmission: Any, assignment: Any, tx: Any) -> GiroTransaction:
    amount = _ore(tx.amount, f"transaction {tx.number} of assignment {assignment.number}")
    kid = (tx.kid or "").strip() or None
    return GiroTransaction(
        data_transmitter=transmission.data_transmitter,
        transmission_number=transmission.number,
        assignment_number=assignment.number,
        agreement_id=assignment.agreement_id,
        account=assignment.account,
        number=int(tx.number),
        type=int(tx.type),
        kid=kid,
        amount=amount,
        paid_on=tx.date,
        reference=tx.reference,
        debit_account=tx.debit_account,
        reversal=tx.type in _REVERSALS or tx.sign == "-",
    )


def _ore(amount: Decimal, where: str) -> int:
    cents = Decimal(amount).scaleb(2)
    if cents != cents.to_integral_value() or cents <= 0:
        raise OcrFileError(f"{where} has the amount {amount}, which is not a positive sum in øre")
    return int(cents)


def _check_totals(records: list[Any], transmission: Any) -> None:
    """The end records' counts and totals against the transactions read."""
    ends = [r for r in records if isinstance(r, netsgiro.records.AssignmentEnd)]
    for end, assignment in zip(ends, transmission.assignments, strict=False):
        if end.num_transactions != len(assignment.transactions):
            raise OcrFileError(
                f"assignment {assignment.number} says {end.num_transactions} transactions "
                f"but holds {len(assignment.transactions)}: the file is incomplete"
            )
        stated = end.total_amount or 0
        read = sum(
            _ore(t.amount, f"assignment {assignment.number}") for t in assignment.transactions
        )
        if stated != read:
            raise OcrFileError(
                f"assignment {assignment.number} says a total of {stated} øre but its "
                f"transactions add up to {read}: the file is incomplete or altered"
            )
    last = records[-1]
    count = sum(len(a.transactions) for a in transmission.assignments)
    total = sum(
        _ore(t.amount, "the transmission") for a in transmission.assignments for t in a.transactions
    )
    if last.num_transactions != count or last.total_amount != total:
        raise OcrFileError(
            f"the transmission says {last.num_transactions} transactions of {last.total_amount} "
            f"øre but holds {count} of {total}: the file is incomplete or altered"
        )
    if last.num_records != len(records):
        raise OcrFileError(
            f"the transmission says {last.num_records} records but holds {len(records)}: "
            "the file is incomplete"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    if isinstance(exc, AssertionError) or not text or not text[0]:
        return "its records are not in the order of a transmission (start, assignments, end)"
    return text[0][:200]
