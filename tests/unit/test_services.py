"""Use cases end to end over the in-memory fakes: onboarding, credit reports, lending, servicing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from letsema_core.accounting import CASH, LOANS_RECEIVABLE, PENALTY_INCOME, WRITE_OFF_EXPENSE, trial_balance
from letsema_core.borrowers import ConsentRequired, DuplicateIdentifier
from letsema_core.credit import (
    AccountEventType,
    CreditAccountEvent,
    CreditAccountStatus,
    DisputeNotOwned,
    DisputeStatus,
    FlagCode,
    Recommendation,
)
from letsema_core.errors import NotFound, ValidationError
from letsema_core.identity import NationalId
from letsema_core.loans import (
    ApplicationStatus,
    IdempotencyKeyReused,
    IllegalApplicationTransition,
    LoanStatus,
    LoanTransaction,
    MakerCheckerViolation,
    Reallocation,
    TransactionType,
)
from letsema_core.products import LoanProduct
from letsema_core.services import (
    CreditCheckRequired,
    Tenant,
    account_event_for,
    approve_application,
    assess_application,
    borrower_credit_file,
    create_application,
    disburse_loan,
    open_credit_dispute,
    pull_credit_report,
    quote,
    record_consent,
    record_repayment,
    register_borrower,
    reject_application,
    relay_outbox,
    resolve_credit_dispute,
    reverse_repayment,
    revoke_consent,
    run_close_of_business,
    submit_application,
    write_off_loan,
)
from letsema_core.services.bookkeeping import post_ledger_entries
from letsema_core.testing import (
    HmacKeyedHasher,
    InMemoryApplicationRepository,
    InMemoryBorrowerRepository,
    InMemoryConsentRepository,
    InMemoryCreditRegistry,
    InMemoryJournal,
    InMemoryLoanRepository,
    InMemoryOutbox,
    InMemoryProductRepository,
)
from tests.contracts import trap_float_operations  # noqa: F401  (autouse: floats trapped)

pytestmark = pytest.mark.unit

DAY0 = date(2026, 1, 5)
AT0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NID = "0123 4567 8901"


def monthly_product(**overrides: Any) -> LoanProduct:
    fields: dict[str, Any] = {
        "code": "BIZ12",
        "name": "Business loan",
        "principal_min": "500.00",
        "principal_max": "50000.00",
        "term_min": 3,
        "term_max": 24,
        "repayment_frequency": "monthly",
        "annual_interest_rate_percent": "24",
        "interest_method": "declining_balance",
        "amortization": "equal_installments",
        "approval_limit": "20000.00",
        "max_debt_to_income_percent": "40",
        "late_penalty_percent": "5",
        "penalty_grace_days": 3,
    }
    fields.update(overrides)
    return LoanProduct(**fields)


@dataclass
class Mfi:
    """One tenant's ports; the registry and the HMAC key are shared by every MFI."""

    tenant: Tenant
    registry: InMemoryCreditRegistry
    hasher: HmacKeyedHasher
    borrowers: InMemoryBorrowerRepository = field(default_factory=InMemoryBorrowerRepository)
    consents: InMemoryConsentRepository = field(default_factory=InMemoryConsentRepository)
    products: InMemoryProductRepository = field(default_factory=InMemoryProductRepository)
    applications: InMemoryApplicationRepository = field(default_factory=InMemoryApplicationRepository)
    loans: InMemoryLoanRepository = field(default_factory=InMemoryLoanRepository)
    outbox: InMemoryOutbox = field(default_factory=InMemoryOutbox)
    journal: InMemoryJournal = field(default_factory=InMemoryJournal)

    def __post_init__(self) -> None:
        self.products.add("biz12", monthly_product())

    @property
    def servicing(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "loans": self.loans,
            "borrowers": self.borrowers,
            "products": self.products,
            "outbox": self.outbox,
            "hasher": self.hasher,
        }

    @property
    def servicing_ports(self) -> dict[str, Any]:
        """``servicing`` without the loans and the outbox."""
        return {k: v for k, v in self.servicing.items() if k not in ("loans", "outbox")}

    @property
    def posting(self) -> dict[str, Any]:
        return {**self.servicing, "journal": self.journal}

    @property
    def reporting(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "borrowers": self.borrowers,
            "consents": self.consents,
            "registry": self.registry,
            "hasher": self.hasher,
        }

    def register(self, borrower_id: str = "B-1", *, nid: str = NID, **overrides: Any) -> None:
        fields: dict[str, Any] = {
            "borrower_id": borrower_id,
            "first_name": "Palesa",
            "last_name": "Mokoena",
            "date_of_birth": date(1990, 5, 17),
            "district": "maseru",
            "phone": "58123456",
            "monthly_income": "6000.00",
            "identifiers": [{"type": "lesotho_national_id", "value": nid}],
            "created_by": "officer-1",
            "on": DAY0,
            "borrowers": self.borrowers,
        }
        fields.update(overrides)
        register_borrower(**fields)

    def consent(self, borrower_id: str = "B-1", *, consent_id: str = "C-1", **overrides: Any) -> None:
        fields: dict[str, Any] = {
            "consent_id": consent_id,
            "borrower_id": borrower_id,
            "purpose": "credit_sharing",
            "method": "written",
            "granted_at": AT0,
            "recorded_by": "officer-1",
            "reference": f"FORM-{consent_id}",
            "borrowers": self.borrowers,
            "consents": self.consents,
        }
        fields.update(overrides)
        record_consent(**fields)

    def apply(self, application_id: str = "A-1", *, borrower_id: str = "B-1", principal: str = "10000.00") -> None:
        create_application(
            application_id=application_id,
            borrower_id=borrower_id,
            product_id="biz12",
            principal=principal,
            term_in_periods=12,
            created_by="officer-1",
            on=DAY0,
            applications=self.applications,
            borrowers=self.borrowers,
            products=self.products,
        )
        submit_application(application_id=application_id, by="officer-1", on=DAY0, applications=self.applications)

    def assess(self, application_id: str = "A-1", *, at: datetime = AT0, inquiry_id: str = "I-1") -> Any:
        return assess_application(
            application_id=application_id,
            user="manager-1",
            at=at,
            inquiry_id=f"{self.tenant.mfi_id}-{inquiry_id}",
            applications=self.applications,
            products=self.products,
            **self.reporting,
        )

    def approve(self, application_id: str = "A-1") -> None:
        approve_application(
            application_id=application_id,
            by="manager-1",
            role="branch_manager",
            on=DAY0,
            applications=self.applications,
            products=self.products,
        )

    def disburse(self, application_id: str = "A-1", loan_id: str = "L-1") -> Any:
        return disburse_loan(
            application_id=application_id,
            loan_id=loan_id,
            by="officer-1",
            on=DAY0,
            applications=self.applications,
            **self.posting,
        )

    def onboard_and_lend(self, *, borrower_id: str = "B-1", loan_id: str = "L-1", nid: str = NID) -> None:
        self.register(borrower_id, nid=nid)
        self.consent(borrower_id, consent_id=f"C-{borrower_id}")
        application_id = f"A-{loan_id}"
        self.apply(application_id, borrower_id=borrower_id)
        self.assess(application_id, inquiry_id=f"I-{loan_id}")
        self.approve(application_id)
        self.disburse(application_id, loan_id)

    def repay(self, amount: str, *, on: date, key: str | None = None, loan_id: str = "L-1") -> Any:
        return record_repayment(loan_id=loan_id, amount=amount, on=on, idempotency_key=key, **self.posting)


@pytest.fixture
def registry() -> InMemoryCreditRegistry:
    return InMemoryCreditRegistry()


@pytest.fixture
def hasher() -> HmacKeyedHasher:
    return HmacKeyedHasher(b"platform-nid-hmac")


@pytest.fixture
def khotso(registry: InMemoryCreditRegistry, hasher: HmacKeyedHasher) -> Mfi:
    return Mfi(Tenant("khotso"), registry, hasher)


@pytest.fixture
def tsepo(registry: InMemoryCreditRegistry, hasher: HmacKeyedHasher) -> Mfi:
    return Mfi(Tenant("tsepo"), registry, hasher)


@pytest.fixture
def letsema(registry: InMemoryCreditRegistry, hasher: HmacKeyedHasher) -> Mfi:
    return Mfi(Tenant("letsema"), registry, hasher)


class TestRegisterBorrower:
    def test_stores_the_normalised_borrower(self, khotso: Mfi) -> None:
        khotso.register()
        stored = khotso.borrowers.get("B-1")
        assert stored.identifiers == (NationalId.parse("012345678901"),)
        assert stored.phone.e164 == "+26658123456"

    def test_duplicate_identifier_is_refused_and_nothing_stored(self, khotso: Mfi) -> None:
        khotso.register()
        with pytest.raises(DuplicateIdentifier):
            khotso.register("B-2", first_name="Thabo")
        with pytest.raises(NotFound):
            khotso.borrowers.get("B-2")

    def test_likely_duplicate_person_is_registered_and_flagged(self, khotso: Mfi) -> None:
        khotso.register()
        registration = register_borrower(
            borrower_id="B-2",
            first_name="palesa",
            last_name="MOKOENA",
            date_of_birth=date(1990, 5, 17),
            district="berea",
            phone="+266 6200 0000",
            monthly_income="100",
            identifiers=[{"type": "passport", "value": "RA1234567"}],
            created_by="officer-2",
            on=DAY0,
            borrowers=khotso.borrowers,
        )
        assert khotso.borrowers.get("B-2") == registration.borrower
        assert [(s.borrower_id, s.matching_borrower_id) for s in registration.suspicions] == [("B-2", "B-1")]
        assert list(khotso.borrowers.suspicions_for("B-1")) == list(registration.suspicions)

    def test_same_id_at_another_mfi_is_allowed(self, khotso: Mfi, tsepo: Mfi) -> None:
        khotso.register()
        tsepo.register()
        assert tsepo.borrowers.get("B-1").primary_identifier == khotso.borrowers.get("B-1").primary_identifier


class TestConsentUseCases:
    def test_consent_for_an_unknown_borrower_is_refused(self, khotso: Mfi) -> None:
        with pytest.raises(NotFound):
            khotso.consent("B-404")

    def test_revocation_is_stored(self, khotso: Mfi) -> None:
        khotso.register()
        khotso.consent()
        revoked = revoke_consent(consent_id="C-1", at=AT0 + timedelta(days=1), consents=khotso.consents)
        assert khotso.consents.get("C-1") == revoked
        assert revoked.revoked_at == AT0 + timedelta(days=1)


class TestPullCreditReport:
    def pull(self, mfi: Mfi, *, at: datetime = AT0, inquiry_id: str = "I-9") -> Any:
        return pull_credit_report(
            borrower_id="B-1",
            purpose="new_application",
            user="officer-7",
            at=at,
            inquiry_id=inquiry_id,
            **mfi.reporting,
        )

    def test_without_consent_no_report_and_no_inquiry(self, khotso: Mfi) -> None:
        khotso.register()
        with pytest.raises(ConsentRequired):
            self.pull(khotso)
        assert borrower_credit_file(borrower_id="B-1", **_file_ports(khotso)).inquiries == ()

    @pytest.mark.parametrize(
        "consent", [{"expires_at": AT0 + timedelta(days=30)}, {"revoked": True}], ids=["expired", "revoked"]
    )
    def test_expired_or_revoked_consent_is_refused(self, khotso: Mfi, consent: dict[str, Any]) -> None:
        khotso.register()
        revoked = consent.pop("revoked", False)
        khotso.consent(**consent)
        if revoked:
            revoke_consent(consent_id="C-1", at=AT0 + timedelta(days=1), consents=khotso.consents)
        with pytest.raises(ConsentRequired):
            self.pull(khotso, at=AT0 + timedelta(days=30))

    def test_report_records_an_inquiry_the_borrower_can_see(self, khotso: Mfi) -> None:
        khotso.register()
        khotso.consent(purpose="credit_report")
        report = self.pull(khotso)
        assert report.inquiries_last_7_days == 0
        (inquiry,) = borrower_credit_file(borrower_id="B-1", **_file_ports(khotso)).inquiries
        assert (inquiry.lender_mfi, inquiry.user, inquiry.purpose, inquiry.at, inquiry.consent_reference) == (
            "khotso",
            "officer-7",
            "new_application",
            AT0,
            "FORM-C-1",
        )
        assert self.pull(khotso, inquiry_id="I-10").inquiries_last_7_days == 1

    def test_empty_purpose_is_refused(self, khotso: Mfi) -> None:
        khotso.register()
        khotso.consent()
        with pytest.raises(ValidationError) as excinfo:
            pull_credit_report(borrower_id="B-1", purpose=" ", user="u", at=AT0, inquiry_id="I-1", **khotso.reporting)
        assert excinfo.value.field == "purpose"

    def test_loans_at_other_mfis_show_once_the_relay_has_run(self, khotso: Mfi, tsepo: Mfi, letsema: Mfi) -> None:
        khotso.onboard_and_lend()
        tsepo.onboard_and_lend()
        letsema.register()
        letsema.consent()
        assert self.pull(letsema).totals.active_loans == 0
        assert relay_outbox(outbox=khotso.outbox, registry=khotso.registry) == 1
        assert relay_outbox(outbox=tsepo.outbox, registry=tsepo.registry) == 1
        assert relay_outbox(outbox=tsepo.outbox, registry=tsepo.registry) == 0
        report = self.pull(letsema, inquiry_id="I-10")
        assert report.totals.active_loans == 2
        assert report.totals.total_outstanding == Decimal("20000.00")
        assert report.totals.total_monthly_installment == Decimal("1891.20")
        assert report.has_flag(FlagCode.ACTIVE_LOANS_ELSEWHERE)
        assert {a.lender_mfi for a in report.accounts} == {"khotso", "tsepo"}


class UnreachableRegistry(InMemoryCreditRegistry):
    """A registry whose writes fail, as during an outage."""

    def record_account_event(self, event: CreditAccountEvent) -> None:
        raise ConnectionError("registry unreachable")


class TestRelayOutbox:
    def test_outage_never_blocks_repayments_and_loses_no_event(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        khotso.repay("945.60", on=date(2026, 2, 5))
        with pytest.raises(ConnectionError):
            relay_outbox(outbox=khotso.outbox, registry=UnreachableRegistry())
        assert [e.sequence for e in khotso.outbox.pending()] == [1, 2]
        assert relay_outbox(outbox=khotso.outbox, registry=khotso.registry, limit=1) == 1
        assert relay_outbox(outbox=khotso.outbox, registry=khotso.registry) == 1
        (account,) = khotso.registry.credit_file(
            country="LS", borrower_key=khotso.outbox.all_events[0].borrower_key
        ).accounts
        assert (account.last_sequence, account.outstanding_balance) == (2, Decimal("9254.40"))


class TestCreditDisputes:
    def test_borrower_disputes_another_mfis_account_which_alone_resolves_it(self, khotso: Mfi, tsepo: Mfi) -> None:
        khotso.onboard_and_lend()
        relay_outbox(outbox=khotso.outbox, registry=khotso.registry)
        tsepo.register()
        dispute = open_credit_dispute(
            dispute_id="D-1",
            borrower_id="B-1",
            lender_mfi="khotso",
            loan_ref="L-1",
            reason=" never took this loan ",
            at=AT0,
            **_file_ports(tsepo),
        )
        assert dispute.reason == "never took this loan"
        assert borrower_credit_file(borrower_id="B-1", **_file_ports(tsepo)).disputes == (dispute,)
        with pytest.raises(DisputeNotOwned):
            resolve_credit_dispute(
                dispute_id="D-1", resolution="no", at=AT0, tenant=tsepo.tenant, registry=tsepo.registry
            )
        resolved = resolve_credit_dispute(
            dispute_id="D-1", resolution="identity confirmed", at=AT0, tenant=khotso.tenant, registry=khotso.registry
        )
        assert resolved.status is DisputeStatus.RESOLVED

    def test_dispute_needs_a_reason_and_an_account(self, khotso: Mfi) -> None:
        khotso.register()
        with pytest.raises(ValidationError):
            open_credit_dispute(
                dispute_id="D-1",
                borrower_id="B-1",
                lender_mfi="x",
                loan_ref="L",
                reason="",
                at=AT0,
                **_file_ports(khotso),
            )
        with pytest.raises(NotFound):
            open_credit_dispute(
                dispute_id="D-1",
                borrower_id="B-1",
                lender_mfi="x",
                loan_ref="L",
                reason="r",
                at=AT0,
                **_file_ports(khotso),
            )


def _file_ports(mfi: Mfi) -> dict[str, Any]:
    return {"tenant": mfi.tenant, "borrowers": mfi.borrowers, "registry": mfi.registry, "hasher": mfi.hasher}


class TestQuote:
    def test_gives_the_schedule_and_key_facts_to_the_cent(self, khotso: Mfi) -> None:
        offer = quote(
            product_id="biz12",
            principal="10000.00",
            term_in_periods=12,
            disbursement_date=DAY0,
            products=khotso.products,
        )
        assert [i.total_due for i in offer.schedule.installments] == [Decimal("945.60")] * 11 + [Decimal("945.55")]
        assert offer.key_facts.total_interest == Decimal("1347.15")
        assert offer.key_facts.installment_amount == Decimal("945.60")
        assert offer.schedule.installments[0].due_date == date(2026, 2, 5)

    def test_unknown_product_is_not_found(self, khotso: Mfi) -> None:
        with pytest.raises(NotFound):
            quote(
                product_id="nope", principal="1000", term_in_periods=3, disbursement_date=DAY0, products=khotso.products
            )


class TestApplicationDecisions:
    def test_assessment_uses_the_products_dti_and_the_new_installment(self, khotso: Mfi) -> None:
        khotso.register()
        khotso.consent()
        khotso.apply()
        assessment = khotso.assess()
        assert assessment.new_monthly_installment == Decimal("945.60")
        assert assessment.max_debt_to_income_ratio == Decimal("0.4")
        assert assessment.debt_to_income_ratio == Decimal("0.1576")
        assert assessment.recommendation is Recommendation.APPROVE
        assert khotso.applications.latest_assessment("A-1") == assessment

    def test_assessment_over_the_dti_limit_flags_over_indebted(self, khotso: Mfi) -> None:
        khotso.register(monthly_income="2364.00")
        khotso.consent()
        khotso.apply()
        # 945.60 / 2364.00 = 0.40 exactly: not over; one cent less income and it is
        assert not khotso.assess().has_flag(FlagCode.OVER_INDEBTED)
        khotso.register("B-2", nid="999999999999", monthly_income="2363.99")
        khotso.consent("B-2", consent_id="C-2")
        khotso.apply("A-2", borrower_id="B-2")
        assert khotso.assess("A-2", inquiry_id="I-2").has_flag(FlagCode.OVER_INDEBTED)

    def test_assessing_needs_a_submitted_application_and_consent(self, khotso: Mfi) -> None:
        khotso.register()
        khotso.apply()
        with pytest.raises(ConsentRequired):
            khotso.assess()
        khotso.consent()
        khotso.assess()
        khotso.approve()
        with pytest.raises(IllegalApplicationTransition):
            khotso.assess(inquiry_id="I-2")

    def test_mandatory_credit_check_blocks_approval_until_assessed(self, khotso: Mfi) -> None:
        khotso.register()
        khotso.consent()
        khotso.apply()
        with pytest.raises(CreditCheckRequired):
            khotso.approve()
        assert khotso.applications.get("A-1").status is ApplicationStatus.SUBMITTED
        khotso.assess()
        khotso.approve()
        assert khotso.applications.get("A-1").status is ApplicationStatus.APPROVED

    def test_product_without_mandatory_check_approves_unassessed(self, khotso: Mfi) -> None:
        khotso.products.add("biz12", monthly_product(credit_check_mandatory=False))
        khotso.register()
        khotso.apply()
        khotso.approve()
        assert khotso.applications.get("A-1").decided_by == "manager-1"

    def test_maker_cannot_approve(self, khotso: Mfi) -> None:
        khotso.register()
        khotso.consent()
        khotso.apply()
        khotso.assess()
        with pytest.raises(MakerCheckerViolation):
            approve_application(
                application_id="A-1",
                by="officer-1",
                role="mfi_admin",
                on=DAY0,
                applications=khotso.applications,
                products=khotso.products,
            )
        assert khotso.applications.get("A-1").status is ApplicationStatus.SUBMITTED

    def test_rejection_is_stored_with_reasons(self, khotso: Mfi) -> None:
        khotso.register()
        khotso.apply()
        reject_application(
            application_id="A-1",
            by="manager-1",
            role="branch_manager",
            on=DAY0,
            reasons=("OVER_INDEBTED",),
            applications=khotso.applications,
        )
        stored = khotso.applications.get("A-1")
        assert (stored.status, stored.rejection_reasons) == (ApplicationStatus.REJECTED, ("OVER_INDEBTED",))

    def test_amount_outside_the_product_is_refused(self, khotso: Mfi) -> None:
        khotso.register()
        with pytest.raises(ValidationError) as excinfo:
            khotso.apply(principal="60000.00")
        assert (excinfo.value.field, excinfo.value.rule) == ("principal", "max_value")
        with pytest.raises(NotFound):
            khotso.applications.get("A-1")


class TestDisburseLoan:
    def test_opens_the_loan_and_queues_account_opened(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        loan = khotso.loans.get("L-1")
        assert (loan.status, loan.principal, loan.borrower_id) == (LoanStatus.ACTIVE, Decimal("10000.00"), "B-1")
        application = khotso.applications.get("A-L-1")
        assert (application.status, application.loan_id) == (ApplicationStatus.DISBURSED, "L-1")
        (event,) = khotso.outbox.pending()
        assert event.event_type is AccountEventType.ACCOUNT_OPENED
        assert (event.sequence, event.schema_version, event.lender_mfi, event.loan_ref) == (1, 1, "khotso", "L-1")
        assert event.event_id == CreditAccountEvent.make_event_id(lender_mfi="khotso", loan_ref="L-1", sequence=1)
        assert event.borrower_key == khotso.hasher.digest("LS:NID:012345678901")
        assert (event.principal, event.outstanding_balance, event.installment_amount) == (
            Decimal("10000.00"),
            Decimal("10000.00"),
            Decimal("945.60"),
        )
        assert CreditAccountEvent.from_dict(event.to_dict()) == event

    def test_unapproved_application_is_not_disbursed(self, khotso: Mfi) -> None:
        khotso.register()
        khotso.apply()
        with pytest.raises(IllegalApplicationTransition):
            khotso.disburse()
        assert khotso.outbox.pending() == []
        with pytest.raises(NotFound):
            khotso.loans.get("L-1")

    def test_loan_without_borrower_cannot_be_shared(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        loan = khotso.loans.get("L-1")
        loan.borrower_id = None
        with pytest.raises(ValidationError) as excinfo:
            account_event_for(
                loan=loan,
                event_type=AccountEventType.REPAYMENT,
                on=DAY0,
                tenant=khotso.tenant,
                borrowers=khotso.borrowers,
                products=khotso.products,
                hasher=khotso.hasher,
                outbox=khotso.outbox,
            )
        assert (excinfo.value.field, excinfo.value.rule) == ("loan", "required")


class TestRecordRepayment:
    def test_repeat_with_the_same_key_returns_the_original_and_moves_no_money(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        first = khotso.repay("945.60", on=date(2026, 2, 5), key="K-1")
        after_first = khotso.loans.get("L-1").state()
        again = khotso.repay("945.60", on=date(2026, 2, 5), key="K-1")
        assert again.duplicate
        assert not first.duplicate
        assert again.transaction == first.transaction
        assert khotso.loans.get("L-1").state() == after_first
        assert khotso.loans.get("L-1").outstanding_principal == Decimal("9254.40")
        assert [e.event_type for e in khotso.outbox.all_events] == [
            AccountEventType.ACCOUNT_OPENED,
            AccountEventType.REPAYMENT,
        ]

    def test_same_key_for_another_amount_is_refused(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        khotso.repay("945.60", on=date(2026, 2, 5), key="K-1")
        with pytest.raises(IdempotencyKeyReused):
            khotso.repay("100.00", on=date(2026, 2, 5), key="K-1")
        assert len(khotso.outbox.all_events) == 2

    def test_repayment_event_carries_the_new_balance_in_sequence(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        khotso.repay("945.60", on=date(2026, 2, 5))
        khotso.repay("945.60", on=date(2026, 3, 5))
        events = khotso.outbox.all_events
        assert [e.sequence for e in events] == [1, 2, 3]
        assert len({e.event_id for e in events}) == 3
        assert [e.outstanding_balance for e in events] == [
            Decimal("10000.00"),
            Decimal("9254.40"),
            Decimal("8493.89"),
        ]

    def test_paying_off_queues_closed(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        payoff = khotso.loans.get("L-1").payoff_amount(on=date(2026, 1, 20))
        khotso.repay(str(payoff), on=date(2026, 1, 20))
        last = khotso.outbox.all_events[-1]
        assert last.event_type is AccountEventType.CLOSED
        assert (last.status, last.outstanding_balance) == (CreditAccountStatus.CLOSED, Decimal("0.00"))

    def test_reversal_restores_the_balance_and_queues_repayment_reversed(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        paid = khotso.repay("945.60", on=date(2026, 2, 5))
        reverse_repayment(transaction_id=paid.transaction.transaction_id, on=date(2026, 2, 6), **khotso.posting)
        assert khotso.loans.get("L-1").outstanding_principal == Decimal("10000.00")
        last = khotso.outbox.all_events[-1]
        assert (last.event_type, last.outstanding_balance, last.sequence) == (
            AccountEventType.REPAYMENT_REVERSED,
            Decimal("10000.00"),
            3,
        )


class TestCloseOfBusinessAndWriteOff:
    def run(self, mfi: Mfi, on: date) -> Any:
        return run_close_of_business(as_of=on, **mfi.posting)

    def test_arrears_change_is_queued_once_per_date(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        result = self.run(khotso, date(2026, 2, 6))
        assert result.processed == ("L-1",)
        assert khotso.loans.get("L-1").days_past_due == 1
        assert self.run(khotso, date(2026, 2, 6)).processed == ()
        arrears = [e for e in khotso.outbox.all_events if e.event_type is AccountEventType.ARREARS_CHANGED]
        assert [(e.days_past_due, e.as_of) for e in arrears] == [(1, date(2026, 2, 6))]

    def test_registry_learns_of_ninety_days_past_due(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        for day in (date(2026, 5, 5), date(2026, 5, 6)):  # 89, then 90 days after the 5 Feb due date
            self.run(khotso, day)
        arrears = [
            e.days_past_due for e in khotso.outbox.all_events if e.event_type is AccountEventType.ARREARS_CHANGED
        ]
        # 89 DPD: bucket current → 61-90; 90 DPD: same bucket, but the DEFAULT_HISTORY milestone
        assert arrears == [89, 90]
        self.run(khotso, date(2026, 5, 7))  # 91: bucket 91-180
        self.run(khotso, date(2026, 5, 8))  # 92: nothing new for the registry
        arrears = [
            e.days_past_due for e in khotso.outbox.all_events if e.event_type is AccountEventType.ARREARS_CHANGED
        ]
        assert arrears == [89, 90, 91]

    def test_a_late_run_reports_the_arrears_of_its_date(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        khotso.repay("1000.00", on=date(2026, 2, 20))  # cures #1 (945.60 + the 47.28 penalty) on 20 Feb
        self.run(khotso, date(2026, 2, 9))  # late: #1 was 4 days past due on 9 Feb
        [event] = [e for e in khotso.outbox.all_events if e.event_type is AccountEventType.ARREARS_CHANGED]
        assert (event.as_of, event.days_past_due) == (date(2026, 2, 9), 4)
        assert khotso.loans.get("L-1").days_past_due == 4

    def test_set_based_arrears_events_are_the_ones_the_core_queues(self, khotso: Mfi) -> None:
        """``close_of_business_events`` (an adapter's set-based path for loans whose day changes only DPD and
        bucket) reports and queues exactly what ``run_close_of_business`` does for them."""
        import copy

        from letsema_core.services import RegistryAccountFacts, StampedArrears, close_of_business_events

        khotso.onboard_and_lend()
        self.run(khotso, date(2026, 5, 5))  # 89 DPD: penalties charged, bucket 61-90
        # 6 May: 90 DPD (milestone, same bucket); 7 May: 91 (bucket 91-180); 8 May: nothing for the registry.
        for day in (date(2026, 5, 6), date(2026, 5, 7), date(2026, 5, 8)):
            before = khotso.loans.get("L-1")
            outbox = copy.deepcopy(khotso.outbox)
            result = self.run(khotso, day)
            after = khotso.loans.get("L-1")
            assert not result.penalties_charged
            stamped = StampedArrears(
                facts=RegistryAccountFacts(
                    loan_id="L-1",
                    borrower_id="B-1",
                    product_id="biz12",
                    opened_on=after.disbursed_on,
                    principal=after.principal,
                    outstanding_balance=after.outstanding_principal,
                    installment_amount=after.installment_amount,
                    status=after.status,
                    days_past_due=after.days_past_due,
                ),
                days_past_due_before=before.days_past_due,
                bucket_before=before.arrears_bucket,
                bucket=after.arrears_bucket,
            )
            events = close_of_business_events(stamped=[stamped], as_of=day, outbox=outbox, **khotso.servicing_ports)
            assert events == list(result.arrears_changes)
            assert outbox.all_events == khotso.outbox.all_events
        arrears = [e for e in khotso.outbox.all_events if e.event_type is AccountEventType.ARREARS_CHANGED]
        assert [e.days_past_due for e in arrears][-2:] == [90, 91]

    def test_write_off_reports_the_principal_written_off(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        self.run(khotso, date(2026, 6, 10))
        write_off_loan(loan_id="L-1", on=date(2026, 6, 10), **khotso.posting)
        last = khotso.outbox.all_events[-1]
        assert (last.event_type, last.status, last.outstanding_balance) == (
            AccountEventType.WRITTEN_OFF,
            CreditAccountStatus.WRITTEN_OFF,
            Decimal("10000.00"),
        )
        assert last.days_past_due == khotso.loans.get("L-1").days_past_due == 125


class TestJournalPostings:
    def test_every_money_movement_posts_a_balanced_entry(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        paid = khotso.repay("945.60", on=date(2026, 2, 5))
        reverse_repayment(transaction_id=paid.transaction.transaction_id, on=date(2026, 2, 6), **khotso.posting)
        descriptions = [e.description for e in khotso.journal.entries()]
        assert descriptions == [
            "loan disbursement",
            "repayment",
            f"reversal of repayment {paid.transaction.transaction_id}",
        ]
        balance = trial_balance(khotso.journal.entries(), as_of=date(2026, 2, 6))
        assert balance.is_balanced
        assert balance.row(LOANS_RECEIVABLE).balance == Decimal("10000.00")
        assert balance.row(CASH).balance == Decimal("-10000.00")

    def test_duplicate_repayment_posts_nothing(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        khotso.repay("945.60", on=date(2026, 2, 5), key="K-1")
        khotso.repay("945.60", on=date(2026, 2, 5), key="K-1")
        assert len(khotso.journal.entries()) == 2

    def test_backdated_payment_and_reversal_on_one_day_post_distinct_reallocations(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        khotso.repay("945.60", on=date(2026, 3, 5))
        backdated = khotso.repay("500.00", on=date(2026, 2, 5))
        assert backdated.reallocated
        reverse_repayment(transaction_id=backdated.transaction.transaction_id, on=date(2026, 2, 5), **khotso.posting)
        ids = [e.entry_id for e in khotso.journal.entries()]
        assert len(ids) == len(set(ids)) == 6
        balance = trial_balance(khotso.journal.entries(), as_of=date(2026, 3, 10))
        assert balance.is_balanced
        assert balance.row(LOANS_RECEIVABLE).balance == khotso.loans.get("L-1").outstanding_principal

    def test_a_late_close_of_business_books_the_reallocation_of_later_payments_once(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        paid = khotso.repay("945.60", on=date(2026, 2, 20))  # 200.00 interest + 745.60 principal
        # Close of business for 9 Feb runs after that payment was posted: #1 was 4 days late (grace 3),
        # 5% of 945.60 = 47.28 penalty, which the 20 Feb payment now pays first.
        result = run_close_of_business(as_of=date(2026, 2, 9), **khotso.posting)
        [event] = result.reallocations
        assert event.reallocation.after.penalties == Decimal("47.28")
        loan = khotso.loans.get("L-1")
        assert loan.outstanding_principal == Decimal("9301.68")
        balance = trial_balance(khotso.journal.entries(), as_of=date(2026, 2, 28))
        assert balance.is_balanced
        assert balance.row(LOANS_RECEIVABLE).balance == loan.outstanding_principal
        assert balance.row(PENALTY_INCOME).balance == Decimal("47.28")
        # Dated on the repayment it adjusts: nothing moves before the cash came in.
        assert trial_balance(khotso.journal.entries(), as_of=date(2026, 2, 19)).row(PENALTY_INCOME).balance == 0
        moved = khotso.journal.entries()[-1]
        assert (moved.transaction_id, moved.on) == (paid.transaction.transaction_id, date(2026, 2, 20))
        posted = list(khotso.journal.entries())
        again = run_close_of_business(as_of=date(2026, 2, 9), **khotso.posting)
        assert again.events == ()
        assert list(khotso.journal.entries()) == posted

    def test_write_off_posts_the_loss(self, khotso: Mfi) -> None:
        khotso.onboard_and_lend()
        write_off_loan(loan_id="L-1", on=date(2026, 6, 10), **khotso.posting)
        balance = trial_balance(khotso.journal.entries(), as_of=date(2026, 6, 10))
        assert balance.row(WRITE_OFF_EXPENSE).balance == Decimal("10000.00")
        assert balance.row(LOANS_RECEIVABLE).balance == Decimal("0.00")

    def test_nothing_is_posted_for_a_zero_write_off_or_an_unchanged_split(self) -> None:
        journal = InMemoryJournal()
        zero = LoanTransaction(
            transaction_id="T-9", sequence=9, kind=TransactionType.WRITE_OFF, on=DAY0, amount=Decimal("0.00")
        )
        same = LoanTransaction(
            transaction_id="T-2", sequence=2, kind=TransactionType.REPAYMENT, on=DAY0, amount=Decimal("10.00")
        )
        post_ledger_entries(
            loan_id="L-1",
            transaction=zero,
            reallocated=[Reallocation(before=same, after=same)],
            on=DAY0,
            journal=journal,
        )
        assert journal.entries() == []
