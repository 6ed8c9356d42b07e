"""The statements one repayment costs (issue 6): pinned, so a change that adds a query, a savepoint or a
second read of the loan shows up here with the list of what runs now."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.test_api_lending_support import (
    Http,
    approved_loan,
    as_role,
    borrower_id,
    client_credentials_token,
    ok,
    product_id,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

__all__ = ["as_role", "borrower_id", "product_id"]  # fixtures

#: One repayment with a bearer token, in order: the token (with its user, its application and the
#: application's owner, one query), the loan row locked (with the audit's "before"), the idempotency record,
#: the loan with its installments and transactions (one query), the loan and the installment written, the
#: transaction, the journal entry and its lines, the registry event (borrower key, product, the loan's last
#: sequence, the outbox row), the audit event, the idempotency record. No savepoint, no re-read of the loan.
REPAYMENT_STATEMENTS = [
    "SELECT oauth2_provider_accesstoken",
    "SELECT lending_loan FOR UPDATE",
    "SELECT lending_idempotencyrecord",
    "SELECT lending_loan",
    "UPDATE lending_loan",
    "UPDATE lending_installment",
    "INSERT lending_loantransaction",
    "INSERT ledger_journalentry",
    "INSERT ledger_journalline",
    "SELECT borrowers_borroweridentifier",
    "SELECT products_loanproduct",
    "SELECT outbox_outboxevent",
    "INSERT outbox_outboxevent",
    "INSERT common_auditevent",
    "INSERT lending_idempotencyrecord",
]


def _shape(sql: str) -> str | None:
    """``<VERB> <first table>`` of a statement (``FOR UPDATE`` kept); None for transaction control."""
    words = sql.replace('"', " ").replace("(", " ").split()
    verb = words[0].upper()
    if verb in {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}:
        return None if verb in {"BEGIN", "COMMIT"} else verb
    keyword = {"SELECT": "FROM", "UPDATE": "UPDATE", "INSERT": "INTO", "DELETE": "FROM"}[verb]
    upper = [w.upper() for w in words]
    # The last FROM of a SELECT: the loan's load reads its child tables in subqueries first.
    at = len(upper) - 1 - upper[::-1].index(keyword) if verb == "SELECT" else upper.index(keyword)
    table = words[at + 1].split(".")[-1]
    return f"{verb} {table}{' FOR UPDATE' if 'FOR UPDATE' in sql.upper() and table == 'lending_loan' else ''}"


def _statements(client: Http, loan_id: str, key: str, amount: str = "100.00") -> tuple[Any, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            f"/api/v1/loans/{loan_id}/repayments/", {"amount": amount, "on": "2026-02-05"}, **{"Idempotency-Key": key}
        )
    shapes = [_shape(q["sql"]) for q in queries.captured_queries]
    return response, [s for s in shapes if s is not None]


def _client_of_integration(make_user: Any) -> Http:
    """A payment gateway: an OAuth client (client credentials) owned by an ``integration`` user; its token has
    no user of its own, as a client-credentials token has none."""
    owner = make_user("integration")
    return Http(owner, f"Bearer {client_credentials_token(owner)}")


class TestRepaymentStatements:
    def test_a_repayment_by_a_staff_user_runs_the_pinned_statements(
        self, as_role: Any, borrower_id: str, product_id: str
    ) -> None:
        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        response, statements = _statements(officer, loan_id, f"st-{uuid.uuid4()}")
        assert response.status_code == 201, response.content
        assert statements == REPAYMENT_STATEMENTS

    def test_a_payment_gateway_token_reads_its_owner_in_the_same_query(
        self, as_role: Any, make_user: Any, borrower_id: str, product_id: str
    ) -> None:
        _, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        gateway = _client_of_integration(make_user)
        response, statements = _statements(gateway, loan_id, f"gw-{uuid.uuid4()}")
        assert response.status_code == 201, response.content
        assert statements == REPAYMENT_STATEMENTS

    def test_a_replay_reads_and_writes_nothing_but_the_lock_and_the_record(
        self, as_role: Any, borrower_id: str, product_id: str
    ) -> None:
        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        key = f"st-{uuid.uuid4()}"
        first, _ = _statements(officer, loan_id, key)
        again, statements = _statements(officer, loan_id, key)
        assert ok(again, 201) == ok(first, 201)
        assert again["Idempotent-Replayed"] == "true"
        assert statements == [
            "SELECT oauth2_provider_accesstoken",
            "SELECT lending_loan FOR UPDATE",
            "SELECT lending_idempotencyrecord",
        ]

    def test_the_response_and_audit_carry_the_state_written_without_reading_it_back(
        self, as_role: Any, borrower_id: str, product_id: str
    ) -> None:
        from letsema_api.common.models import AuditEvent
        from letsema_api.lending.services import stored_loan_state

        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        before = stored_loan_state(loan_id)
        body = ok(
            officer.post(
                f"/api/v1/loans/{loan_id}/repayments/",
                {"amount": "945.60", "on": "2026-02-05"},
                **{"Idempotency-Key": f"st-{uuid.uuid4()}"},
            ),
            201,
        )
        after = stored_loan_state(loan_id)
        assert body["outstanding_principal"] == after["outstanding_principal"]
        assert body["loan_status"] == after["status"]
        event = AuditEvent.objects.filter(entity_id=loan_id, action="loan.repayment").get()
        assert event.before == before
        assert {k: event.after[k] for k in after} == after
