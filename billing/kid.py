"""KID: the Norwegian customer identification number a payer types into a bank giro payment.

Layout (16 digits, always)::

    SSSSSSS NNNNNNN V C
    |       |       | +- check digit over the 15 digits before it (MOD10 or MOD11)
    |       |       +--- variant digit: 0, or the first one that makes the MOD11 digit exist
    |       +----------- invoice number within its series, zero-padded to 7 digits
    +------------------- subscriber number (its id), zero-padded to 7 digits

MOD10 is Luhn (``stdnum.luhn``). MOD11 weighs the digits 2, 3, 4, 5, 6, 7, 2, ... from the
right; the check digit is 11 minus the remainder of the weighted sum by 11, and 0 when the
remainder is 0. A remainder of 1 would ask for "-", which a KID (digits only) cannot carry:
then the variant digit is taken up by one. The variant digit has weight 2, so each step moves
the remainder by 2 (mod 11) and at most one variant fails: the variant is always 0 or 1.
In MOD10 mode the variant is always 0. Pure: no I/O.
"""

from __future__ import annotations

from typing import Literal

from stdnum import luhn

from billing.errors import BillingError

KidMode = Literal["mod10", "mod11"]
KID_MODES: tuple[KidMode, ...] = ("mod10", "mod11")
FIELD_WIDTH = 7
KID_LENGTH = 2 * FIELD_WIDTH + 2
_WEIGHTS = (2, 3, 4, 5, 6, 7)


class KidError(BillingError):
    """A KID cannot be built (a field too wide, an unknown mode)."""


def mod11_check_digit(body: str) -> str | None:
    """The MOD11 check digit of ``body`` (digits), or None when it would be "-"."""
    total = sum(int(d) * _WEIGHTS[i % 6] for i, d in enumerate(reversed(body)))
    remainder = total % 11
    if remainder == 1:
        return None
    return "0" if remainder == 0 else str(11 - remainder)


def mod10_check_digit(body: str) -> str:
    return str(luhn.calc_check_digit(body))


def _field(name: str, value: int) -> str:
    if value < 0 or value >= 10**FIELD_WIDTH:
        raise KidError(f"{name} {value} does not fit the KID's {FIELD_WIDTH} digits")
    return f"{value:0{FIELD_WIDTH}d}"


def build_kid(subscriber_number: int, invoice_number: int, mode: str) -> str:
    """The KID of an invoice (see the module docstring for the layout and the "-" rule)."""
    check_kid_mode(mode)
    head = _field("subscriber number", subscriber_number) + _field("invoice number", invoice_number)
    if mode == "mod10":
        body = head + "0"
        return body + mod10_check_digit(body)
    for variant in range(10):
        body = head + str(variant)
        check = mod11_check_digit(body)
        if check is not None:
            return body + check
    raise AssertionError("unreachable: at most one variant digit gives '-'")  # pragma: no cover


def validate_kid(text: str, mode: str) -> bool:
    """Whether ``text`` is a KID of ``mode``: 2 to 25 digits whose last is the check digit.

    Any length a bank accepts is checked, not only the 16 digits ``build_kid`` writes, so a
    KID typed by a payer (or from another biller) is judged by its check digit alone.
    """
    check_kid_mode(mode)
    if not (2 <= len(text) <= 25) or not text.isascii() or not text.isdigit():
        return False
    body, check = text[:-1], text[-1]
    if mode == "mod10":
        return mod10_check_digit(body) == check
    return mod11_check_digit(body) == check


def check_kid_mode(mode: str) -> None:
    """Refuse a mode that is not one of KID_MODES (before anything is written)."""
    if mode not in KID_MODES:
        raise KidError(f"unknown KID mode {mode!r} (use {' or '.join(KID_MODES)})")
