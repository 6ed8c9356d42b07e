"""The contract suites run against the in-memory fakes shipped in ``letsema_core.testing``."""

from __future__ import annotations

import pytest

from letsema_core.testing import (
    HmacKeyedHasher,
    InMemoryApplicationRepository,
    InMemoryBorrowerRepository,
    InMemoryConsentRepository,
    InMemoryCreditRegistry,
    InMemoryJournal,
    InMemoryLoanRepository,
    InMemoryOutbox,
)
from tests.contracts.application_repository import ApplicationRepositoryContract
from tests.contracts.borrower_repository import BorrowerRepositoryContract
from tests.contracts.consent_repository import ConsentRepositoryContract
from tests.contracts.credit_registry import CreditRegistryContract
from tests.contracts.journal import JournalContract
from tests.contracts.keyed_hasher import KeyedHasherContract
from tests.contracts.loan_repository import LoanRepositoryContract
from tests.contracts.outbox import OutboxContract

pytestmark = pytest.mark.unit


class TestInMemoryCreditRegistry(CreditRegistryContract):
    @pytest.fixture
    def registry(self) -> InMemoryCreditRegistry:
        return InMemoryCreditRegistry()


class TestHmacKeyedHasher(KeyedHasherContract):
    @pytest.fixture
    def hasher(self) -> HmacKeyedHasher:
        return HmacKeyedHasher(b"key-one")

    @pytest.fixture
    def hasher_with_other_key(self) -> HmacKeyedHasher:
        return HmacKeyedHasher(b"key-two")


class TestInMemoryBorrowerRepository(BorrowerRepositoryContract):
    @pytest.fixture
    def borrowers(self) -> InMemoryBorrowerRepository:
        return InMemoryBorrowerRepository()


class TestInMemoryConsentRepository(ConsentRepositoryContract):
    @pytest.fixture
    def consents(self) -> InMemoryConsentRepository:
        return InMemoryConsentRepository()


class TestInMemoryOutbox(OutboxContract):
    @pytest.fixture
    def outbox(self) -> InMemoryOutbox:
        return InMemoryOutbox()


class TestInMemoryApplicationRepository(ApplicationRepositoryContract):
    @pytest.fixture
    def applications(self) -> InMemoryApplicationRepository:
        return InMemoryApplicationRepository()


class TestInMemoryLoanRepository(LoanRepositoryContract):
    @pytest.fixture
    def loans(self) -> InMemoryLoanRepository:
        return InMemoryLoanRepository()


class TestInMemoryJournal(JournalContract):
    @pytest.fixture
    def journal(self) -> InMemoryJournal:
        return InMemoryJournal()
