"""``manage.py close_of_business``: the core's close of business over every active loan, in batches written
with bulk statements; idempotent per date (a second run changes nothing); a late run books the
re-allocations its penalties cause. Each test runs in a transaction that is rolled back (the command's
per-batch transactions become savepoints)."""

from __future__ import annotations

import json
import math
import uuid
from datetime import date
from typing import Any

import pytest

from letsema_core.loans import Loan
from letsema_core.schedules import generate_schedule
from tests.integration.test_api_lending_support import borrower_id, contract_product, rolled_back

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

__all__ = ["borrower_id", "rolled_back"]  # fixtures

DISBURSED = date(2026, 1, 5)


@pytest.fixture
def product_id(rolled_back: None) -> str:
    from letsema_api.products.repositories import DjangoProductRepository

    product_id = str(uuid.uuid4())
    DjangoProductRepository().add(product_id, contract_product(f"cob-{product_id[:8]}"))
    return product_id


def open_loans(*, borrower_id: str, product_id: str, count: int) -> list[str]:
    from letsema_api.lending.repositories import DjangoLoanRepository
    from letsema_api.products.repositories import DjangoProductRepository

    product = DjangoProductRepository().get(product_id)
    terms = product.terms_for(principal="10000.00", term_in_periods=12, disbursement_date=DISBURSED)
    loans = DjangoLoanRepository()
    ids = [str(uuid.uuid4()) for _ in range(count)]
    for loan_id in ids:
        loans.add(
            Loan(
                loan_id=loan_id,
                schedule=generate_schedule(terms),
                disbursed_on=DISBURSED,
                borrower_id=borrower_id,
                product_id=product_id,
                late_penalty_percent=product.late_penalty_percent,
                penalty_grace_days=product.penalty_grace_days,
            )
        )
    return ids


def repay(loan_id: str, *, on: date, amount: str) -> None:
    from letsema_api.lending.repositories import DjangoLoanRepository
    from letsema_api.lending.services import _ports

    from letsema_core.services import record_repayment

    record_repayment(loan_id=loan_id, amount=amount, on=on, loans=DjangoLoanRepository(), **_ports())


def snapshot(loan_ids: list[str]) -> dict[str, Any]:
    """Everything close of business may touch, for these loans and tenant-wide."""
    from letsema_api.common.models import AuditEvent
    from letsema_api.ledger.models import JournalEntry
    from letsema_api.lending.models import Installment, Loan, LoanTransaction
    from letsema_api.outbox.models import OutboxEvent

    return {
        "loans": list(Loan.objects.filter(id__in=loan_ids).order_by("id").values()),
        "installments": list(Installment.objects.filter(loan_id__in=loan_ids).order_by("id").values()),
        "transactions": list(LoanTransaction.objects.filter(loan_id__in=loan_ids).order_by("id").values()),
        "outbox": OutboxEvent.objects.count(),
        "journal": JournalEntry.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def close_business(as_of: str, *, batch: int = 200) -> str:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("close_of_business", as_of=as_of, batch=batch, no_progress=True, stdout=out)
    return out.getvalue()


class TestCloseOfBusiness:
    def test_a_second_run_for_the_same_date_changes_nothing(self, borrower_id: str, product_id: str) -> None:
        from letsema_api.lending.models import Installment
        from letsema_api.lending.models import Loan as LoanRow
        from letsema_api.outbox.models import OutboxEvent

        ids = open_loans(borrower_id=borrower_id, product_id=product_id, count=12)
        for loan_id in ids[:4]:  # four borrowers paid February and March: current
            repay(loan_id, on=date(2026, 2, 5), amount="945.60")
            repay(loan_id, on=date(2026, 3, 5), amount="945.60")
        summary = close_business("2026-03-10", batch=5)
        assert "registry events queued" in summary
        rows = {row.id: row for row in LoanRow.objects.filter(id__in=ids)}
        assert {(rows[i].days_past_due, rows[i].arrears_bucket) for i in ids[:4]} == {(0, "current")}
        assert {(rows[i].days_past_due, rows[i].arrears_bucket) for i in ids[4:]} == {(33, "31-60")}
        assert {rows[i].last_close_of_business for i in ids} == {date(2026, 3, 10)}
        # Installments 1 (33 days late) and 2 (5 days late, grace 3) of each late loan: 5 % of 945.60.
        penalties = Installment.objects.filter(loan_id__in=ids[4:], penalties_outstanding__gt=0)
        assert sorted({(n, str(p)) for n, p in penalties.values_list("number", "penalties_outstanding")}) == [
            (1, "47.28"),
            (2, "47.28"),
        ]
        assert penalties.count() == 2 * len(ids[4:])
        assert not Installment.objects.filter(loan_id__in=ids[:4], penalties_outstanding__gt=0).exists()
        arrears_events = OutboxEvent.objects.filter(loan_ref__in=ids, event_type="arrears_changed")
        assert sorted(arrears_events.values_list("loan_ref", flat=True)) == sorted(ids[4:])

        before = snapshot(ids)
        again = close_business("2026-03-10", batch=5)
        assert snapshot(ids) == before
        assert again.startswith("close_of_business 2026-03-10: 0 loans processed")

    def test_loans_are_written_with_one_bulk_update_per_batch(self, borrower_id: str, product_id: str) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from letsema_api.lending.services import loans_due_for_close_of_business

        open_loans(borrower_id=borrower_id, product_id=product_id, count=15)
        due, _ = loans_due_for_close_of_business(as_of=date(2026, 2, 20))
        with CaptureQueriesContext(connection) as queries:
            close_business("2026-02-20", batch=6)
        loan_updates = [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "lending_loan"')]
        # Each batch that processed loans updates them with one statement, never one per loan.
        assert 1 <= len(loan_updates) <= math.ceil(len(due) / 6)
        assert len(due) >= 15

    def test_a_late_run_books_the_reallocation_of_a_later_repayment_once(
        self, borrower_id: str, product_id: str
    ) -> None:
        from letsema_api.ledger.models import JournalEntry
        from letsema_api.ledger.selectors import trial_balance
        from letsema_api.lending.repositories import DjangoLoanRepository

        [loan_id] = open_loans(borrower_id=borrower_id, product_id=product_id, count=1)
        repay(loan_id, on=date(2026, 2, 20), amount="945.60")  # paid 15 days late, posted before the COB of 10 Feb
        close_business("2026-02-10")
        loan = DjangoLoanRepository().get(loan_id)
        [payment] = loan.active_repayments()
        assert (str(payment.penalties), str(payment.interest), str(payment.principal)) == ("47.28", "200.00", "698.32")
        moved = JournalEntry.objects.filter(loan_id=loan_id, entry_id__contains="cob-2026-02-10")
        assert moved.count() == 1
        assert moved.get().on == date(2026, 2, 20)
        close_business("2026-02-10")
        assert JournalEntry.objects.filter(loan_id=loan_id, entry_id__contains="cob-2026-02-10").count() == 1
        assert trial_balance(as_of=date(2026, 12, 31)).is_balanced

    def test_a_bad_or_future_date_is_refused(self, rolled_back: None) -> None:
        from django.core.management.base import CommandError

        with pytest.raises(CommandError, match="YYYY-MM-DD"):
            close_business("10/03/2026")
        with pytest.raises(CommandError, match="in the future"):
            close_business("2099-01-01")

    def test_a_future_date_is_closed_only_with_the_benchmark_flag(self, borrower_id: str, product_id: str) -> None:
        import io
        from datetime import timedelta

        from django.core.management import call_command
        from django.core.management.base import CommandError
        from letsema_api.lending import services
        from letsema_api.lending.models import Loan as LoanRow

        [loan_id] = open_loans(borrower_id=borrower_id, product_id=product_id, count=1)
        tomorrow = (services.today() + timedelta(days=1)).isoformat()
        with pytest.raises(CommandError, match="in the future"):
            close_business(tomorrow)
        with pytest.raises(CommandError, match="--workers"):
            call_command("close_of_business", as_of="2026-03-10", workers=0, no_progress=True, stdout=io.StringIO())
        out = io.StringIO()
        call_command("close_of_business", as_of=tomorrow, ahead_of_time=True, no_progress=True, stdout=out)
        assert out.getvalue().startswith(f"close_of_business {tomorrow}: ")
        assert LoanRow.objects.get(id=loan_id).last_close_of_business.isoformat() == tomorrow

    def test_a_worker_closes_a_batch_as_the_command_does(self, borrower_id: str, product_id: str) -> None:
        from letsema_api.lending import cob_workers
        from letsema_api.lending.models import Loan as LoanRow

        ids = open_loans(borrower_id=borrower_id, product_id=product_id, count=3)
        counts = cob_workers.close_batch((ids, "2026-03-10"))
        assert counts["size"] == counts["processed"] == 3
        assert counts["arrears"] == 3  # 33 days late: 31-60
        assert str(counts["penalty_total"]) == "283.68"  # installments 1 and 2 of each, 47.28 each
        assert {row.arrears_bucket for row in LoanRow.objects.filter(id__in=ids)} == {"31-60"}


def _state(loan: Loan) -> tuple[Any, ...]:
    return (
        loan.status,
        loan.days_past_due,
        loan.worst_days_past_due,
        loan.arrears_bucket,
        loan.last_close_of_business,
        loan.balances,
        tuple(loan.penalty_charges),
        tuple((t.transaction_id, t.allocation) for t in loan.transactions),
    )


def test_loans_stamped_in_bulk_end_exactly_as_the_core_leaves_them(borrower_id: str, product_id: str) -> None:
    """Close of business stamps the loans it cannot change (current, nothing overdue, nothing dated later)
    with one UPDATE instead of running the core on each; over loans in every state and several days, the
    stored result is the core's own ``Loan.close_business_day`` applied to the loans as they were."""
    from letsema_api.common.models import AuditEvent
    from letsema_api.lending import services
    from letsema_api.lending.repositories import DjangoLoanRepository

    ids = open_loans(borrower_id=borrower_id, product_id=product_id, count=7)
    repay(ids[0], on=date(2026, 2, 5), amount="945.60")  # on time
    repay(ids[1], on=date(2026, 2, 5), amount="500.00")  # part of the installment
    repay(ids[2], on=date(2026, 2, 25), amount="945.60")  # late, posted before the runs below
    repay(ids[3], on=date(2026, 2, 5), amount="945.60")
    repay(ids[3], on=date(2026, 3, 5), amount="945.60")
    repay(ids[4], on=date(2026, 1, 20), amount="2000.00")  # ahead of time
    stamped = []
    for as_of in (date(2026, 1, 20), date(2026, 2, 6), date(2026, 2, 10), date(2026, 3, 6), date(2026, 3, 9)):
        expected = {}
        for loan_id in ids:
            loan = DjangoLoanRepository().get(loan_id)
            loan.close_business_day(as_of=as_of)
            expected[loan_id] = _state(loan)
        # This test's loans only (the command would also close loans other tests left active).
        services.close_business_batch(loan_ids=ids, as_of=as_of)
        assert {loan_id: _state(DjangoLoanRepository().get(loan_id)) for loan_id in ids} == expected
        audit = AuditEvent.objects.filter(action="loan.close_of_business", entity_id=as_of.isoformat()).latest("id")
        stamped.append(audit.after["stamped_only"])
    # 20 Jan: nothing due, but four loans hold repayments dated later (the core replays those): three stamped.
    # 6 Feb: the on-time and the ahead-of-time loans; the late, partial and unpaid ones went through the core.
    assert stamped[:2] == [3, 2]
    assert sum(stamped) < 7 * 5


# ------------------------------------------------------------------- the set-based stamp against the core alone

D = date


#: Repayments (loan index, date, amount) posted on their date, before that day's close of business; "payoff" pays
#: the loan off. Index 3's payment is posted before the first run (a late run meets a repayment dated later).
REPAYMENTS: tuple[tuple[int, date, str], ...] = (
    (4, D(2026, 1, 20), "2000.00"),  # ahead of time
    (1, D(2026, 2, 5), "945.60"),  # first installment on time, then nothing
    (2, D(2026, 2, 5), "500.00"),  # part of the first installment
    (11, D(2026, 2, 5), "945.55"),  # five cents short: a penalty of 0.00 is never charged
    (7, D(2026, 3, 1), "300.00"),  # no-penalty product, part paid
    (12, D(2026, 3, 1), "945.60"),  # pays the first installment late: DPD falls within its bucket
    (8, D(2026, 3, 20), "payoff"),  # closes
    (10, D(2026, 4, 10), "3500.00"),  # cures its arrears
    *((5, D(2026, month, 5), "945.60") for month in range(2, 10)),  # always on time
)
WRITTEN_OFF = (9, D(2026, 6, 1))
#: Days in a row (DPD-only days for loans in arrears), days a bucket or the 90-day milestone is crossed, penalty
#: days (grace 3: the fourth day late), gaps of several days, the day a late repayment is reached.
COB_DATES = (
    D(2026, 1, 20), D(2026, 2, 5), D(2026, 2, 6), D(2026, 2, 7), D(2026, 2, 9), D(2026, 2, 10), D(2026, 2, 11),
    D(2026, 2, 26), D(2026, 3, 6), D(2026, 3, 7), D(2026, 3, 8), D(2026, 3, 9), D(2026, 3, 10), D(2026, 4, 4),
    D(2026, 4, 5), D(2026, 4, 6), D(2026, 4, 11), D(2026, 5, 5), D(2026, 5, 6), D(2026, 5, 7), D(2026, 6, 1),
    D(2026, 8, 3), D(2026, 8, 4), D(2026, 8, 5), D(2026, 8, 6), D(2026, 9, 10),
)  # fmt: skip


class _Rollback(Exception):
    pass


def _without(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in names}


def stored(loan_ids: list[str]) -> dict[str, Any]:
    """Every row close of business may write for these loans (write timestamps and row ids left out)."""
    from letsema_api.ledger.models import JournalEntry
    from letsema_api.lending.models import Installment, LoanTransaction
    from letsema_api.lending.models import Loan as LoanRow
    from letsema_api.outbox.models import OutboxEvent

    entries = JournalEntry.objects.filter(loan_id__in=loan_ids).prefetch_related("lines").order_by("entry_id")
    return {
        "loans": [_without(r, "updated_at") for r in LoanRow.objects.filter(id__in=loan_ids).order_by("id").values()],
        "installments": list(Installment.objects.filter(loan_id__in=loan_ids).order_by("id").values()),
        "transactions": [
            _without(r, "created_at")
            for r in LoanTransaction.objects.filter(loan_id__in=loan_ids).order_by("id").values()
        ],
        "outbox": list(
            OutboxEvent.objects.filter(loan_ref__in=loan_ids)
            .order_by("loan_ref", "sequence")
            .values("event_id", "event_type", "lender_mfi", "loan_ref", "sequence", "payload", "status")
        ),
        "journal": [
            (
                e.entry_id,
                e.on,
                e.description,
                e.loan_id,
                e.transaction_id,
                [(line.position, line.account_code, line.debit, line.credit) for line in e.lines.order_by("position")],
            )
            for e in entries
        ],
    }


def closed_by_the_core_alone(loan_ids: list[str], as_of: date) -> dict[str, Any]:
    """``stored`` after the core's own close of business over these loans, one loan at a time through the
    core's use case (no set-based stamp, no bulk writes) — rolled back afterwards."""
    from django.db import transaction
    from letsema_api.lending.repositories import DjangoLoanRepository
    from letsema_api.lending.services import _ports

    from letsema_core.services import run_close_of_business

    result: dict[str, Any] = {}
    try:
        with transaction.atomic():
            run_close_of_business(as_of=as_of, loans=DjangoLoanRepository(lock=True, only_ids=loan_ids), **_ports())
            result = stored(loan_ids)
            raise _Rollback
    except _Rollback:
        pass
    return result


def stamp_only(loan_ids: list[str], as_of: date) -> set[str]:
    """The loans ``_STAMP_ONLY_SQL`` would stamp for ``as_of`` (found in a savepoint that is rolled back)."""
    from django.db import connection, transaction
    from django.utils import timezone
    from letsema_api.lending.services import _STAMP_ONLY_SQL

    found: set[str] = set()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_STAMP_ONLY_SQL, {"ids": json.dumps(loan_ids), "as_of": as_of, "now": timezone.now()})
            found = {row[0] for row in cursor.fetchall()}
            raise _Rollback
    except _Rollback:
        pass
    return found


def test_every_loan_ends_as_the_core_alone_leaves_it_with_the_same_events_and_entries(
    borrower_id: str, product_id: str
) -> None:
    """Over loans in every state (on time, ahead, part paid, late, in every bucket, past the 90-day milestone,
    with and without a penalty rule, paid off, written off, cured) and 26 dates (consecutive days, gaps,
    penalty days, bucket edges), ``close_business_batch`` leaves every loan, installment and transaction row,
    registry outbox event and journal entry exactly as the core's own close of business does loan by loan."""
    from dataclasses import replace

    from letsema_api.common.models import AuditEvent
    from letsema_api.lending import services
    from letsema_api.lending.models import Loan as LoanRow
    from letsema_api.lending.repositories import DjangoLoanRepository
    from letsema_api.lending.services import _ports
    from letsema_api.products.repositories import DjangoProductRepository

    from letsema_core.services import write_off_loan

    no_penalty = str(uuid.uuid4())
    DjangoProductRepository().add(
        no_penalty, replace(contract_product(f"nopen-{no_penalty[:8]}"), late_penalty_percent="0")
    )
    ids = open_loans(borrower_id=borrower_id, product_id=product_id, count=11)
    ids[6:6] = open_loans(borrower_id=borrower_id, product_id=no_penalty, count=2)  # indexes 6 and 7
    repay(ids[3], on=D(2026, 2, 25), amount="945.60")  # paid late, posted before the runs below
    pending = sorted(REPAYMENTS, key=lambda r: r[1])
    stamped_in_arrears = stamped_current = arrears_set_based = through_core = 0
    for as_of in COB_DATES:
        while pending and pending[0][1] <= as_of:
            index, on, amount = pending.pop(0)
            if amount == "payoff":
                amount = str(DjangoLoanRepository().get(ids[index]).payoff_amount(on=on))
            repay(ids[index], on=on, amount=amount)
        if as_of >= WRITTEN_OFF[1] and LoanRow.objects.get(id=ids[WRITTEN_OFF[0]]).status == "active":
            write_off_loan(loan_id=ids[WRITTEN_OFF[0]], on=WRITTEN_OFF[1], loans=DjangoLoanRepository(), **_ports())
        expected = closed_by_the_core_alone(ids, as_of)
        quick = stamp_only(ids, as_of)
        result = services.close_business_batch(loan_ids=ids, as_of=as_of)
        assert stored(ids) == expected, as_of
        dpd = dict(LoanRow.objects.filter(id__in=ids).values_list("id", "days_past_due"))
        stamped_in_arrears += sum(1 for loan_id in quick if dpd[loan_id] > 0)
        stamped_current += sum(1 for loan_id in quick if dpd[loan_id] == 0)
        audit = AuditEvent.objects.filter(action="loan.close_of_business", entity_id=as_of.isoformat()).latest("id")
        assert audit.after["stamped_only"] == len(quick)
        arrears_set_based += audit.after["arrears_set_based"]
        through_core += len(result.processed) - len(quick) - audit.after["arrears_set_based"]
        assert services.close_business_batch(loan_ids=ids, as_of=as_of).processed == ()  # a rerun does nothing
        assert stored(ids) == expected
    # Every path was taken: the stamp (by loans in arrears too), the set-based bucket changes, the core.
    assert stamped_in_arrears >= 40
    assert stamped_current >= 40
    assert arrears_set_based >= 10
    assert through_core >= 20
    final = dict(LoanRow.objects.filter(id__in=ids).values_list("id", "arrears_bucket"))
    assert final[ids[0]] == "180+"
    assert LoanRow.objects.get(id=ids[8]).status == "closed"
    assert LoanRow.objects.get(id=ids[9]).status == "written_off"
    print(f"stamped {stamped_current} current + {stamped_in_arrears} in arrears, {arrears_set_based} set-based "
          f"bucket changes, {through_core} through the core")  # fmt: skip
    assert_marks_are_what_the_migration_computes(ids)


def assert_marks_are_what_the_migration_computes(loan_ids: list[str]) -> None:
    """The close-of-business marks every write stored equal what migration 0004 computes from the rows."""
    import importlib

    from django.db import connection
    from letsema_api.lending.models import Loan as LoanRow

    fill = importlib.import_module("letsema_api.lending.migrations.0004_loan_close_of_business_marks")._FILL
    marks = ("id", "oldest_unpaid_due_on", "next_penalty_on", "last_transaction_on")
    written = list(LoanRow.objects.filter(id__in=loan_ids).order_by("id").values_list(*marks))
    assert {row[1] for row in written} - {None}
    assert {row[2] for row in written} - {None}
    LoanRow.objects.filter(id__in=loan_ids).update(
        oldest_unpaid_due_on=None, next_penalty_on=None, last_transaction_on=None
    )
    with connection.cursor() as cursor:
        cursor.execute(fill)
    assert list(LoanRow.objects.filter(id__in=loan_ids).order_by("id").values_list(*marks)) == written


def test_two_worker_processes_close_disjoint_batches_as_one_process_would(
    borrower_id: str, django_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--workers 2``: spawned processes (their own start-up, connections and Vault session) close the
    batches; each loan ends as the core leaves it. The loans are committed (the workers cannot see a test's
    transaction) and belong to this test alone."""
    for name, value in django_api.env.items():  # what `letsema dev manage` gives the command
        monkeypatch.setenv(name, value)
    from letsema_api.lending.management.commands.close_of_business import _close_batches
    from letsema_api.lending.models import Loan as LoanRow
    from letsema_api.lending.repositories import DjangoLoanRepository
    from letsema_api.products.repositories import DjangoProductRepository

    product_id = str(uuid.uuid4())
    DjangoProductRepository().add(product_id, contract_product(f"cobw-{product_id[:8]}"))
    ids = open_loans(borrower_id=borrower_id, product_id=product_id, count=6)
    repay(ids[0], on=date(2026, 2, 5), amount="945.60")
    as_of = date(2026, 3, 10)
    expected = {}
    for loan_id in ids:
        loan = DjangoLoanRepository().get(loan_id)
        loan.close_business_day(as_of=as_of)
        expected[loan_id] = _state(loan)
    counts = list(_close_batches([ids[:2], ids[2:4], ids[4:]], as_of, 2))
    assert sorted(c["processed"] for c in counts) == [2, 2, 2]
    assert sum(c["penalties"] for c in counts) == 2 * 5 + 1  # the five unpaid loans: #1 and #2; the paid one: #2
    assert {loan_id: _state(DjangoLoanRepository().get(loan_id)) for loan_id in ids} == expected
    assert set(LoanRow.objects.filter(id__in=ids).values_list("last_close_of_business", flat=True)) == {as_of}
