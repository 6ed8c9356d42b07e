"""Repository and outbox ports the use cases are written against.

Adapters (Django ORM in the API) implement them; ``letsema_core.testing`` holds in-memory fakes. Each
port has a contract suite in ``tests/contracts/`` that both must pass. The registry and keyed-hash ports
live with the credit code (``letsema_core.credit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol, runtime_checkable

from letsema_core.borrowers import Borrower, Consent, DuplicateSuspicion
from letsema_core.credit.registry import CreditAccountEvent
from letsema_core.identity import Identifier


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
    ``limit``; ``mark_published`` removes them from ``pending`` (unknown ids are ignored).
    """

    def append(self, event: CreditAccountEvent) -> None: ...

    def pending(self, *, limit: int = 100) -> Sequence[CreditAccountEvent]: ...

    def mark_published(self, event_ids: Sequence[str]) -> None: ...
