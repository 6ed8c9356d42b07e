"""Contract of the ``ConsentRepository`` port. Provide a ``consents`` fixture returning an empty one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from letsema_core.borrowers import Consent
from letsema_core.errors import NotFound
from letsema_core.ports import ConsentRepository
from tests.contracts import FloatTrapped

GRANTED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def make_consent(consent_id: str = "C-1", *, borrower_id: str = "B-1", granted_at: datetime = GRANTED) -> Consent:
    return Consent.grant(
        consent_id=consent_id,
        borrower_id=borrower_id,
        purpose="credit_sharing",
        method="written",
        granted_at=granted_at,
        recorded_by="officer-1",
        reference="FORM-0001",
        expires_at=granted_at + timedelta(days=365),
    )


class ConsentRepositoryContract(FloatTrapped):
    @pytest.fixture
    def consents(self) -> ConsentRepository:
        raise NotImplementedError

    def test_implements_the_port(self, consents: ConsentRepository) -> None:
        assert isinstance(consents, ConsentRepository)

    def test_saved_consent_is_returned_unchanged(self, consents: ConsentRepository) -> None:
        consent = make_consent()
        consents.save(consent)
        assert consents.get("C-1") == consent

    def test_unknown_consent_is_not_found(self, consents: ConsentRepository) -> None:
        with pytest.raises(NotFound):
            consents.get("C-404")

    def test_saving_again_records_the_revocation(self, consents: ConsentRepository) -> None:
        consents.save(make_consent())
        revoked = consents.get("C-1").revoke(at=GRANTED + timedelta(days=3))
        consents.save(revoked)
        assert consents.get("C-1").revoked_at == GRANTED + timedelta(days=3)
        assert len(consents.for_borrower("B-1")) == 1

    def test_lists_a_borrowers_consents_in_grant_order(self, consents: ConsentRepository) -> None:
        consents.save(make_consent("C-2", granted_at=GRANTED + timedelta(days=1)))
        consents.save(make_consent("C-1"))
        consents.save(make_consent("C-3", borrower_id="B-2"))
        assert [c.id for c in consents.for_borrower("B-1")] == ["C-1", "C-2"]
        assert list(consents.for_borrower("B-404")) == []
