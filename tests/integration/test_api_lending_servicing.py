"""Loan servicing over HTTP beyond the journey: write-off, the audit trail of a repayment, journal
filters, and a disbursement that fails halfway leaving nothing behind."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.test_api_lending_support import (
    apply,
    approved_loan,
    as_role,
    borrower_id,
    error,
    ok,
    product_id,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

__all__ = ["as_role", "borrower_id", "product_id"]  # fixtures


class TestWriteOff:
    def test_a_branch_manager_writes_off_and_the_books_and_registry_follow(
        self, as_role: Any, borrower_id: str, product_id: str
    ) -> None:
        from letsema_api.outbox.models import OutboxEvent

        officer, manager, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        ok(
            officer.post(
                f"/api/v1/loans/{loan_id}/repayments/",
                {"amount": "945.60", "on": "2026-02-05"},
                **{"Idempotency-Key": f"wo-{uuid.uuid4()}"},
            ),
            201,
        )
        error(officer.post(f"/api/v1/loans/{loan_id}/write-off/", {"on": "2026-09-30"}), 403, "role_not_allowed")
        written = ok(manager.post(f"/api/v1/loans/{loan_id}/write-off/", {"on": "2026-09-30"}))
        assert (written["status"], written["written_off_on"], written["outstanding_principal"]) == (
            "written_off",
            "2026-09-30",
            "0.00",
        )
        auditor = as_role("auditor")
        [entry] = ok(auditor.get("/api/v1/journal-entries/", loan=loan_id, account="5000"))["results"]
        assert entry["on"] == "2026-09-30"
        assert {(line["account_code"], line["debit"], line["credit"]) for line in entry["lines"]} == {
            ("5000", "9254.40", "0.00"),
            ("1100", "0.00", "9254.40"),
        }
        last = OutboxEvent.objects.filter(loan_ref=loan_id).order_by("-sequence").first()
        assert last is not None
        assert (last.event_type, last.payload["outstanding_balance"], last.payload["status"]) == (
            "written_off",
            "9254.40",
            "written_off",
        )
        error(
            officer.post(
                f"/api/v1/loans/{loan_id}/repayments/",
                {"amount": "10.00", "on": "2026-10-01"},
                **{"Idempotency-Key": f"wo-{uuid.uuid4()}"},
            ),
            409,
            "illegal_loan_transition",
        )


class TestAuditAndJournal:
    def test_a_repayment_is_audited_with_who_before_after_and_the_request_id(
        self, as_role: Any, borrower_id: str, product_id: str
    ) -> None:
        from letsema_api.common.models import AuditEvent

        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        response = officer.post(
            f"/api/v1/loans/{loan_id}/repayments/",
            {"amount": "945.60", "on": "2026-02-05"},
            **{"Idempotency-Key": f"au-{uuid.uuid4()}", "X-Request-ID": f"req-{uuid.uuid4().hex}"},
        )
        paid = ok(response, 201)
        event = AuditEvent.objects.get(entity="loan", entity_id=loan_id, action="loan.repayment")
        assert event.actor == officer.user.username
        assert event.request_id == response["X-Request-ID"]
        assert event.before["outstanding_principal"] == "10000.00"
        assert (event.after["outstanding_principal"], event.after["transaction_id"]) == ("9254.40", paid["id"])
        actions = set(AuditEvent.objects.filter(entity_id=loan_id).values_list("action", flat=True))
        assert actions == {"loan.open", "loan.repayment"}

    def test_journal_entries_filter_by_date_account_and_loan(
        self, as_role: Any, borrower_id: str, product_id: str
    ) -> None:
        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        for on in ("2026-02-05", "2026-03-05"):
            ok(
                officer.post(
                    f"/api/v1/loans/{loan_id}/repayments/",
                    {"amount": "945.60", "on": on},
                    **{"Idempotency-Key": f"jf-{uuid.uuid4()}"},
                ),
                201,
            )
        auditor = as_role("auditor")
        entries = ok(auditor.get("/api/v1/journal-entries/", loan=loan_id))["results"]
        assert [e["on"] for e in entries] == ["2026-01-05", "2026-02-05", "2026-03-05"]
        march = ok(auditor.get("/api/v1/journal-entries/", loan=loan_id, date_from="2026-03-01", date_to="2026-03-31"))
        assert [e["on"] for e in march["results"]] == ["2026-03-05"]
        interest = ok(auditor.get("/api/v1/journal-entries/", loan=loan_id, account="4000"))["results"]
        assert [line["credit"] for e in interest for line in e["lines"] if line["account_code"] == "4000"] == [
            "200.00",
            "185.09",
        ]
        error(auditor.get("/api/v1/journal-entries/", date_from="March"), 400, "validation_error")
        assert error(auditor.get("/api/v1/journal-entries/", lone=loan_id), 400, "validation_error")["details"] == {
            "field": "lone",
            "rule": "unknown_field",
        }
        error(auditor.client.get(f"/api/v1/journal-entries/?loan={loan_id}&loan=x"), 400, "validation_error")


class TestDisbursementIsAtomic:
    def test_a_disbursement_that_fails_halfway_leaves_nothing(
        self, as_role: Any, borrower_id: str, product_id: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from letsema_api.ledger.models import JournalEntry
        from letsema_api.lending.models import Loan
        from letsema_api.outbox.repositories import DjangoOutbox

        officer, manager = as_role("loan_officer"), as_role("branch_manager")
        application_id = apply(officer, borrower_id=borrower_id, product_id=product_id)
        ok(officer.post(f"/api/v1/loan-applications/{application_id}/assess/"))
        ok(manager.post(f"/api/v1/loan-applications/{application_id}/approve/"))
        loans_before, entries_before = Loan.objects.count(), JournalEntry.objects.count()

        def outbox_down(self: Any, event: Any) -> None:
            raise RuntimeError("outbox table unavailable")

        monkeypatch.setattr(DjangoOutbox, "append", outbox_down)
        response = officer.post(f"/api/v1/loan-applications/{application_id}/disburse/", {"disbursed_on": "2026-01-05"})
        assert response.status_code == 500
        assert (Loan.objects.count(), JournalEntry.objects.count()) == (loans_before, entries_before)
        assert ok(officer.get(f"/api/v1/loan-applications/{application_id}/"))["status"] == "approved"
        monkeypatch.undo()
        assert ok(officer.post(f"/api/v1/loan-applications/{application_id}/disburse/"), 201)["status"] == "active"


class TestRetriedWrites:
    def test_a_retried_application_or_disbursement_with_its_key_happens_once(
        self, as_role: Any, borrower_id: str, product_id: str
    ) -> None:
        from letsema_api.lending.models import Loan, LoanApplication

        officer, manager = as_role("loan_officer"), as_role("branch_manager")
        body = {"borrower_id": borrower_id, "product_id": product_id, "principal": "10000.00", "term_in_periods": 12}
        key = {"Idempotency-Key": f"app-{uuid.uuid4()}"}
        first = officer.post("/api/v1/loan-applications/", body, **key)
        again = officer.post("/api/v1/loan-applications/", body, **key)
        assert ok(again, 201) == ok(first, 201)
        assert again["Idempotent-Replayed"] == "true"
        assert LoanApplication.objects.filter(borrower_id=borrower_id).count() == 1
        error(
            officer.post("/api/v1/loan-applications/", {**body, "term_in_periods": 6}, **key),
            409,
            "idempotency_key_conflict",
        )
        # A key is its caller's own: another user's same key is another request.
        other = ok(manager.post("/api/v1/loan-applications/", {**body, "term_in_periods": 6}, **key), 201)
        assert other["id"] != ok(first, 201)["id"]

        application_id = ok(first, 201)["id"]
        ok(officer.post(f"/api/v1/loan-applications/{application_id}/submit/"))
        ok(officer.post(f"/api/v1/loan-applications/{application_id}/assess/"))
        ok(manager.post(f"/api/v1/loan-applications/{application_id}/approve/"))
        url = f"/api/v1/loan-applications/{application_id}/disburse/"
        key = {"Idempotency-Key": f"dis-{uuid.uuid4()}"}
        loan = ok(officer.post(url, {"disbursed_on": "2026-01-05"}, **key), 201)
        assert ok(officer.post(url, {"disbursed_on": "2026-01-05"}, **key), 201) == loan
        assert Loan.objects.filter(application_ref=application_id).count() == 1
        error(officer.post(url, {"disbursed_on": "2026-01-05"}), 409, "illegal_application_transition")
