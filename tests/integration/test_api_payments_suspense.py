"""The suspense queue over HTTP: listing and filtering, resolving an item onto a loan (a repayment from
suspense, any excess kept as a new item), refunds, idempotent resolution and who may do what."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.test_api_lending_support import (
    approved_loan,
    as_role,
    borrower_id,
    error,
    ok,
    product_id,
)
from tests.integration.test_api_payments import (
    CASH,
    SUSPENSE,
    Gateway,
    gateway,
    journal_lines,
    loan_transactions,
    payment,
    trial_balance_is_balanced,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

__all__ = ["as_role", "borrower_id", "gateway", "product_id"]  # fixtures

SUSPENSE_URL = "/api/v1/payments/suspense/"


def held(gateway: Gateway, amount: str, *, reference: str | None = None, on: str = "2026-02-05") -> dict[str, Any]:
    """A receipt sent to suspense (unmatched unless ``reference`` names a loan it exceeds)."""
    body: dict[str, Any] = ok(gateway.post(payment(reference or f"unknown-{uuid.uuid4().hex[:8]}", amount, on=on)), 202)
    assert body["status"] == "suspense"
    return body


def resolve(user: Any, item_id: str, body: dict[str, Any]) -> Any:
    return user.post(f"{SUSPENSE_URL}{item_id}/resolve/", body)


class TestSuspenseList:
    def test_items_are_listed_newest_first_and_filter_by_status_reason_and_date(
        self, as_role: Any, gateway: Gateway
    ) -> None:
        first = held(gateway, "11.00", on="2026-03-01")
        second = held(gateway, "12.00", on="2026-03-02")
        officer = as_role("loan_officer")
        listed = ok(officer.get(SUSPENSE_URL, status="open", reason="unmatched", page_size="200"))
        ids = [item["id"] for item in listed["results"]]
        assert ids.index(second["suspense_id"]) < ids.index(first["suspense_id"])
        day = ok(officer.get(SUSPENSE_URL, received_from="2026-03-02", received_to="2026-03-02", page_size="200"))
        assert second["suspense_id"] in {item["id"] for item in day["results"]}
        assert first["suspense_id"] not in {item["id"] for item in day["results"]}
        assert all(item["received_on"] == "2026-03-02" for item in day["results"])
        [one] = ok(officer.get(SUSPENSE_URL, receipt_number=first["receipt_number"]))["results"]
        assert (one["amount"], one["reason"], one["status"]) == ("11.00", "unmatched", "open")
        assert ok(officer.get(SUSPENSE_URL, status="refunded", receipt_number=first["receipt_number"]))["results"] == []
        error(officer.get(SUSPENSE_URL, status="lost"), 400, "validation_error")
        error(officer.get(SUSPENSE_URL, received_from="March"), 400, "validation_error")

    def test_an_integration_client_cannot_list_suspense_and_an_auditor_reads_but_cannot_resolve(
        self, as_role: Any, gateway: Gateway, borrower_id: str, product_id: str
    ) -> None:
        _, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        item = held(gateway, "20.00")
        integration = as_role("integration")
        error(integration.get(SUSPENSE_URL), 403, "role_not_allowed")
        error(integration.get(f"{SUSPENSE_URL}{item['suspense_id']}/"), 403, "role_not_allowed")
        error(
            resolve(integration, item["suspense_id"], {"action": "assign", "loan_id": loan_id}), 403, "role_not_allowed"
        )
        auditor = as_role("auditor")
        assert ok(auditor.get(f"{SUSPENSE_URL}{item['suspense_id']}/"))["status"] == "open"
        assert len(ok(auditor.get(SUSPENSE_URL, receipt_number=item["receipt_number"]))["results"]) == 1
        error(resolve(auditor, item["suspense_id"], {"action": "assign", "loan_id": loan_id}), 403, "role_not_allowed")
        error(resolve(auditor, item["suspense_id"], {"action": "refund", "reference": "R-1"}), 403, "role_not_allowed")
        assert ok(auditor.get(f"{SUSPENSE_URL}{item['suspense_id']}/"))["status"] == "open"
        assert loan_transactions(loan_id) == [("disbursement", "10000.00")]


class TestRoles:
    @pytest.mark.parametrize(
        ("role", "reads", "resolves"),
        [
            ("mfi_admin", 200, 200),
            ("branch_manager", 200, 200),
            ("loan_officer", 200, 200),
            ("auditor", 200, 403),
            ("integration", 403, 403),
        ],
    )
    def test_each_role_reads_and_resolves_as_domain_md_says(
        self, as_role: Any, gateway: Gateway, role: str, reads: int, resolves: int
    ) -> None:
        item = held(gateway, "5.00")
        user = as_role(role)
        assert user.get(SUSPENSE_URL).status_code == reads
        assert user.get(f"{SUSPENSE_URL}{item['suspense_id']}/").status_code == reads
        refund = resolve(user, item["suspense_id"], {"action": "refund", "reference": f"R-{role}"})
        assert refund.status_code == resolves, refund.content
        status = ok(as_role("auditor").get(f"{SUSPENSE_URL}{item['suspense_id']}/"))["status"]
        assert status == ("refunded" if resolves == 200 else "open")

    def test_a_token_without_the_write_scope_cannot_resolve(
        self, make_user: Any, bearer: Any, gateway: Gateway
    ) -> None:
        from tests.integration.test_api_lending_support import Http

        officer = make_user("loan_officer")
        reader = Http(officer, bearer(officer, "read"))
        item = held(gateway, "6.00")
        assert ok(reader.get(f"{SUSPENSE_URL}{item['suspense_id']}/"))["status"] == "open"
        error(resolve(reader, item["suspense_id"], {"action": "refund", "reference": "R-x"}), 403, "insufficient_scope")


class TestResolveOntoALoan:
    def test_an_unmatched_receipt_assigned_to_a_loan_is_repaid_from_suspense(
        self, as_role: Any, gateway: Gateway, borrower_id: str, product_id: str
    ) -> None:
        from letsema_api.common.models import AuditEvent
        from letsema_api.lending.models import LoanTransaction

        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        item = held(gateway, "945.60")
        done = ok(resolve(officer, item["suspense_id"], {"action": "assign", "loan_id": loan_id}))
        resolved = done["item"]
        assert done["remainder"] is None
        assert (resolved["status"], resolved["resolved_loan_id"], resolved["applied_amount"]) == (
            "resolved",
            loan_id,
            "945.60",
        )
        assert resolved["resolved_by"] == officer.user.username
        txn = LoanTransaction.objects.get(id=resolved["resolved_transaction_id"])
        # Dated the day the money arrived, not the day it was resolved.
        assert (txn.kind, f"{txn.amount:.2f}", txn.on.isoformat(), txn.external_ref) == (
            "repayment",
            "945.60",
            "2026-02-05",
            item["receipt_number"],
        )
        assert (f"{txn.principal:.2f}", f"{txn.interest:.2f}") == ("745.60", "200.00")
        moved = f"suspense-{item['suspense_id']}-to-{txn.id}"
        assert journal_lines(moved) == {(SUSPENSE, "945.60", "0.00"), (CASH, "0.00", "945.60")}
        assert trial_balance_is_balanced(as_role("auditor"))
        event = AuditEvent.objects.get(entity="suspense_item", entity_id=item["suspense_id"], action="suspense.assign")
        assert (event.actor, event.before["status"], event.after["status"]) == (
            officer.user.username,
            "open",
            "resolved",
        )

    def test_an_item_above_the_payoff_repays_the_loan_and_keeps_the_excess_as_a_new_item(
        self, as_role: Any, gateway: Gateway, borrower_id: str, product_id: str
    ) -> None:
        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        payoff = ok(officer.get(f"/api/v1/loans/{loan_id}/payoff/", as_of="2026-02-05"))["payoff_amount"]
        amount = f"{Decimal(payoff) + Decimal('150.25'):.2f}"
        item = held(gateway, amount, reference=loan_id)
        assert item["reason"] == "exceeds_payoff"
        done = ok(
            resolve(officer, item["suspense_id"], {"action": "assign", "loan_id": loan_id, "remainder": "refund_due"})
        )
        assert done["item"]["applied_amount"] == payoff
        remainder = done["remainder"]
        assert (remainder["amount"], remainder["status"], remainder["reason"], remainder["parent_id"]) == (
            "150.25",
            "refund_due",
            "exceeds_payoff",
            item["suspense_id"],
        )
        assert remainder["payoff_at_receipt"] == payoff
        loan = ok(officer.get(f"/api/v1/loans/{loan_id}/"))
        assert (loan["status"], loan["outstanding_principal"]) == ("closed", "0.00")
        refunded = ok(resolve(officer, remainder["id"], {"action": "refund", "reference": "MPESA-B2C-77"}))["item"]
        assert (refunded["status"], refunded["refund_reference"]) == ("refunded", "MPESA-B2C-77")
        assert journal_lines(f"suspense-{remainder['id']}-refund") == {
            (SUSPENSE, "150.25", "0.00"),
            (CASH, "0.00", "150.25"),
        }
        assert trial_balance_is_balanced(as_role("auditor"))

    def test_resolving_again_with_the_same_request_changes_nothing_and_another_request_is_refused(
        self, as_role: Any, gateway: Gateway, borrower_id: str, product_id: str
    ) -> None:
        from letsema_api.ledger.models import JournalEntry

        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        item = held(gateway, "300.00")
        request = {"action": "assign", "loan_id": loan_id, "on": "2026-02-10"}
        first = resolve(officer, item["suspense_id"], request)
        entries = JournalEntry.objects.count()
        again = resolve(officer, item["suspense_id"], request)
        assert (again.status_code, again.json()) == (first.status_code, first.json())
        assert again["Idempotent-Replayed"] == "true"
        assert loan_transactions(loan_id) == [("disbursement", "10000.00"), ("repayment", "300.00")]
        assert JournalEntry.objects.count() == entries
        error(
            resolve(officer, item["suspense_id"], {"action": "refund", "reference": "R-9"}), 409, "suspense_item_closed"
        )

    def test_an_item_cannot_be_assigned_to_a_loan_that_is_not_active_or_does_not_exist(
        self, as_role: Any, gateway: Gateway, borrower_id: str, product_id: str
    ) -> None:
        _, manager, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        ok(manager.post(f"/api/v1/loans/{loan_id}/write-off/", {"on": "2026-09-30"}))
        item = held(gateway, "50.00", on="2026-10-01")
        error(
            resolve(manager, item["suspense_id"], {"action": "assign", "loan_id": loan_id}),
            409,
            "illegal_loan_transition",
        )
        error(resolve(manager, item["suspense_id"], {"action": "assign", "loan_id": "no-such-loan"}), 404, "not_found")
        error(resolve(manager, item["suspense_id"], {"action": "assign"}), 400, "validation_error")
        early = error(
            resolve(manager, item["suspense_id"], {"action": "refund", "reference": "R-2", "on": "2026-09-30"}),
            400,
            "validation_error",
        )
        assert early["details"]["rule"] == "refund_date"
        error(resolve(manager, item["suspense_id"], {"action": "refund"}), 400, "validation_error")
        assert ok(manager.get(f"{SUSPENSE_URL}{item['suspense_id']}/"))["status"] == "open"
        error(manager.get(f"{SUSPENSE_URL}no-such-item/"), 404, "not_found")

    def test_a_repayment_from_suspense_cannot_be_dated_before_the_money_arrived(
        self, as_role: Any, gateway: Gateway, borrower_id: str, product_id: str
    ) -> None:
        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        item = held(gateway, "100.00", on="2026-03-10")
        refused = error(
            resolve(officer, item["suspense_id"], {"action": "assign", "loan_id": loan_id, "on": "2026-03-09"}),
            400,
            "validation_error",
        )
        assert (refused["details"]["field"], refused["details"]["rule"]) == ("on", "not_before_receipt")
        assert loan_transactions(loan_id) == [("disbursement", "10000.00")]
