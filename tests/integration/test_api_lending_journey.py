"""The lending journey over HTTP on one tenant (real PostgreSQL, OpenBao, MongoDB-protocol registry):
apply, submit, assess, approve by another user, disburse, repay (one Idempotency-Key repeated), reverse,
schedule and statement to the cent, close of business (twice = once) and a balanced trial balance.
Also: maker-checker, approval limits and who may call what.

Requests go through DRF's ``APIClient`` with real OAuth access tokens (``bearer`` fixture: rows in
django-oauth-toolkit's table, checked by its authentication class on every request)."""

from __future__ import annotations

from decimal import Decimal
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


class TestLendingJourney:
    def test_the_whole_journey_is_correct_to_the_cent(
        self, as_role: Any, borrower_id: str, product_id: str, django_api: Any
    ) -> None:
        from django.core.management import call_command
        from letsema_api.outbox.models import OutboxEvent

        officer, manager, auditor = as_role("loan_officer"), as_role("branch_manager"), as_role("auditor")
        application_id = apply(officer, borrower_id=borrower_id, product_id=product_id)

        # Credit check mandatory: no approval before an assessment.
        error(manager.post(f"/api/v1/loan-applications/{application_id}/approve/"), 422, "credit_check_required")
        assessed = ok(officer.post(f"/api/v1/loan-applications/{application_id}/assess/"))
        assessment = assessed["assessment"]
        assert assessment["new_monthly_installment"] == "945.60"
        assert assessment["monthly_income"] == "12000.00"
        assert assessment["report"]["totals"]["active_loans"] == 0

        # A loan officer never approves; a branch manager who did not make it does.
        error(officer.post(f"/api/v1/loan-applications/{application_id}/approve/"), 403, "role_not_allowed")
        approved = ok(manager.post(f"/api/v1/loan-applications/{application_id}/approve/"))
        assert (approved["status"], approved["decided_by"]) == ("approved", manager.user.username)

        loan = ok(
            officer.post(f"/api/v1/loan-applications/{application_id}/disburse/", {"disbursed_on": "2026-01-05"}), 201
        )
        loan_id = loan["id"]
        assert (loan["status"], loan["principal"], loan["outstanding_principal"]) == ("active", "10000.00", "10000.00")
        assert loan["officer"] == officer.user.username
        detail = ok(officer.get(f"/api/v1/loan-applications/{application_id}/"))
        assert (detail["loan_id"], detail["status"]) == (loan_id, "disbursed")
        assert detail["assessment"] == assessment
        opened = OutboxEvent.objects.get(loan_ref=loan_id)
        assert (opened.event_type, opened.status, opened.sequence) == ("account_opened", "pending", 1)

        schedule = ok(officer.get(f"/api/v1/loans/{loan_id}/schedule/"))
        assert [i["total_due"] for i in schedule] == ["945.60"] * 11 + ["945.55"]
        assert sum(Decimal(i["interest_due"]) for i in schedule) == Decimal("1347.15")
        assert (schedule[0]["due_date"], schedule[0]["principal_due"], schedule[0]["interest_due"]) == (
            "2026-02-05",
            "745.60",
            "200.00",
        )

        # Repay twice; the first key is sent twice (the repeat moves nothing), then reused for another body.
        url = f"/api/v1/loans/{loan_id}/repayments/"
        error(officer.post(url, {"amount": "945.60", "on": "2026-02-05"}), 400, "validation_error")
        first = ok(
            officer.post(url, {"amount": "945.60", "on": "2026-02-05"}, **{"Idempotency-Key": "pay-0001-key"}), 201
        )
        assert (first["principal"], first["interest"], first["outstanding_principal"]) == (
            "745.60",
            "200.00",
            "9254.40",
        )
        repeat = officer.post(url, {"amount": "945.60", "on": "2026-02-05"}, **{"Idempotency-Key": "pay-0001-key"})
        assert ok(repeat, 201) == first
        assert repeat["Idempotent-Replayed"] == "true"
        error(
            officer.post(url, {"amount": "900.00", "on": "2026-02-05"}, **{"Idempotency-Key": "pay-0001-key"}),
            409,
            "idempotency_key_conflict",
        )
        second = ok(
            officer.post(url, {"amount": "945.60", "on": "2026-03-05"}, **{"Idempotency-Key": "pay-0002-key"}), 201
        )
        assert (second["principal"], second["interest"], second["outstanding_principal"]) == (
            "760.51",
            "185.09",
            "8493.89",
        )

        # Above the payoff: refused with the payoff amount, which the payoff endpoint agrees with.
        payoff = ok(officer.get(f"/api/v1/loans/{loan_id}/payoff/", as_of="2026-03-06"))["payoff_amount"]
        refused = error(
            officer.post(url, {"amount": "99999.00", "on": "2026-03-06"}, **{"Idempotency-Key": "pay-0003-key"}),
            422,
            "overpayment_refused",
        )
        assert refused["details"]["payoff_amount"] == payoff == "8663.77"  # 8493.89 + 169.88 interest of March

        # Reverse the second repayment: the money comes back on the loan.
        reversal = ok(officer.post(f"/api/v1/repayments/{second['id']}/reverse/", {"on": "2026-03-06"}), 201)
        assert (reversal["kind"], reversal["reverses"], reversal["outstanding_principal"]) == (
            "repayment_reversal",
            second["id"],
            "9254.40",
        )
        error(
            officer.post(f"/api/v1/repayments/{second['id']}/reverse/", {"on": "2026-03-06"}),
            409,
            "repayment_already_reversed",
        )

        statement = ok(officer.get(f"/api/v1/loans/{loan_id}/statement/"))
        assert [(s["kind"], s["amount"], s["reversed"], s["outstanding_principal"]) for s in statement] == [
            ("disbursement", "10000.00", False, "10000.00"),
            ("repayment", "945.60", False, "9254.40"),
            ("repayment", "945.60", True, "8493.89"),
            ("repayment_reversal", "945.60", False, "9254.40"),
        ]
        schedule = ok(officer.get(f"/api/v1/loans/{loan_id}/schedule/"))
        assert (schedule[0]["principal_outstanding"], schedule[0]["interest_outstanding"]) == ("0.00", "0.00")
        assert (schedule[1]["principal_outstanding"], schedule[1]["interest_outstanding"]) == ("760.51", "185.09")

        # Close of business on 10 March: installment 2 is 5 days late (grace 3) → 5 % penalty, bucket 1-30.
        call_command("close_of_business", as_of="2026-03-10", no_progress=True)
        after_first = ok(officer.get(f"/api/v1/loans/{loan_id}/"))
        assert (after_first["days_past_due"], after_first["arrears_bucket"]) == (5, "1-30")
        assert ok(officer.get(f"/api/v1/loans/{loan_id}/schedule/"))[1]["penalties_outstanding"] == "47.28"
        events = OutboxEvent.objects.filter(loan_ref=loan_id).count()
        entries = len(ok(auditor.get("/api/v1/journal-entries/", loan=loan_id, page_size=200))["results"])
        call_command("close_of_business", as_of="2026-03-10", no_progress=True)
        assert ok(officer.get(f"/api/v1/loans/{loan_id}/")) == after_first
        assert OutboxEvent.objects.filter(loan_ref=loan_id).count() == events
        assert len(ok(auditor.get("/api/v1/journal-entries/", loan=loan_id, page_size=200))["results"]) == entries
        assert ok(officer.get(f"/api/v1/loans/{loan_id}/schedule/"))[1]["penalties_outstanding"] == "47.28"

        # The books: the loan's entries leave exactly its outstanding principal in loans receivable.
        journal = ok(auditor.get("/api/v1/journal-entries/", loan=loan_id, page_size=200))["results"]
        receivable = sum(
            Decimal(line["debit"]) - Decimal(line["credit"])
            for e in journal
            for line in e["lines"]
            if line["account_code"] == "1100"
        )
        assert receivable == Decimal("9254.40")
        trial = ok(auditor.get("/api/v1/reports/trial-balance/", as_of="2026-12-31"))
        assert trial["is_balanced"] is True
        assert trial["total_debits"] == trial["total_credits"]
        assert {r["account_code"] for r in trial["rows"]} >= {"1000", "1100", "4000"}

        listed = ok(officer.get("/api/v1/loans/", arrears_bucket="1-30", officer=officer.user.username))
        assert [row["id"] for row in listed["results"]] == [loan_id]

    def test_an_auditor_reads_but_never_writes_and_an_integration_only_posts_repayments(
        self, as_role: Any, borrower_id: str, product_id: str
    ) -> None:
        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        auditor, integration = as_role("auditor"), as_role("integration")
        ok(auditor.get(f"/api/v1/loans/{loan_id}/statement/"))
        ok(auditor.get("/api/v1/journal-entries/"))
        url = f"/api/v1/loans/{loan_id}/repayments/"
        error(
            auditor.post(url, {"amount": "10.00", "on": "2026-02-01"}, **{"Idempotency-Key": "aud-0001-key"}),
            403,
            "role_not_allowed",
        )
        error(integration.get(f"/api/v1/loans/{loan_id}/"), 403, "role_not_allowed")
        paid = ok(
            integration.post(url, {"amount": "10.00", "on": "2026-02-01"}, **{"Idempotency-Key": "int-0001-key"}), 201
        )
        error(integration.post(f"/api/v1/repayments/{paid['id']}/reverse/"), 403, "role_not_allowed")
        error(officer.get("/api/v1/journal-entries/"), 403, "role_not_allowed")

    def test_a_failed_repayment_writes_nothing(self, as_role: Any, borrower_id: str, product_id: str) -> None:
        from letsema_api.common.models import AuditEvent
        from letsema_api.lending.models import IdempotencyRecord, LoanTransaction

        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        audits = AuditEvent.objects.filter(entity_id=loan_id).count()
        url = f"/api/v1/loans/{loan_id}/repayments/"
        error(
            officer.post(url, {"amount": "20000.00", "on": "2026-02-01"}, **{"Idempotency-Key": "big-0001-key"}),
            422,
            "overpayment_refused",
        )
        error(
            officer.post(url, {"amount": 10.5, "on": "2026-02-01"}, **{"Idempotency-Key": "flt-0001-key"}),
            400,
            "validation_error",
        )
        error(
            officer.post(url, {"amount": "10.00", "on": "2099-01-01"}, **{"Idempotency-Key": "fut-0001-key"}),
            400,
            "validation_error",
        )
        assert LoanTransaction.objects.filter(loan_id=loan_id).count() == 1  # the disbursement
        assert not IdempotencyRecord.objects.filter(key__in=["big-0001-key", "flt-0001-key", "fut-0001-key"]).exists()
        assert AuditEvent.objects.filter(entity_id=loan_id).count() == audits


class TestApprovalRules:
    def test_the_maker_cannot_approve_their_own_application(
        self, as_role: Any, borrower_id: str, product_id: str
    ) -> None:
        manager = as_role("branch_manager")
        application_id = apply(manager, borrower_id=borrower_id, product_id=product_id)
        ok(manager.post(f"/api/v1/loan-applications/{application_id}/assess/"))
        body = error(
            manager.post(f"/api/v1/loan-applications/{application_id}/approve/"), 403, "maker_checker_violation"
        )
        assert body["details"]["reason"] == "created_by"
        error(
            manager.post(f"/api/v1/loan-applications/{application_id}/reject/", {"reasons": ["own"]}),
            403,
            "maker_checker_violation",
        )
        stored = ok(manager.get(f"/api/v1/loan-applications/{application_id}/"))
        assert (stored["status"], stored["decided_by"]) == ("submitted", None)

    def test_above_the_products_limit_only_an_mfi_admin_approves(
        self, as_role: Any, borrower_id: str, product_id: str
    ) -> None:
        officer, manager, admin = as_role("loan_officer"), as_role("branch_manager"), as_role("mfi_admin")
        application_id = apply(officer, borrower_id=borrower_id, product_id=product_id, principal="25000.00")
        ok(officer.post(f"/api/v1/loan-applications/{application_id}/assess/"))
        body = error(
            manager.post(f"/api/v1/loan-applications/{application_id}/approve/"), 403, "approval_limit_exceeded"
        )
        assert (body["details"]["amount"], body["details"]["approval_limit"]) == ("25000.00", "20000.00")
        assert ok(admin.post(f"/api/v1/loan-applications/{application_id}/approve/"))["status"] == "approved"

    def test_reject_and_withdraw_follow_the_lifecycle(self, as_role: Any, borrower_id: str, product_id: str) -> None:
        officer, manager = as_role("loan_officer"), as_role("branch_manager")
        rejected_id = apply(officer, borrower_id=borrower_id, product_id=product_id)
        error(
            manager.post(f"/api/v1/loan-applications/{rejected_id}/reject/", {"reasons": []}), 400, "validation_error"
        )
        rejected = ok(
            manager.post(f"/api/v1/loan-applications/{rejected_id}/reject/", {"reasons": ["income unverified"]})
        )
        assert (rejected["status"], rejected["rejection_reasons"]) == ("rejected", ["income unverified"])
        error(officer.post(f"/api/v1/loan-applications/{rejected_id}/withdraw/"), 409, "illegal_application_transition")
        withdrawn_id = apply(officer, borrower_id=borrower_id, product_id=product_id)
        assert ok(officer.post(f"/api/v1/loan-applications/{withdrawn_id}/withdraw/"))["status"] == "withdrawn"
        listed = ok(officer.get("/api/v1/loan-applications/", borrower=borrower_id, status="withdrawn"))
        assert [a["id"] for a in listed["results"]] == [withdrawn_id]
        error(
            officer.post(
                "/api/v1/loan-applications/",
                {
                    "borrower_id": borrower_id,
                    "product_id": product_id,
                    "principal": "10000.00",
                    "term_in_periods": 12,
                    "rate": "1",
                },
            ),
            400,
            "validation_error",
        )
        error(officer.get("/api/v1/loan-applications/no-such-application/"), 404, "not_found")
