"""In-memory implementations of the ports. They pass the same contract suites as the real adapters."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import date, datetime

from letsema_core.borrowers import Borrower, Consent, DuplicateIdentifier, DuplicateSuspicion
from letsema_core.credit.registry import (
    CreditAccount,
    CreditAccountEvent,
    CreditDispute,
    CreditFile,
    CreditInquiry,
    apply_account_event,
)
from letsema_core.errors import NotFound
from letsema_core.identity import Identifier


class HmacKeyedHasher:
    """HMAC-SHA256 with a local key, hex digest: stands in for Vault/OpenBao Transit HMAC in tests."""

    def __init__(self, key: bytes = b"letsema-test-key") -> None:
        self._key = key

    def digest(self, message: str) -> str:
        return hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).hexdigest()


class InMemoryBorrowerRepository:
    def __init__(self) -> None:
        self._borrowers: dict[str, Borrower] = {}
        self._suspicions: list[DuplicateSuspicion] = []

    def add(self, borrower: Borrower) -> None:
        for identifier in borrower.identifiers:
            holder = self.find_by_identifier(identifier)
            if holder is not None and holder.id != borrower.id:
                raise DuplicateIdentifier(
                    f"another borrower already holds this {identifier.type.value}",
                    details={"field": "identifiers", "rule": "unique", "existing_borrower_id": holder.id},
                )
        self._borrowers[borrower.id] = borrower

    def get(self, borrower_id: str) -> Borrower:
        try:
            return self._borrowers[borrower_id]
        except KeyError:
            raise NotFound(entity="borrower", key=borrower_id) from None

    def find_by_identifier(self, identifier: Identifier) -> Borrower | None:
        return next((b for b in self._borrowers.values() if identifier in b.identifiers), None)

    def find_by_name_and_birth_date(self, *, normalised_name: str, date_of_birth: date) -> Sequence[Borrower]:
        return [
            b
            for b in self._borrowers.values()
            if b.normalised_name == normalised_name and b.date_of_birth == date_of_birth
        ]

    def add_suspicion(self, suspicion: DuplicateSuspicion) -> None:
        if suspicion not in self._suspicions:
            self._suspicions.append(suspicion)

    def suspicions_for(self, borrower_id: str) -> Sequence[DuplicateSuspicion]:
        return [s for s in self._suspicions if borrower_id in (s.borrower_id, s.matching_borrower_id)]


class InMemoryConsentRepository:
    def __init__(self) -> None:
        self._consents: dict[str, Consent] = {}

    def save(self, consent: Consent) -> None:
        self._consents[consent.id] = consent

    def get(self, consent_id: str) -> Consent:
        try:
            return self._consents[consent_id]
        except KeyError:
            raise NotFound(entity="consent", key=consent_id) from None

    def for_borrower(self, borrower_id: str) -> Sequence[Consent]:
        return sorted((c for c in self._consents.values() if c.borrower_id == borrower_id), key=lambda c: c.granted_at)


class InMemoryOutbox:
    def __init__(self) -> None:
        self._events: dict[str, CreditAccountEvent] = {}
        self._published: set[str] = set()

    def append(self, event: CreditAccountEvent) -> None:
        self._events.setdefault(event.event_id, event)

    def pending(self, *, limit: int = 100) -> Sequence[CreditAccountEvent]:
        return [e for e in self._events.values() if e.event_id not in self._published][:limit]

    def mark_published(self, event_ids: Sequence[str]) -> None:
        self._published.update(i for i in event_ids if i in self._events)

    @property
    def all_events(self) -> list[CreditAccountEvent]:
        """Every event ever appended, published or not (for assertions)."""
        return list(self._events.values())


class InMemoryCreditRegistry:
    def __init__(self) -> None:
        self._accounts: dict[tuple[str, str], CreditAccount] = {}
        self._inquiries: dict[str, CreditInquiry] = {}
        self._disputes: dict[str, CreditDispute] = {}

    def record_account_event(self, event: CreditAccountEvent) -> None:
        key = (event.lender_mfi, event.loan_ref)
        self._accounts[key] = apply_account_event(self._accounts.get(key), event)

    def record_inquiry(self, inquiry: CreditInquiry) -> None:
        self._inquiries.setdefault(inquiry.inquiry_id, inquiry)

    def credit_file(self, *, country: str, borrower_key: str) -> CreditFile:
        def mine(record: CreditAccount | CreditInquiry | CreditDispute) -> bool:
            return record.country == country and record.borrower_key == borrower_key

        return CreditFile(
            country=country,
            borrower_key=borrower_key,
            accounts=tuple(sorted(filter(mine, self._accounts.values()), key=lambda a: (a.lender_mfi, a.loan_ref))),
            inquiries=tuple(sorted(filter(mine, self._inquiries.values()), key=lambda i: (i.at, i.inquiry_id))),
            disputes=tuple(sorted(filter(mine, self._disputes.values()), key=lambda d: (d.opened_at, d.dispute_id))),
        )

    def open_dispute(self, dispute: CreditDispute) -> None:
        account = self._accounts.get((dispute.lender_mfi, dispute.loan_ref))
        if account is None or (account.country, account.borrower_key) != (dispute.country, dispute.borrower_key):
            raise NotFound(entity="credit account", key=f"{dispute.lender_mfi}/{dispute.loan_ref}")
        self._disputes.setdefault(dispute.dispute_id, dispute)

    def resolve_dispute(self, *, dispute_id: str, by_mfi: str, resolution: str, at: datetime) -> CreditDispute:
        try:
            dispute = self._disputes[dispute_id]
        except KeyError:
            raise NotFound(entity="credit dispute", key=dispute_id) from None
        resolved = dispute.resolve(by_mfi=by_mfi, resolution=resolution, at=at)
        self._disputes[dispute_id] = resolved
        return resolved
