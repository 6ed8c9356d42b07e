"""Borrower registration rules, duplicate checks and consents (DOMAIN.md "Identity", "Credit registry")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from letsema_core.borrowers import (
    REPORT_PURPOSES,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    ConsentRequired,
    District,
    DuplicateIdentifier,
    Gender,
    check_duplicates,
    normalise_name,
    require_active_consent,
)
from letsema_core.errors import ValidationError
from letsema_core.identity import Identifier, NationalId, PhoneNumber
from tests.contracts import trap_float_operations  # noqa: F401  (autouse: floats trapped)
from tests.contracts.borrower_repository import make_borrower

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class TestNewBorrower:
    def test_normalises_every_field(self) -> None:
        borrower = make_borrower(
            first_name="  Palesa  Lerato ",
            phone="5812 3456",
            monthly_income=Decimal("4500.5"),
            identifiers=[{"type": "lesotho_national_id", "value": "0123-4567-8901"}],
            district=District.LERIBE,
            gender="female",
        )
        assert borrower.first_name == "Palesa Lerato"
        assert borrower.phone == PhoneNumber("+26658123456")
        assert borrower.monthly_income == Decimal("4500.50")
        assert borrower.identifiers == (NationalId.parse("012345678901"),)
        assert (borrower.district, borrower.gender) == (District.LERIBE, Gender.FEMALE)
        assert (borrower.created_by, borrower.created_on) == ("officer-1", date(2026, 1, 5))
        assert borrower.primary_identifier == NationalId.parse("012345678901")
        assert borrower.normalised_name == "palesa lerato mokoena"

    def test_lesotho_has_ten_districts(self) -> None:
        assert len(District) == 10
        assert District("qachas_nek") is District.QACHAS_NEK

    @pytest.mark.parametrize(
        ("overrides", "field", "rule"),
        [
            ({"first_name": " "}, "first_name", "required"),
            ({"last_name": "x" * 101}, "last_name", "max_length"),
            ({"date_of_birth": date(2026, 1, 5)}, "date_of_birth", "past"),
            ({"district": "gauteng"}, "district", "choice"),
            ({"gender": "unknown"}, "gender", "choice"),
            ({"monthly_income": "-0.01"}, "monthly_income", "min_value"),
            ({"monthly_income": "100.001"}, "monthly_income", "decimal_places"),
            ({"monthly_income": 4500.0}, "monthly_income", "decimal"),
            ({"identifiers": []}, "identifiers", "required"),
            ({"identifiers": [{"type": "passport", "value": "x"}]}, "identifiers[0]", "format"),
            ({"created_by": ""}, "created_by", "required"),
            ({"phone": "123"}, "phone", "length"),
        ],
    )
    def test_invalid_input_names_the_field_and_rule(self, overrides: dict[str, Any], field: str, rule: str) -> None:
        with pytest.raises(ValidationError) as excinfo:
            make_borrower(**overrides)
        assert (excinfo.value.field, excinfo.value.rule) == (field, rule)

    def test_same_identifier_twice_is_refused(self) -> None:
        with pytest.raises(ValidationError) as excinfo:
            make_borrower(
                identifiers=[
                    NationalId.parse("012345678901"),
                    {"type": "lesotho_national_id", "value": "0123 4567 8901"},
                ]
            )
        assert (excinfo.value.field, excinfo.value.rule) == ("identifiers[1]", "duplicate")


class TestNormaliseName:
    def test_removes_accents_case_and_punctuation(self) -> None:
        assert normalise_name("Tšepo", "Mokoena-Ntlo") == "tsepo mokoena ntlo"
        assert normalise_name("  'MAMPHO ", "O'Neil") == "mampho oneil"


class TestCheckDuplicates:
    def test_another_holder_of_the_identifier_is_a_conflict(self) -> None:
        existing = make_borrower("B-1")
        candidate = make_borrower("B-2", first_name="Thabo")
        with pytest.raises(DuplicateIdentifier) as excinfo:
            check_duplicates(
                candidate=candidate, holders_of_identifiers=[existing], same_name_and_birth_date=[], on=date(2026, 2, 1)
            )
        assert excinfo.value.http_status == 409
        assert excinfo.value.details["existing_borrower_id"] == "B-1"
        assert excinfo.value.details["identifier_type"] == "lesotho_national_id"

    def test_same_person_under_another_id_is_flagged_not_blocked(self) -> None:
        existing = make_borrower("B-1", first_name="PALESA")
        candidate = make_borrower("B-2", first_name="Palesa ", identifiers=[NationalId.parse("999999999999")])
        suspicions = check_duplicates(
            candidate=candidate,
            holders_of_identifiers=[],
            same_name_and_birth_date=[existing],
            on=date(2026, 2, 1),
        )
        assert [(s.borrower_id, s.matching_borrower_id, s.reason, s.detected_on) for s in suspicions] == [
            ("B-2", "B-1", "same_name_and_date_of_birth", date(2026, 2, 1))
        ]

    @pytest.mark.parametrize("overrides", [{"first_name": "Lerato"}, {"date_of_birth": date(1990, 5, 18)}])
    def test_a_different_name_or_birth_date_is_not_flagged(self, overrides: dict[str, Any]) -> None:
        other = make_borrower("B-1", identifiers=[NationalId.parse("999999999999")], **overrides)
        candidate = make_borrower("B-2")
        assert (
            check_duplicates(
                candidate=candidate, holders_of_identifiers=[], same_name_and_birth_date=[other], on=date(2026, 2, 1)
            )
            == ()
        )

    def test_the_candidate_itself_is_neither_conflict_nor_suspicion(self) -> None:
        candidate = make_borrower("B-1")
        assert (
            check_duplicates(
                candidate=candidate,
                holders_of_identifiers=[candidate],
                same_name_and_birth_date=[candidate],
                on=date(2026, 2, 1),
            )
            == ()
        )

    def test_holder_without_a_shared_identifier_is_no_conflict(self) -> None:
        other = make_borrower("B-1", identifiers=[Identifier.parse(type="passport", value="RA1234567")])
        candidate = make_borrower("B-2", first_name="Thabo")
        assert (
            check_duplicates(
                candidate=candidate, holders_of_identifiers=[other], same_name_and_birth_date=[], on=date(2026, 2, 1)
            )
            == ()
        )


def consent(**overrides: Any) -> Consent:
    fields: dict[str, Any] = {
        "consent_id": "C-1",
        "borrower_id": "B-1",
        "purpose": "credit_sharing",
        "method": "verbal_recorded",
        "granted_at": T0,
        "recorded_by": "officer-1",
        "reference": " REC-2026-001 ",
        "expires_at": T0 + timedelta(days=365),
    }
    fields.update(overrides)
    return Consent.grant(**fields)


class TestConsent:
    def test_grant_keeps_what_the_officer_recorded(self) -> None:
        recorded = consent()
        assert recorded.purpose is ConsentPurpose.CREDIT_SHARING
        assert recorded.method is ConsentMethod.VERBAL_RECORDED
        assert recorded.reference == "REC-2026-001"
        assert recorded.revoked_at is None

    def test_is_active_from_grant_until_expiry(self) -> None:
        recorded = consent()
        assert not recorded.is_active(T0 - timedelta(seconds=1))
        assert recorded.is_active(T0)
        assert recorded.is_active(T0 + timedelta(days=365) - timedelta(seconds=1))
        assert not recorded.is_active(T0 + timedelta(days=365))

    def test_without_expiry_stays_active(self) -> None:
        assert consent(expires_at=None).is_active(T0 + timedelta(days=3650))

    def test_is_inactive_from_revocation_on(self) -> None:
        revoked = consent().revoke(at=T0 + timedelta(days=10))
        assert revoked.is_active(T0 + timedelta(days=10) - timedelta(seconds=1))
        assert not revoked.is_active(T0 + timedelta(days=10))
        assert revoked.revoke(at=T0 + timedelta(days=20)).revoked_at == T0 + timedelta(days=10)

    @pytest.mark.parametrize(
        ("overrides", "field", "rule"),
        [
            ({"purpose": "marketing"}, "purpose", "choice"),
            ({"method": "telepathy"}, "method", "choice"),
            ({"reference": "  "}, "reference", "required"),
            ({"recorded_by": ""}, "recorded_by", "required"),
            ({"granted_at": datetime(2026, 1, 5, 9, 0)}, "granted_at", "timezone"),
            ({"expires_at": T0}, "expires_at", "after_grant"),
        ],
    )
    def test_invalid_consent_names_the_field_and_rule(self, overrides: dict[str, Any], field: str, rule: str) -> None:
        with pytest.raises(ValidationError) as excinfo:
            consent(**overrides)
        assert (excinfo.value.field, excinfo.value.rule) == (field, rule)

    def test_activity_at_a_naive_time_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            consent().is_active(datetime(2026, 2, 1))


class TestRequireActiveConsent:
    def test_both_purposes_allow_a_report(self) -> None:
        assert frozenset({ConsentPurpose.CREDIT_SHARING, ConsentPurpose.CREDIT_REPORT}) == REPORT_PURPOSES
        for purpose in ConsentPurpose:
            allowed = require_active_consent(consents=[consent(purpose=purpose)], borrower_id="B-1", at=T0)
            assert allowed.purpose is purpose

    def test_newest_active_consent_is_returned(self) -> None:
        older = consent()
        newer = consent(consent_id="C-2", granted_at=T0 + timedelta(days=1), reference="REC-2")
        assert require_active_consent(consents=[newer, older], borrower_id="B-1", at=T0 + timedelta(days=2)) == newer

    @pytest.mark.parametrize(
        "consents",
        [
            [],
            [consent(expires_at=T0 + timedelta(days=1))],
            [consent().revoke(at=T0 + timedelta(hours=1))],
            [consent(borrower_id="B-2")],
        ],
        ids=["none", "expired", "revoked", "another_borrower"],
    )
    def test_no_active_consent_refuses_the_report(self, consents: list[Consent]) -> None:
        with pytest.raises(ConsentRequired) as excinfo:
            require_active_consent(consents=consents, borrower_id="B-1", at=T0 + timedelta(days=2))
        assert excinfo.value.code == "consent_required"
        assert excinfo.value.http_status == 422
