"""Contract of the ``BorrowerRepository`` port. Provide a ``borrowers`` fixture returning an empty one."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from letsema_core.borrowers import Borrower, DuplicateIdentifier, DuplicateSuspicion, new_borrower
from letsema_core.credit.keys import borrower_key
from letsema_core.errors import NotFound
from letsema_core.identity import Identifier, IdentifierType, NationalId
from letsema_core.ports import BorrowerRepository
from letsema_core.testing.fakes import HmacKeyedHasher
from tests.contracts import FloatTrapped


def make_borrower(borrower_id: str = "B-1", **overrides: Any) -> Borrower:
    """A valid borrower; keyword arguments override any argument of ``new_borrower``."""
    fields: dict[str, Any] = {
        "borrower_id": borrower_id,
        "first_name": "Palesa",
        "last_name": "Mokoena",
        "date_of_birth": date(1990, 5, 17),
        "district": "maseru",
        "phone": "+266 5812 3456",
        "monthly_income": "4500.00",
        "identifiers": [NationalId.parse("012345678901")],
        "created_by": "officer-1",
        "on": date(2026, 1, 5),
    }
    fields.update(overrides)
    return new_borrower(**fields)


class BorrowerRepositoryContract(FloatTrapped):
    @pytest.fixture
    def borrowers(self) -> BorrowerRepository:
        raise NotImplementedError

    def test_implements_the_port(self, borrowers: BorrowerRepository) -> None:
        assert isinstance(borrowers, BorrowerRepository)

    def test_added_borrower_is_returned_unchanged(self, borrowers: BorrowerRepository) -> None:
        borrower = make_borrower(
            identifiers=[NationalId.parse("012345678901"), Identifier.parse(type="passport", value="RA1234567")],
            gender="female",
        )
        borrowers.add(borrower)
        assert borrowers.get("B-1") == borrower

    def test_unknown_borrower_is_not_found(self, borrowers: BorrowerRepository) -> None:
        with pytest.raises(NotFound):
            borrowers.get("B-404")
        with pytest.raises(NotFound):
            borrowers.registry_key("B-404", HmacKeyedHasher(b"contract"))

    def test_registry_key_is_the_digest_of_the_primary_identifier(self, borrowers: BorrowerRepository) -> None:
        passport = Identifier.parse(type="passport", value="RA1234567")
        national = NationalId.parse("012345678901")
        borrowers.add(make_borrower(identifiers=[passport, national]))  # the national ID is preferred
        hasher = HmacKeyedHasher(b"contract")
        assert borrowers.registry_key("B-1", hasher) == borrower_key(identifier=national, hasher=hasher)

    def test_finds_a_borrower_by_any_identifier(self, borrowers: BorrowerRepository) -> None:
        passport = Identifier.parse(type="passport", value="RA1234567")
        borrowers.add(make_borrower(identifiers=[NationalId.parse("012345678901"), passport]))
        found = borrowers.find_by_identifier(passport)
        assert found is not None
        assert found.id == "B-1"
        assert borrowers.find_by_identifier(NationalId.parse("999999999999")) is None

    def test_identifier_types_do_not_collide(self, borrowers: BorrowerRepository) -> None:
        borrowers.add(make_borrower(identifiers=[Identifier.parse(type="passport", value="123456789")]))
        same_digits = Identifier(type=IdentifierType.LESOTHO_NATIONAL_ID, value="123456789")
        assert borrowers.find_by_identifier(same_digits) is None

    def test_second_holder_of_an_identifier_is_refused(self, borrowers: BorrowerRepository) -> None:
        borrowers.add(make_borrower())
        with pytest.raises(DuplicateIdentifier):
            borrowers.add(make_borrower("B-2", first_name="Other"))
        with pytest.raises(NotFound):
            borrowers.get("B-2")

    def test_finds_borrowers_by_normalised_name_and_birth_date(self, borrowers: BorrowerRepository) -> None:
        borrowers.add(make_borrower())
        borrowers.add(make_borrower("B-2", identifiers=[NationalId.parse("111111111111")]))
        borrowers.add(
            make_borrower("B-3", identifiers=[NationalId.parse("222222222222")], date_of_birth=date(1991, 5, 17))
        )
        found = borrowers.find_by_name_and_birth_date(normalised_name="palesa mokoena", date_of_birth=date(1990, 5, 17))
        assert sorted(b.id for b in found) == ["B-1", "B-2"]

    def test_suspicions_are_listed_once_for_both_borrowers(self, borrowers: BorrowerRepository) -> None:
        suspicion = DuplicateSuspicion(
            borrower_id="B-2", matching_borrower_id="B-1", reason="same_name_and_date_of_birth", detected_on=date.min
        )
        borrowers.add_suspicion(suspicion)
        borrowers.add_suspicion(suspicion)
        assert list(borrowers.suspicions_for("B-1")) == [suspicion]
        assert list(borrowers.suspicions_for("B-2")) == [suspicion]
        assert list(borrowers.suspicions_for("B-3")) == []
