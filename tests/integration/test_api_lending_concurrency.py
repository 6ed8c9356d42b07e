"""Two repayments to one loan at the same moment run one after the other (``SELECT … FOR UPDATE`` on the
loan row): both are allocated, the second against the balances the first left."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from tests.integration.test_api_lending_support import Http, approved_loan, as_role, borrower_id, ok, product_id

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

__all__ = ["as_role", "borrower_id", "product_id"]  # fixtures


def in_thread(target: Any, results: list[Any], index: int) -> threading.Thread:
    def run() -> None:
        from django.db import connection

        try:
            results[index] = target()
        finally:
            connection.close()

    return threading.Thread(target=run)


class TestConcurrentRepayments:
    def test_two_repayments_at_once_are_serialised(self, as_role: Any, borrower_id: str, product_id: str) -> None:
        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        url = f"/api/v1/loans/{loan_id}/repayments/"
        start = threading.Barrier(2)
        results: list[Any] = [None, None]

        def pay(on: str) -> Any:
            client = Http(officer.user, officer.authorization)
            start.wait(10)
            return client.post(url, {"amount": "945.60", "on": on}, **{"Idempotency-Key": f"cc-{uuid.uuid4()}"})

        threads = [in_thread(lambda: pay("2026-02-05"), results, 0), in_thread(lambda: pay("2026-02-06"), results, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert [r.status_code for r in results] == [201, 201], [r.content for r in results]
        statement = ok(officer.get(f"/api/v1/loans/{loan_id}/statement/"))
        # Whichever came first took sequence 2; the statement lists them by date.
        assert sorted((s["sequence"], s["kind"]) for s in statement) == [
            (1, "disbursement"),
            (2, "repayment"),
            (3, "repayment"),
        ]
        assert statement[-1]["outstanding_principal"] == "8493.89"
        schedule = ok(officer.get(f"/api/v1/loans/{loan_id}/schedule/"))
        assert [i["principal_outstanding"] for i in schedule[:2]] == ["0.00", "0.00"]

    def test_a_repayment_waits_for_the_lock_on_its_loan(self, as_role: Any, borrower_id: str, product_id: str) -> None:
        from django.db import transaction
        from letsema_api.lending.models import Loan

        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        holding, release = threading.Event(), threading.Event()
        results: list[Any] = [None, None]

        def hold() -> None:
            with transaction.atomic():
                list(Loan.objects.select_for_update().filter(id=loan_id))
                holding.set()
                release.wait(30)

        def pay() -> Any:
            client = Http(officer.user, officer.authorization)
            return client.post(
                f"/api/v1/loans/{loan_id}/repayments/",
                {"amount": "945.60", "on": "2026-02-05"},
                **{"Idempotency-Key": f"lk-{uuid.uuid4()}"},
            )

        holder = in_thread(hold, results, 0)
        holder.start()
        assert holding.wait(10)
        payer = in_thread(pay, results, 1)
        payer.start()
        payer.join(1.0)
        assert payer.is_alive()  # blocked on the loan row
        release.set()
        holder.join(30)
        payer.join(30)
        assert results[1].status_code == 201, results[1].content
