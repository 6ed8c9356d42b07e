"""Contract of the ``CreditRegistry`` port (letsema_core.credit.registry).

Provide a ``registry`` fixture returning an empty registry. Times are UTC with whole seconds so that
stores with millisecond precision (MongoDB) compare equal.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from letsema_core.credit import (
    CreditAccountEvent,
    CreditAccountStatus,
    CreditDispute,
    CreditInquiry,
    CreditRegistry,
    DisputeNotOwned,
    DisputeStatus,
)
from letsema_core.errors import InvalidTransition, NotFound
from tests.contracts import FloatTrapped

KEY = "bk-contract-1"
OTHER_KEY = "bk-contract-2"


def account_event(**overrides: Any) -> CreditAccountEvent:
    """A valid account event; keyword arguments override any field of ``CreditAccountEvent.create``."""
    fields: dict[str, Any] = {
        "event_type": "account_opened",
        "country": "LS",
        "borrower_key": KEY,
        "lender_mfi": "khotso",
        "loan_ref": "L-1",
        "sequence": 1,
        "as_of": date(2026, 1, 10),
        "opened_on": date(2026, 1, 10),
        "principal": "10000.00",
        "outstanding_balance": "10000.00",
        "installment_amount": "945.60",
        "repayment_frequency": "monthly",
        "status": "active",
        "days_past_due": 0,
    }
    fields.update(overrides)
    return CreditAccountEvent.create(**fields)


def inquiry(inquiry_id: str, *, at: datetime, lender_mfi: str = "tsepo", borrower_key: str = KEY) -> CreditInquiry:
    return CreditInquiry(
        inquiry_id=inquiry_id,
        country="LS",
        borrower_key=borrower_key,
        lender_mfi=lender_mfi,
        user="officer-1",
        purpose="new_application",
        at=at,
        consent_reference="C-REF-1",
    )


def dispute(dispute_id: str = "D-1", *, lender_mfi: str = "khotso", loan_ref: str = "L-1") -> CreditDispute:
    return CreditDispute(
        dispute_id=dispute_id,
        country="LS",
        borrower_key=KEY,
        lender_mfi=lender_mfi,
        loan_ref=loan_ref,
        reason="balance already repaid",
        opened_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    )


class CreditRegistryContract(FloatTrapped):
    @pytest.fixture
    def registry(self) -> CreditRegistry:
        raise NotImplementedError

    def test_implements_the_port(self, registry: CreditRegistry) -> None:
        assert isinstance(registry, CreditRegistry)

    def test_unknown_borrower_has_an_empty_file(self, registry: CreditRegistry) -> None:
        file = registry.credit_file(country="LS", borrower_key="nobody")
        assert (file.country, file.borrower_key) == ("LS", "nobody")
        assert (file.accounts, file.inquiries, file.disputes) == ((), (), ())

    def test_first_event_opens_the_account_with_its_state(self, registry: CreditRegistry) -> None:
        registry.record_account_event(account_event())
        (account,) = registry.credit_file(country="LS", borrower_key=KEY).accounts
        assert (account.lender_mfi, account.loan_ref, account.opened_on) == ("khotso", "L-1", date(2026, 1, 10))
        assert account.principal == Decimal("10000.00")
        assert account.outstanding_balance == Decimal("10000.00")
        assert account.installment_amount == Decimal("945.60")
        assert account.monthly_installment == Decimal("945.60")
        assert account.status is CreditAccountStatus.ACTIVE
        assert (account.days_past_due, account.worst_days_past_due, account.last_sequence) == (0, 0, 1)

    def test_newer_event_replaces_the_state(self, registry: CreditRegistry) -> None:
        registry.record_account_event(account_event())
        registry.record_account_event(
            account_event(event_type="repayment", sequence=2, as_of=date(2026, 2, 10), outstanding_balance="9254.40")
        )
        (account,) = registry.credit_file(country="LS", borrower_key=KEY).accounts
        assert account.outstanding_balance == Decimal("9254.40")
        assert (account.last_sequence, account.last_updated_on) == (2, date(2026, 2, 10))

    def test_older_event_never_overwrites_newer_state_but_counts_in_history(self, registry: CreditRegistry) -> None:
        registry.record_account_event(account_event())
        registry.record_account_event(
            account_event(event_type="repayment", sequence=3, as_of=date(2026, 4, 2), outstanding_balance="8000.00")
        )
        registry.record_account_event(
            account_event(
                event_type="arrears_changed",
                sequence=2,
                as_of=date(2026, 3, 20),
                outstanding_balance="9254.40",
                days_past_due=38,
            )
        )
        (account,) = registry.credit_file(country="LS", borrower_key=KEY).accounts
        assert account.outstanding_balance == Decimal("8000.00")
        assert (account.days_past_due, account.last_sequence) == (0, 3)
        assert account.worst_days_past_due == 38
        assert dict(account.dpd_by_month)["2026-03"] == 38

    def test_events_in_any_order_give_the_same_account(self, registry: CreditRegistry) -> None:
        events = [
            account_event(),
            account_event(event_type="arrears_changed", sequence=2, as_of=date(2026, 3, 5), days_past_due=23),
            account_event(
                event_type="written_off",
                sequence=3,
                as_of=date(2026, 6, 1),
                status="written_off",
                days_past_due=112,
            ),
        ]
        results = []
        for index, order in enumerate(itertools.permutations(events)):
            for event in order:
                registry.record_account_event(CreditAccountEvent.create(**{**_fields(event), "loan_ref": f"P-{index}"}))
        for account in registry.credit_file(country="LS", borrower_key=KEY).accounts:
            results.append(
                (
                    account.status,
                    account.days_past_due,
                    account.worst_days_past_due,
                    account.dpd_by_month,
                    account.written_off_on,
                    account.last_sequence,
                )
            )
        assert len(results) == 6
        assert set(results) == {
            (
                CreditAccountStatus.WRITTEN_OFF,
                112,
                112,
                (("2026-01", 0), ("2026-03", 23), ("2026-06", 112)),
                date(2026, 6, 1),
                3,
            )
        }

    def test_repeated_event_changes_nothing(self, registry: CreditRegistry) -> None:
        event = account_event(days_past_due=5)
        registry.record_account_event(event)
        first = registry.credit_file(country="LS", borrower_key=KEY)
        registry.record_account_event(event)
        assert registry.credit_file(country="LS", borrower_key=KEY) == first

    def test_files_are_separated_by_borrower_and_country(self, registry: CreditRegistry) -> None:
        registry.record_account_event(account_event())
        registry.record_account_event(account_event(borrower_key=OTHER_KEY, loan_ref="L-2"))
        registry.record_account_event(account_event(country="ZA", loan_ref="L-3"))
        assert [a.loan_ref for a in registry.credit_file(country="LS", borrower_key=KEY).accounts] == ["L-1"]
        assert [a.loan_ref for a in registry.credit_file(country="LS", borrower_key=OTHER_KEY).accounts] == ["L-2"]
        assert [a.loan_ref for a in registry.credit_file(country="ZA", borrower_key=KEY).accounts] == ["L-3"]

    def test_accounts_are_ordered_by_lender_then_loan(self, registry: CreditRegistry) -> None:
        for lender, loan in [("tsepo", "A"), ("khotso", "B"), ("khotso", "A")]:
            registry.record_account_event(account_event(lender_mfi=lender, loan_ref=loan))
        accounts = registry.credit_file(country="LS", borrower_key=KEY).accounts
        assert [(a.lender_mfi, a.loan_ref) for a in accounts] == [("khotso", "A"), ("khotso", "B"), ("tsepo", "A")]

    def test_weekly_installment_is_reported_per_month(self, registry: CreditRegistry) -> None:
        registry.record_account_event(account_event(installment_amount="100.00", repayment_frequency="weekly"))
        (account,) = registry.credit_file(country="LS", borrower_key=KEY).accounts
        assert account.installment_amount == Decimal("100.00")
        assert account.monthly_installment == Decimal("433.33")

    def test_inquiries_are_recorded_once_in_time_order(self, registry: CreditRegistry) -> None:
        later = inquiry("I-2", at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC), lender_mfi="khotso")
        earlier = inquiry("I-1", at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC))
        registry.record_inquiry(later)
        registry.record_inquiry(earlier)
        registry.record_inquiry(earlier)
        registry.record_inquiry(inquiry("I-3", at=datetime(2026, 3, 3, tzinfo=UTC), borrower_key=OTHER_KEY))
        file = registry.credit_file(country="LS", borrower_key=KEY)
        assert [i.inquiry_id for i in file.inquiries] == ["I-1", "I-2"]
        assert file.inquiries[0] == earlier

    def test_dispute_of_an_unknown_account_is_refused(self, registry: CreditRegistry) -> None:
        with pytest.raises(NotFound):
            registry.open_dispute(dispute())
        assert registry.credit_file(country="LS", borrower_key=KEY).disputes == ()

    def test_dispute_is_open_until_the_contributing_mfi_resolves_it(self, registry: CreditRegistry) -> None:
        registry.record_account_event(account_event())
        registry.open_dispute(dispute())
        registry.open_dispute(dispute())
        (opened,) = registry.credit_file(country="LS", borrower_key=KEY).disputes
        assert opened.status is DisputeStatus.OPEN
        with pytest.raises(DisputeNotOwned):
            registry.resolve_dispute(
                dispute_id="D-1", by_mfi="tsepo", resolution="n/a", at=datetime(2026, 3, 2, tzinfo=UTC)
            )
        assert registry.credit_file(country="LS", borrower_key=KEY).disputes[0].status is DisputeStatus.OPEN
        resolved = registry.resolve_dispute(
            dispute_id="D-1", by_mfi="khotso", resolution="balance corrected", at=datetime(2026, 3, 3, tzinfo=UTC)
        )
        assert resolved.status is DisputeStatus.RESOLVED
        assert registry.credit_file(country="LS", borrower_key=KEY).disputes == (resolved,)
        assert resolved.resolution == "balance corrected"
        assert resolved.resolved_at == datetime(2026, 3, 3, tzinfo=UTC)

    def test_resolving_twice_or_an_unknown_dispute_is_refused(self, registry: CreditRegistry) -> None:
        registry.record_account_event(account_event())
        registry.open_dispute(dispute())
        at = datetime(2026, 3, 3, tzinfo=UTC)
        registry.resolve_dispute(dispute_id="D-1", by_mfi="khotso", resolution="corrected", at=at)
        with pytest.raises(InvalidTransition):
            registry.resolve_dispute(dispute_id="D-1", by_mfi="khotso", resolution="again", at=at)
        with pytest.raises(NotFound):
            registry.resolve_dispute(dispute_id="D-404", by_mfi="khotso", resolution="x", at=at)


def _fields(event: CreditAccountEvent) -> dict[str, Any]:
    payload = event.to_dict()
    for name in ("schema_version", "event_id"):
        payload.pop(name)
    payload["as_of"] = event.as_of
    payload["opened_on"] = event.opened_on
    return payload
