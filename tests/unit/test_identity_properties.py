"""Hypothesis properties of identifier and phone normalisation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letsema_core.errors import ValidationError
from letsema_core.identity import Identifier, NationalId, PhoneNumber, luhn_is_valid
from tests.contracts import trap_float_operations  # noqa: F401  (autouse: floats trapped)

pytestmark = pytest.mark.unit

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


def luhn_check_digit(payload: str) -> str:
    for candidate in "0123456789":
        if luhn_is_valid(payload + candidate):
            return candidate
    raise AssertionError("a Luhn check digit always exists")


def spaced(value: str, cuts: list[int], separators: list[str]) -> str:
    """``value`` with separators inserted at the given positions."""
    out = value
    for cut, sep in sorted(zip(cuts, separators, strict=False), reverse=True):
        out = out[:cut] + sep + out[cut:]
    return out


class TestSouthAfricanIdProperties:
    @settings(max_examples=200)
    @given(payload=st.text(alphabet="0123456789", min_size=12, max_size=12), wrong=digits)
    def test_exactly_one_check_digit_is_accepted(self, payload: str, wrong: str) -> None:
        check = luhn_check_digit(payload)
        assert Identifier.parse(type="south_african_id", value=payload + check).value == payload + check
        if wrong != check:
            with pytest.raises(ValidationError) as excinfo:
                Identifier.parse(type="south_african_id", value=payload + wrong)
            assert excinfo.value.rule == "luhn"


class TestNationalIdProperties:
    @settings(max_examples=200)
    @given(
        value=st.text(alphabet="0123456789", min_size=12, max_size=12),
        cuts=st.lists(st.integers(min_value=0, max_value=12), max_size=4),
        separators=st.lists(st.sampled_from([" ", "-", "  ", " - "]), min_size=4, max_size=4),
    )
    def test_spacing_never_changes_the_id(self, value: str, cuts: list[int], separators: list[str]) -> None:
        assert NationalId.parse(spaced(value, cuts, separators)) == NationalId.parse(value)


class TestPhoneProperties:
    @settings(max_examples=200)
    @given(
        subscriber=st.text(alphabet="0123456789", min_size=7, max_size=7).map(lambda s: "5" + s),
        prefix=st.sampled_from(["", "266", "+266", "00266", "+266 ", "(+266) "]),
        cuts=st.lists(st.integers(min_value=0, max_value=8), max_size=3),
        separators=st.lists(st.sampled_from([" ", "-", "."]), min_size=3, max_size=3),
    )
    def test_every_spelling_gives_the_same_e164(
        self, subscriber: str, prefix: str, cuts: list[int], separators: list[str]
    ) -> None:
        phone = PhoneNumber.parse(prefix + spaced(subscriber, cuts, separators))
        assert phone.e164 == "+266" + subscriber
        assert PhoneNumber.parse(phone.e164) == phone
