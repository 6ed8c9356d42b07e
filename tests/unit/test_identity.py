"""Identifiers and phone numbers: normalisation and validation (DOMAIN.md "Identity")."""

from __future__ import annotations

import pytest

from letsema_core.errors import ValidationError
from letsema_core.identity import (
    Identifier,
    IdentifierType,
    NationalId,
    PhoneNumber,
    luhn_is_valid,
    primary_identifier,
)
from tests.contracts import trap_float_operations  # noqa: F401  (autouse: floats trapped)

pytestmark = pytest.mark.unit


def rule_of(excinfo: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str]:
    return excinfo.value.field, excinfo.value.rule


class TestLesothoNationalId:
    @pytest.mark.parametrize("raw", ["012345678901", " 0123 4567 8901 ", "0123-4567-8901", "012345-678901"])
    def test_is_normalised_to_its_twelve_digits(self, raw: str) -> None:
        assert NationalId.parse(raw) == Identifier(type=IdentifierType.LESOTHO_NATIONAL_ID, value="012345678901")

    @pytest.mark.parametrize(("raw", "rule"), [("01234567890", "length"), ("0123456789012", "length")])
    def test_other_lengths_are_refused(self, raw: str, rule: str) -> None:
        with pytest.raises(ValidationError) as excinfo:
            NationalId.parse(raw)
        assert rule_of(excinfo) == ("national_id", rule)
        assert excinfo.value.details["expected"] == 12

    @pytest.mark.parametrize("raw", ["01234567890A", "0123.4567.890", "０１２３４５６７８９０１"])
    def test_non_ascii_digits_are_refused(self, raw: str) -> None:
        with pytest.raises(ValidationError) as excinfo:
            NationalId.parse(raw)
        assert rule_of(excinfo) == ("national_id", "format")

    @pytest.mark.parametrize("raw", ["", "  ", "--"])
    def test_empty_value_is_required(self, raw: str) -> None:
        with pytest.raises(ValidationError) as excinfo:
            NationalId.parse(raw)
        assert rule_of(excinfo) == ("national_id", "required")

    def test_non_text_is_refused(self) -> None:
        with pytest.raises(ValidationError) as excinfo:
            NationalId.parse(12345678901)  # type: ignore[arg-type]
        assert rule_of(excinfo) == ("national_id", "type")

    def test_lookup_input_is_prefixed_by_country_and_type(self) -> None:
        assert NationalId.parse("0123 4567 8901").lookup_input == "LS:NID:012345678901"

    def test_masked_value_shows_only_the_last_four_digits(self) -> None:
        assert NationalId.parse("012345678901").masked == "********8901"


class TestSouthAfricanId:
    def test_valid_luhn_number_is_accepted(self) -> None:
        identifier = Identifier.parse(type="south_african_id", value="800101 5009 087")
        assert identifier == Identifier(type=IdentifierType.SOUTH_AFRICAN_ID, value="8001015009087")
        assert identifier.lookup_input == "ZA:NID:8001015009087"

    def test_wrong_check_digit_is_refused(self) -> None:
        with pytest.raises(ValidationError) as excinfo:
            Identifier.parse(type="south_african_id", value="8001015009086")
        assert rule_of(excinfo) == ("identifier", "luhn")

    def test_twelve_digits_are_refused(self) -> None:
        with pytest.raises(ValidationError) as excinfo:
            Identifier.parse(type="south_african_id", value="800101500908")
        assert rule_of(excinfo) == ("identifier", "length")

    @pytest.mark.parametrize(
        ("digits", "valid"),
        [("8001015009087", True), ("7106245929185", True), ("8001015009086", False), ("79927398713", True)],
    )
    def test_luhn_check_matches_known_numbers(self, digits: str, valid: bool) -> None:
        assert luhn_is_valid(digits) is valid

    @pytest.mark.parametrize("text", ["", "12a4"])
    def test_luhn_check_refuses_non_digits(self, text: str) -> None:
        assert luhn_is_valid(text) is False


class TestPassport:
    @pytest.mark.parametrize(
        ("raw", "value"), [("ra 123 4567", "RA1234567"), ("A12345", "A12345"), ("123456789", "123456789")]
    )
    def test_is_upper_cased_without_separators(self, raw: str, value: str) -> None:
        identifier = Identifier.parse(type=IdentifierType.PASSPORT, value=raw)
        assert identifier.value == value
        assert identifier.lookup_input == f"PASSPORT:{value}"

    @pytest.mark.parametrize("raw", ["A1234", "RA12345678", "RA#12345", "RÅ123456"])
    def test_outside_six_to_nine_letters_or_digits_is_refused(self, raw: str) -> None:
        with pytest.raises(ValidationError) as excinfo:
            Identifier.parse(type="passport", value=raw, field="identifiers[1]")
        assert rule_of(excinfo) == ("identifiers[1]", "format")


class TestIdentifierType:
    def test_unknown_type_is_refused_with_the_allowed_ones(self) -> None:
        with pytest.raises(ValidationError) as excinfo:
            Identifier.parse(type="drivers_licence", value="123456")
        assert rule_of(excinfo) == ("identifier.type", "type")
        assert excinfo.value.details["allowed"] == ["lesotho_national_id", "south_african_id", "passport"]


class TestPrimaryIdentifier:
    def test_lesotho_id_is_preferred_over_others(self) -> None:
        passport = Identifier.parse(type="passport", value="RA1234567")
        sa_id = Identifier.parse(type="south_african_id", value="8001015009087")
        ls_id = NationalId.parse("012345678901")
        assert primary_identifier([passport, sa_id, ls_id]) == ls_id
        assert primary_identifier((passport, sa_id)) == sa_id
        assert primary_identifier([passport]) == passport

    def test_no_identifier_is_refused(self) -> None:
        with pytest.raises(ValidationError) as excinfo:
            primary_identifier([])
        assert rule_of(excinfo) == ("identifiers", "required")


class TestPhoneNumber:
    @pytest.mark.parametrize(
        "raw",
        [
            "58123456",
            "5812 3456",
            "+266 5812 3456",
            "266 58 123 456",
            "26658123456",
            "00266-5812-3456",
            "(+266) 5812.3456",
        ],
    )
    def test_lesotho_spellings_become_e164(self, raw: str) -> None:
        phone = PhoneNumber.parse(raw)
        assert phone.e164 == "+26658123456"
        assert str(phone) == "+26658123456"
        assert phone.is_lesotho

    @pytest.mark.parametrize("raw", ["5812345", "581234567", "+266 5812 34567", "+2665812345"])
    def test_lesotho_number_needs_eight_digits(self, raw: str) -> None:
        with pytest.raises(ValidationError) as excinfo:
            PhoneNumber.parse(raw)
        assert rule_of(excinfo) == ("phone", "length")

    def test_lesotho_number_cannot_start_with_zero(self) -> None:
        with pytest.raises(ValidationError) as excinfo:
            PhoneNumber.parse("08123456")
        assert rule_of(excinfo) == ("phone", "format")

    @pytest.mark.parametrize(("raw", "e164"), [("+27 82 123 4567", "+27821234567"), ("0027821234567", "+27821234567")])
    def test_fully_formed_foreign_numbers_are_kept(self, raw: str, e164: str) -> None:
        phone = PhoneNumber.parse(raw)
        assert phone.e164 == e164
        assert not phone.is_lesotho

    @pytest.mark.parametrize("raw", ["+27 82", "+1234567890123456", "+0821234567"])
    def test_malformed_foreign_numbers_are_refused(self, raw: str) -> None:
        with pytest.raises(ValidationError) as excinfo:
            PhoneNumber.parse(raw, field="contact.phone")
        assert rule_of(excinfo) == ("contact.phone", "format")

    @pytest.mark.parametrize("raw", ["+266 5812 345x", "phone", "+"])
    def test_letters_are_refused(self, raw: str) -> None:
        with pytest.raises(ValidationError) as excinfo:
            PhoneNumber.parse(raw)
        assert rule_of(excinfo) == ("phone", "format")

    def test_bare_local_number_of_another_length_is_read_as_lesotho_and_refused(self) -> None:
        with pytest.raises(ValidationError) as excinfo:
            PhoneNumber.parse("0821234567")
        assert rule_of(excinfo) == ("phone", "length")

    @pytest.mark.parametrize(("raw", "rule"), [("", "required"), (" - ", "required"), (None, "type")])
    def test_missing_number_is_refused(self, raw: str, rule: str) -> None:
        with pytest.raises(ValidationError) as excinfo:
            PhoneNumber.parse(raw)
        assert rule_of(excinfo) == ("phone", rule)
