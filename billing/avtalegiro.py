"""AvtaleGiro files, written and read through ``netsgiro`` (pure: values in, text out).

AvtaleGiro is Norwegian direct debit: a payer registers a mandate in their bank with a KID
of the payee's, and the payee sends Nets a **claim file** (payment requests) before each due
date; the bank debits the payer on the due date and the money comes back in the payee's OCR
Giro file with the claim's KID, like any giro payment (billing/ocr_giro.py reads it).

- ``claim_file`` writes one transmission with one AvtaleGiro transactions assignment for the
  site's agreement: one payment request per invoice, carrying the invoice's own KID (Nets
  finds the mandate by the KID's fixed part, the subscriber number, billing/kid.py), its due
  date and the amount due. A payer who asked to be notified by the bank gets transaction
  type 21 (with bank notification) and the notice text; otherwise type 02 (the payee
  notifies: evgate's invoice mail).
- ``read_mandates`` reads Nets' mandate file (an AvtaleGiro agreements assignment): per KID,
  a mandate new or changed (with its notification choice) or deleted.

Nothing here formats or parses a record by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import netsgiro
import netsgiro.records
from stdnum.no import kontonr

from billing.errors import BillingError
from billing.money import format_amount
from billing.ocr_giro import sha256_of

NOTICE_LINE = 80  # netsgiro splits a bank notice into lines of 80 characters
_PARSE_ERRORS = (ValueError, KeyError, AssertionError, TypeError, IndexError, AttributeError)


class AvtaleGiroError(BillingError):
    """An agreement, claim or mandate file evgate cannot use as it stands."""


@dataclass(frozen=True)
class Agreement:
    """A site's AvtaleGiro agreement with Nets."""

    customer_unit: str  # 8 digits: the data transmitter
    account: str  # 11 digits: the account the claims pay into
    agreement_id: str | None = None  # 9 digits, as Nets gave it


@dataclass(frozen=True)
class Claim:
    invoice_number: str
    kid: str
    due_on: date
    amount: int  # øre, positive
    payer_name: str
    bank_notice: bool  # the payer's bank notifies them (type 21) or not (type 02)


@dataclass(frozen=True)
class MandateChange:
    number: int  # within its assignment
    kid: str
    active: bool  # False: the payer deleted the mandate
    notify: bool


@dataclass(frozen=True)
class MandateFile:
    sha256: str
    transmission_number: str
    changes: tuple[MandateChange, ...]


def check_agreement(customer_unit: str, account: str, agreement_id: str | None) -> Agreement:
    """The agreement's numbers, checked (one sentence when one is wrong)."""
    if not (customer_unit.isdigit() and len(customer_unit) == 8):
        raise AvtaleGiroError(f"customer unit {customer_unit!r} must be Nets' 8-digit id")
    if agreement_id is not None and not (agreement_id.isdigit() and len(agreement_id) == 9):
        raise AvtaleGiroError(f"agreement id {agreement_id!r} must be Nets' 9-digit id")
    compact = kontonr.compact(account)
    if not kontonr.is_valid(compact):
        raise AvtaleGiroError(f"account {account!r} is not a valid Norwegian account number")
    return Agreement(customer_unit, compact, agreement_id)


def notice_text(claim: Claim) -> str:
    """What the payer's bank tells them of the claim (when they asked to be notified)."""
    amount = format_amount(claim.amount, "NOK")
    return (f"Faktura {claim.invoice_number}: {amount} NOK trekkes {claim.due_on.isoformat()}")[
        :NOTICE_LINE
    ]


def claim_file(agreement: Agreement, number: int, claims: list[Claim]) -> str:
    """The claim file (ISO-8859-1 text: encode before sending) of transmission ``number``,
    which is also its assignment's number (unique per customer unit)."""
    if not claims:
        raise AvtaleGiroError("no invoices to claim")
    if not 0 < number < 10**7:
        raise AvtaleGiroError(f"transmission number {number} does not fit 7 digits")
    transmission = netsgiro.Transmission(
        number=f"{number:07d}",
        data_transmitter=agreement.customer_unit,
        data_recipient=netsgiro.NETS_ID,
    )
    assignment = transmission.add_assignment(
        service_code=netsgiro.ServiceCode.AVTALEGIRO,
        assignment_type=netsgiro.AssignmentType.TRANSACTIONS,
        agreement_id=agreement.agreement_id,
        number=f"{number:07d}",
        account=agreement.account,
    )
    for claim in claims:
        if claim.amount <= 0:
            raise AvtaleGiroError(f"invoice {claim.invoice_number} has nothing to claim")
        notice: bool | str = notice_text(claim) if claim.bank_notice else False
        assignment.add_payment_request(
            kid=claim.kid,
            due_date=claim.due_on,
            amount=Decimal(claim.amount).scaleb(-2),
            reference=claim.invoice_number[:25],
            payer_name=claim.payer_name[:10] or None,
            bank_notification=notice,
        )
    return str(transmission.to_ocr()) + "\n"


def read_mandates(data: bytes) -> MandateFile:
    """Nets' AvtaleGiro mandate file (ISO-8859-1 bytes): every mandate change it holds."""
    if not data.strip():
        raise AvtaleGiroError("the mandate file is empty: give the file Nets delivered")
    try:
        transmission: Any = netsgiro.parse(data.decode("iso-8859-1"))
    except _PARSE_ERRORS as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise AvtaleGiroError(f"not a readable AvtaleGiro file: {first or 'bad records'}") from None
    changes: list[MandateChange] = []
    for assignment in transmission.assignments:
        if assignment.type != netsgiro.AssignmentType.AVTALEGIRO_AGREEMENTS:
            raise AvtaleGiroError(
                f"assignment {assignment.number} is {assignment.type.name}, not AvtaleGiro "
                "agreements: import payments with import-ocr"
            )
        for agreement in assignment.transactions:
            kid = (agreement.kid or "").strip()
            if not kid:
                raise AvtaleGiroError(f"mandate {agreement.number} carries no KID")
            deleted = (
                agreement.registration_type == netsgiro.AvtaleGiroRegistrationType.DELETED_AGREEMENT
            )
            changes.append(
                MandateChange(int(agreement.number), kid, not deleted, bool(agreement.notify))
            )
    return MandateFile(sha256_of(data), transmission.number, tuple(changes))
