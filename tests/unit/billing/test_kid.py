"""billing.kid: the KID layout, both check-digit modes, the "-" rule and validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.no import kontonr

from billing.kid import (
    KID_LENGTH,
    KidError,
    build_kid,
    mod10_check_digit,
    mod11_check_digit,
    validate_kid,
)


def test_mod11_matches_published_example() -> None:
    # Erhvervsstyrelsen, "Modulus 11 kontrol" (CVR 13748136): the same MOD11 as the KID's,
    # weights 2..7 from the right; 1374813 has weighted sum 126, remainder 5, check digit 6.
    assert mod11_check_digit("1374813") == "6"
    assert validate_kid("13748136", "mod11")
    assert not validate_kid("13748137", "mod11")


def test_mod10_matches_published_example() -> None:
    # The Luhn algorithm's textbook example (Wikipedia, "Luhn algorithm"): 7992739871 -> 3.
    assert mod10_check_digit("7992739871") == "3"
    assert validate_kid("79927398713", "mod10")
    assert not validate_kid("79927398710", "mod10")


def test_mod11_remainder_zero_gives_zero_and_one_gives_none() -> None:
    # "0" weighs nothing: remainder 0; "6" * 2 = 12: remainder 1 ("-")
    assert mod11_check_digit("0") == "0"
    assert mod11_check_digit("6") is None


_ten_digits = st.text(alphabet="0123456789", min_size=10, max_size=10)


@given(_ten_digits)
def test_mod11_agrees_with_stdnum_kontonr(body: str) -> None:
    """kontonr's MOD11 (an account number's 11th digit) is the same checksum: its "10" is '-'."""
    theirs = kontonr._calc_check_digit(body)
    ours = mod11_check_digit(body)
    assert ours == (None if theirs == "10" else theirs)


@given(st.text(alphabet="0123456789", min_size=1, max_size=9))
def test_mod11_leading_zeros_change_nothing(body: str) -> None:
    assert mod11_check_digit(body) == mod11_check_digit(body.rjust(10, "0"))


@given(st.integers(0, 9_999_999), st.integers(0, 9_999_999), st.sampled_from(["mod10", "mod11"]))
def test_built_kid_has_the_layout_and_validates(sub: int, number: int, mode: str) -> None:
    kid = build_kid(sub, number, mode)
    assert len(kid) == KID_LENGTH and kid.isdigit()
    assert kid[:7] == f"{sub:07d}" and kid[7:14] == f"{number:07d}"
    assert validate_kid(kid, mode)
    if mode == "mod10":
        assert kid[14] == "0" and luhn.is_valid(kid)
    else:
        assert kid[14] in "01"


def test_mod11_takes_the_next_variant_when_the_digit_would_be_dash() -> None:
    # find a subscriber/invoice pair whose variant-0 body gives "-": its KID uses variant 1
    pairs = ((s, n) for s in range(1, 50) for n in range(1, 50))
    sub, number = next((s, n) for s, n in pairs if mod11_check_digit(f"{s:07d}{n:07d}0") is None)
    kid = build_kid(sub, number, "mod11")
    assert kid[14] == "1"
    assert kid[15] == mod11_check_digit(kid[:15])
    assert validate_kid(kid, "mod11")


def test_a_field_too_wide_or_a_bad_mode_is_refused() -> None:
    with pytest.raises(KidError, match="7 digits"):
        build_kid(10_000_000, 1, "mod10")
    with pytest.raises(KidError, match="unknown KID mode"):
        build_kid(1, 1, "mod12")


@pytest.mark.parametrize("text", ["", "1", "12a4", "１２３４", "1" * 26, "0000-1"])
def test_validate_refuses_what_is_not_a_kid(text: str) -> None:
    assert not validate_kid(text, "mod10")
    assert not validate_kid(text, "mod11")


def test_validate_catches_a_changed_digit() -> None:
    kid = build_kid(42, 7, "mod11")
    wrong = kid[:3] + str((int(kid[3]) + 1) % 10) + kid[4:]
    assert validate_kid(kid, "mod11") and not validate_kid(wrong, "mod11")
