"""Registry account events: payloads, validation and the merge rule; monthly equivalents; disputes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from letsema_core.credit import (
    SCHEMA_VERSION,
    AccountEventType,
    AccountMismatch,
    CreditAccountEvent,
    apply_account_event,
    monthly_equivalent,
)
from letsema_core.errors import ValidationError
from tests.contracts import trap_float_operations  # noqa: F401  (autouse: floats trapped)
from tests.contracts.credit_registry import account_event, dispute

pytestmark = pytest.mark.unit


class TestMonthlyEquivalent:
    @pytest.mark.parametrize(
        ("amount", "frequency", "monthly"),
        [
            # 100 × 52 / 12 = 433.333… → 433.33; 250 × 26 / 12 = 541.666… → 541.67
            ("100.00", "weekly", "433.33"),
            ("250.00", "fortnightly", "541.67"),
            ("945.60", "monthly", "945.60"),
            # 0.15 × 52 / 12 = 0.65 exactly; 0.03 × 26 / 12 = 0.065 → half-up 0.07
            ("0.15", "weekly", "0.65"),
            ("0.03", "fortnightly", "0.07"),
        ],
    )
    def test_converts_and_rounds_half_up(self, amount: str, frequency: str, monthly: str) -> None:
        assert monthly_equivalent(installment_amount=Decimal(amount), repayment_frequency=frequency) == Decimal(monthly)

    def test_unknown_frequency_is_refused(self) -> None:
        with pytest.raises(ValidationError) as excinfo:
            monthly_equivalent(installment_amount=Decimal(1), repayment_frequency="daily")
        assert (excinfo.value.field, excinfo.value.rule) == ("repayment_frequency", "choice")


class TestCreditAccountEventPayload:
    def test_to_dict_is_json_safe_with_money_as_strings(self) -> None:
        event = account_event(principal=Decimal("10000"), outstanding_balance="9254.4")
        payload = event.to_dict()
        assert json.loads(json.dumps(payload)) == payload
        assert payload["schema_version"] == SCHEMA_VERSION == 1
        assert payload["principal"] == "10000.00"
        assert payload["outstanding_balance"] == "9254.40"
        assert payload["as_of"] == "2026-01-10"
        assert payload["event_type"] == "account_opened"

    def test_from_dict_rebuilds_the_same_event(self) -> None:
        event = account_event(days_past_due=12, status="active", event_type="arrears_changed", sequence=4)
        assert CreditAccountEvent.from_dict(json.loads(json.dumps(event.to_dict()))) == event

    def test_event_id_is_deterministic_per_lender_loan_and_sequence(self) -> None:
        first = account_event(sequence=2)
        assert first.event_id == account_event(sequence=2, days_past_due=9).event_id
        assert (
            len(
                {first.event_id, account_event(sequence=3).event_id, account_event(loan_ref="L-9", sequence=2).event_id}
            )
            == 3
        )
        assert first.event_id == CreditAccountEvent.make_event_id(lender_mfi="khotso", loan_ref="L-1", sequence=2)

    @pytest.mark.parametrize(
        ("change", "field", "rule"),
        [
            ({"schema_version": 2}, "schema_version", "supported_version"),
            ({"event_id": "forged"}, "event_id", "match"),
            ({"principal": 10000.0}, "principal", "decimal"),
        ],
    )
    def test_from_dict_refuses_bad_payloads(self, change: dict[str, Any], field: str, rule: str) -> None:
        payload = {**account_event().to_dict(), **change}
        with pytest.raises(ValidationError) as excinfo:
            CreditAccountEvent.from_dict(payload)
        assert (excinfo.value.field, excinfo.value.rule) == (field, rule)

    def test_from_dict_names_a_missing_field(self) -> None:
        payload = account_event().to_dict()
        del payload["loan_ref"]
        with pytest.raises(ValidationError) as excinfo:
            CreditAccountEvent.from_dict(payload)
        assert (excinfo.value.field, excinfo.value.rule) == ("loan_ref", "required")

    @pytest.mark.parametrize(
        ("overrides", "field", "rule"),
        [
            ({"borrower_key": ""}, "borrower_key", "required"),
            ({"sequence": 0}, "sequence", "min_value"),
            ({"days_past_due": -1}, "days_past_due", "min_value"),
            ({"outstanding_balance": "-1"}, "outstanding_balance", "min_value"),
            ({"status": "frozen"}, "status", "choice"),
            ({"event_type": "renamed"}, "event_type", "choice"),
            ({"repayment_frequency": "daily"}, "repayment_frequency", "choice"),
        ],
    )
    def test_create_refuses_invalid_fields(self, overrides: dict[str, Any], field: str, rule: str) -> None:
        with pytest.raises(ValidationError) as excinfo:
            account_event(**overrides)
        assert (excinfo.value.field, excinfo.value.rule) == (field, rule)

    def test_event_types_cover_every_registry_update(self) -> None:
        assert {t.value for t in AccountEventType} == {
            "account_opened",
            "repayment",
            "repayment_reversed",
            "arrears_changed",
            "written_off",
            "closed",
        }


class TestApplyAccountEvent:
    def test_event_of_another_loan_is_refused(self) -> None:
        account = apply_account_event(None, account_event())
        with pytest.raises(AccountMismatch):
            apply_account_event(account, account_event(loan_ref="L-2", sequence=2))

    def test_earliest_write_off_date_is_kept(self) -> None:
        account = apply_account_event(
            None, account_event(sequence=5, status="written_off", as_of=date(2026, 7, 1), days_past_due=120)
        )
        account = apply_account_event(
            account, account_event(sequence=4, status="written_off", as_of=date(2026, 6, 1), days_past_due=95)
        )
        account = apply_account_event(
            account, account_event(sequence=6, status="written_off", as_of=date(2026, 8, 1), days_past_due=150)
        )
        assert account.written_off_on == date(2026, 6, 1)
        assert account.dpd_by_month == (("2026-06", 95), ("2026-07", 120), ("2026-08", 150))

    def test_monthly_history_keeps_each_months_worst(self) -> None:
        account = apply_account_event(None, account_event(as_of=date(2026, 3, 1), days_past_due=10))
        account = apply_account_event(account, account_event(sequence=2, as_of=date(2026, 3, 20), days_past_due=29))
        account = apply_account_event(account, account_event(sequence=3, as_of=date(2026, 3, 25), days_past_due=0))
        assert account.dpd_by_month == (("2026-03", 29),)
        assert account.days_past_due == 0
        assert account.worst_days_past_due_since("2026-03") == 29
        assert account.worst_days_past_due_since("2026-04") == 0


class TestCreditDispute:
    def test_resolution_text_is_required(self) -> None:
        with pytest.raises(ValidationError) as excinfo:
            dispute().resolve(by_mfi="khotso", resolution=" ", at=datetime(2026, 3, 2, tzinfo=UTC))
        assert (excinfo.value.field, excinfo.value.rule) == ("resolution", "required")
