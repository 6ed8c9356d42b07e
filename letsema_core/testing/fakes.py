"""In-memory implementations of the ports. They pass the same contract suites as the real adapters."""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections.abc import Sequence
from datetime import date, datetime

from letsema_core.accounting import JournalEntry
from letsema_core.borrowers import Borrower, Consent, DuplicateIdentifier, DuplicateSuspicion
from letsema_core.credit.keys import KeyedHasher, borrower_key
from letsema_core.credit.registry import (
    CreditAccount,
    CreditAccountEvent,
    CreditDispute,
    CreditFile,
    CreditInquiry,
    apply_account_event,
)
from letsema_core.credit.report import CreditAssessment
from letsema_core.errors import NotFound, ValidationError
from letsema_core.identity import Identifier
from letsema_core.loans import Loan, LoanApplication, LoanStatus
from letsema_core.products import LoanProduct


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

    def registry_key(self, borrower_id: str, hasher: KeyedHasher) -> str:
        return borrower_key(identifier=self.get(borrower_id).primary_identifier, hasher=hasher)


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

    def last_sequence(self, *, lender_mfi: str, loan_ref: str) -> int:
        return max(
            (e.sequence for e in self._events.values() if (e.lender_mfi, e.loan_ref) == (lender_mfi, loan_ref)),
            default=0,
        )

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


class InMemoryProductRepository:
    def __init__(self) -> None:
        self._products: dict[str, LoanProduct] = {}

    def add(self, product_id: str, product: LoanProduct) -> None:
        self._products[product_id] = product

    def get(self, product_id: str) -> LoanProduct:
        try:
            return self._products[product_id]
        except KeyError:
            raise NotFound(entity="loan product", key=product_id) from None


class InMemoryApplicationRepository:
    """Stores copies, as a database would: a change is only kept once ``save`` is called."""

    def __init__(self) -> None:
        self._applications: dict[str, LoanApplication] = {}
        self._assessments: dict[str, list[CreditAssessment]] = {}

    def add(self, application: LoanApplication) -> None:
        if application.application_id in self._applications:
            raise ValidationError("an application with this id exists", field="application_id", rule="unique")
        self._applications[application.application_id] = copy.deepcopy(application)

    def save(self, application: LoanApplication) -> None:
        self.get(application.application_id)
        self._applications[application.application_id] = copy.deepcopy(application)

    def get(self, application_id: str) -> LoanApplication:
        try:
            return copy.deepcopy(self._applications[application_id])
        except KeyError:
            raise NotFound(entity="loan application", key=application_id) from None

    def record_assessment(self, application_id: str, assessment: CreditAssessment) -> None:
        self.get(application_id)
        self._assessments.setdefault(application_id, []).append(assessment)

    def latest_assessment(self, application_id: str) -> CreditAssessment | None:
        recorded = self._assessments.get(application_id)
        return recorded[-1] if recorded else None


class InMemoryLoanRepository:
    """Stores copies, as a database would: a change is only kept once ``save`` is called."""

    def __init__(self) -> None:
        self._loans: dict[str, Loan] = {}

    def add(self, loan: Loan) -> None:
        if loan.loan_id in self._loans:
            raise ValidationError("a loan with this id exists", field="loan_id", rule="unique")
        self._loans[loan.loan_id] = copy.deepcopy(loan)

    def save(self, loan: Loan) -> None:
        self.get(loan.loan_id)
        self._loans[loan.loan_id] = copy.deepcopy(loan)

    def get(self, loan_id: str) -> Loan:
        try:
            return copy.deepcopy(self._loans[loan_id])
        except KeyError:
            raise NotFound(entity="loan", key=loan_id) from None

    def get_by_transaction(self, transaction_id: str) -> Loan:
        for loan in self._loans.values():
            if any(t.transaction_id == transaction_id for t in loan.transactions):
                return copy.deepcopy(loan)
        raise NotFound(entity="loan transaction", key=transaction_id)

    def active(self) -> Sequence[Loan]:
        return [
            copy.deepcopy(self._loans[k]) for k in sorted(self._loans) if self._loans[k].status is LoanStatus.ACTIVE
        ]


class InMemoryJournal:
    def __init__(self) -> None:
        self._entries: dict[str, JournalEntry] = {}

    def post(self, entry: JournalEntry) -> None:
        if entry.entry_id in self._entries:
            raise ValidationError("a journal entry with this id exists", field="entry_id", rule="unique")
        self._entries[entry.entry_id] = entry

    def entries(self) -> Sequence[JournalEntry]:
        return list(self._entries.values())
