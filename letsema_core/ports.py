"""Repository and outbox ports the use cases are written against.

Adapters (Django ORM in the API) implement them; ``letsema_core.testing`` holds in-memory fakes. Each
port has a contract suite in ``tests/contracts/`` that both must pass. The registry and keyed-hash ports
live with the credit code (``letsema_core.credit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol, runtime_checkable

from letsema_core.accounting import JournalEntry
from letsema_core.borrowers import Borrower, Consent, DuplicateSuspicion
from letsema_core.credit.keys import KeyedHasher
from letsema_core.credit.registry import CreditAccountEvent
from letsema_core.credit.report import CreditAssessment
from letsema_core.identity import Identifier
from letsema_core.loans import Loan, LoanApplication
from letsema_core.products import LoanProduct


@runtime_checkable
class BorrowerRepository(Protocol):
    """The MFI's borrowers. Contract: ``tests/contracts/borrower_repository.py``.

    ``add`` raises ``DuplicateIdentifier`` if another borrower already holds one of the identifiers (the
    adapter's unique lookup-key index, so concurrent registrations cannot both succeed); ``get`` raises
    ``NotFound``; the finders return ``None`` / an empty list when nothing matches.
    """

    def add(self, borrower: Borrower) -> None: ...

    def get(self, borrower_id: str) -> Borrower: ...

    def find_by_identifier(self, identifier: Identifier) -> Borrower | None: ...

    def find_by_name_and_birth_date(self, *, normalised_name: str, date_of_birth: date) -> Sequence[Borrower]: ...

    def add_suspicion(self, suspicion: DuplicateSuspicion) -> None: ...

    def suspicions_for(self, borrower_id: str) -> Sequence[DuplicateSuspicion]: ...

    def registry_key(self, borrower_id: str, hasher: KeyedHasher) -> str:
        """The borrower's registry key: ``borrower_key`` of their primary identifier under ``hasher``.

        An adapter that stores each identifier's digest under the same key (as its lookup key) answers from
        it: no decryption and no hashing call. Raises ``NotFound``.
        """
        ...


@runtime_checkable
class ConsentRepository(Protocol):
    """The borrowers' consents. Contract: ``tests/contracts/consent_repository.py``.

    ``save`` inserts or replaces by ``id``; ``get`` raises ``NotFound``; ``for_borrower`` returns the
    borrower's consents ordered by ``granted_at``.
    """

    def save(self, consent: Consent) -> None: ...

    def get(self, consent_id: str) -> Consent: ...

    def for_borrower(self, borrower_id: str) -> Sequence[Consent]: ...


@runtime_checkable
class Outbox(Protocol):
    """The transactional outbox of registry events. Contract: ``tests/contracts/outbox.py``.

    ``append`` stores an event with the business change (same transaction); appending an ``event_id``
    already there changes nothing. ``pending`` returns unpublished events in append order, at most
    ``limit``; ``mark_published`` removes them from ``pending`` (unknown ids are ignored). Published
    events are kept (or at least their per-loan sequence), so ``last_sequence`` never goes back.
    """

    def append(self, event: CreditAccountEvent) -> None: ...

    def last_sequence(self, *, lender_mfi: str, loan_ref: str) -> int:
        """The highest ``sequence`` appended for this loan, published or not; 0 when none."""
        ...

    def pending(self, *, limit: int = 100) -> Sequence[CreditAccountEvent]: ...

    def mark_published(self, event_ids: Sequence[str]) -> None: ...


@runtime_checkable
class ProductRepository(Protocol):
    """The MFI's loan products by id. ``get`` raises ``NotFound``."""

    def add(self, product_id: str, product: LoanProduct) -> None: ...

    def get(self, product_id: str) -> LoanProduct: ...


@runtime_checkable
class ApplicationRepository(Protocol):
    """Loan applications and their credit assessments. Contract: ``tests/contracts/application_repository.py``.

    ``add`` stores a new application (``ValidationError`` rule ``unique`` if the id exists); ``save``
    stores its new state; ``get`` raises ``NotFound`` and returns an application equal to the one saved.
    ``record_assessment`` keeps every assessment; ``latest_assessment`` returns the last recorded or ``None``.
    """

    def add(self, application: LoanApplication) -> None: ...

    def save(self, application: LoanApplication) -> None: ...

    def get(self, application_id: str) -> LoanApplication: ...

    def record_assessment(self, application_id: str, assessment: CreditAssessment) -> None: ...

    def latest_assessment(self, application_id: str) -> CreditAssessment | None: ...


@runtime_checkable
class LoanRepository(Protocol):
    """Disbursed loans. Contract: ``tests/contracts/loan_repository.py``.

    ``add`` stores a new loan (``ValidationError`` rule ``unique`` if the id exists); ``save`` stores its
    new state; ``get`` raises ``NotFound``; ``get_by_transaction`` finds the loan holding a ledger
    transaction (``NotFound`` otherwise); ``active`` lists active loans ordered by id (close of business
    reads it).
    """

    def add(self, loan: Loan) -> None: ...

    def save(self, loan: Loan) -> None: ...

    def get(self, loan_id: str) -> Loan: ...

    def get_by_transaction(self, transaction_id: str) -> Loan: ...

    def active(self) -> Sequence[Loan]: ...


@runtime_checkable
class Journal(Protocol):
    """The MFI's general journal (double-entry). Contract: ``tests/contracts/journal.py``.

    ``post`` stores a balanced entry; posting an ``entry_id`` that exists raises ``ValidationError``
    (rule ``unique``) — entries are never replaced. ``entries`` returns them in posting order.
    """

    def post(self, entry: JournalEntry) -> None: ...

    def entries(self) -> Sequence[JournalEntry]: ...
