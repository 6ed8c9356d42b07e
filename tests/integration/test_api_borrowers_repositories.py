"""The Django borrower and consent repositories pass the core's contract suites against the real
PostgreSQL and OpenBao (Transit encryption and HMAC). Each test runs in a transaction that is rolled back."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from letsema_core.errors import NotFound
from letsema_core.identity import NationalId
from tests.contracts.borrower_repository import BorrowerRepositoryContract, make_borrower
from tests.contracts.consent_repository import ConsentRepositoryContract
from tests.integration.conftest import DjangoApi

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]


class NamespacedHasher:
    """The tenant's real Transit HMAC over ``<namespace>|message``: lookup keys of this test cannot
    collide with borrowers other tests committed with the same ID numbers."""

    def __init__(self, inner: Any, namespace: str) -> None:
        self._inner = inner
        self._namespace = namespace

    def digest(self, message: str) -> str:
        return str(self._inner.digest(f"{self._namespace}|{message}"))


def passport(value: str) -> Any:
    from letsema_core.identity import Identifier

    return Identifier.parse(type="passport", value=value)


@contextlib.contextmanager
def transit_decrypts() -> Iterator[Any]:
    """Counts the Transit decrypt requests (hvac's ``decrypt_data``: one HTTP call each) made inside."""
    from unittest import mock

    import hvac.api.secrets_engines.transit as transit

    with mock.patch.object(
        transit.Transit, "decrypt_data", autospec=True, side_effect=transit.Transit.decrypt_data
    ) as decrypt:
        yield decrypt


@pytest.fixture
def rolled_back(django_api: DjangoApi) -> Iterator[None]:
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def django_borrowers(rolled_back: None) -> Any:
    from letsema_api.borrowers.repositories import DjangoBorrowerRepository
    from letsema_api.vault import get_vault

    vault = get_vault()
    return DjangoBorrowerRepository(cipher=vault, hasher=NamespacedHasher(vault.keyed_hasher(), uuid.uuid4().hex))


class TestDjangoBorrowerRepository(BorrowerRepositoryContract):
    @pytest.fixture
    def borrowers(self, django_borrowers: Any) -> Any:
        return django_borrowers

    def test_rows_hold_no_plaintext_identifier_or_phone(self, borrowers: Any) -> None:
        from django.db import connection

        borrowers.add(make_borrower())
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM borrowers_borrower WHERE id = 'B-1'")
            borrower_row = " ".join(str(v) for v in cursor.fetchone())
            cursor.execute("SELECT * FROM borrowers_borroweridentifier WHERE borrower_id = 'B-1'")
            identifier_rows = " ".join(str(v) for row in cursor.fetchall() for v in row)
        assert "012345678901" not in identifier_rows
        assert "vault:v" in identifier_rows
        assert "58123456" not in borrower_row
        assert "Palesa" in borrower_row  # the row was read: names stay searchable

    def test_registry_key_is_read_from_the_stored_lookup_key_without_transit(self, rolled_back: None) -> None:
        """With the repository's own Transit key (as the API's services pass it), the registry key is the
        stored lookup key of the primary identifier: no decryption and no HMAC call."""
        import random
        from unittest import mock

        from letsema_api.borrowers.repositories import DjangoBorrowerRepository
        from letsema_api.vault import VaultSecrets, get_vault

        from letsema_core.credit.keys import borrower_key
        from letsema_core.identity import Identifier, NationalId

        vault = get_vault()
        borrowers = DjangoBorrowerRepository(cipher=vault, hasher=vault.keyed_hasher())
        national = NationalId.parse(f"{random.randrange(10**12):012d}")
        borrowers.add(
            make_borrower("B-rk", identifiers=[Identifier.parse(type="passport", value="RK7654321"), national])
        )
        expected = borrower_key(identifier=national, hasher=vault.keyed_hasher())
        with (
            mock.patch.object(VaultSecrets, "hmac", side_effect=AssertionError("Transit HMAC called")),
            mock.patch.object(VaultSecrets, "decrypt_pii", side_effect=AssertionError("Transit decrypt called")),
        ):
            assert borrowers.registry_key("B-rk", vault.keyed_hasher()) == expected

    def test_a_borrower_is_read_with_one_transit_call_for_its_phone_and_every_identifier(self, borrowers: Any) -> None:
        from letsema_core.identity import Identifier

        borrowers.add(make_borrower(identifiers=[NationalId.parse("012345678901"), passport("RB1234567")]))
        with transit_decrypts() as decrypt:
            borrower = borrowers.get("B-1")
        assert decrypt.call_count == 1
        assert borrower.phone.e164 == "+26658123456"
        assert borrower.identifiers == (
            NationalId.parse("012345678901"),
            Identifier.parse(type="passport", value="RB1234567"),
        )

    def test_namesakes_born_the_same_day_are_read_with_one_transit_call(self, borrowers: Any) -> None:
        borrowers.add(make_borrower("B-1"))
        borrowers.add(make_borrower("B-2", identifiers=[NationalId.parse("111111111111")], phone="+266 6300 0000"))
        with transit_decrypts() as decrypt:
            found = borrowers.find_by_name_and_birth_date(
                normalised_name=make_borrower().normalised_name, date_of_birth=make_borrower().date_of_birth
            )
        assert decrypt.call_count == 1
        assert [(b.id, b.phone.e164, b.identifiers[0].value) for b in found] == [
            ("B-1", "+26658123456", "012345678901"),
            ("B-2", "+26663000000", "111111111111"),
        ]

    def test_added_identifier_is_found_and_kept_in_order(self, borrowers: Any) -> None:
        borrowers.add(make_borrower())
        extra = NationalId.parse("555555555555")
        borrowers.add_identifier("B-1", extra)
        assert borrowers.get("B-1").identifiers[-1] == extra
        found = borrowers.find_by_identifier(extra)
        assert found is not None
        assert found.id == "B-1"

    def test_identifier_for_an_unknown_borrower_is_not_found(self, borrowers: Any) -> None:
        with pytest.raises(NotFound):
            borrowers.add_identifier("B-404", NationalId.parse("555555555555"))


class TestDjangoConsentRepository(ConsentRepositoryContract):
    @pytest.fixture
    def consents(self, django_borrowers: Any) -> Any:
        from letsema_api.borrowers.repositories import DjangoConsentRepository

        # The consents' borrowers exist, as the foreign key wants them to.
        django_borrowers.add(make_borrower("B-1"))
        django_borrowers.add(make_borrower("B-2", identifiers=[NationalId.parse("111111111111")]))
        return DjangoConsentRepository()
