"""The core's ``ApplicationRepository`` and ``LoanRepository`` on PostgreSQL.

Call them inside the transaction of the use case (the API request's, or the job's own). Both store
copies, as the in-memory fakes do: a change to a returned aggregate is kept only once ``save`` is called.

``DjangoLoanRepository(lock=True)`` reads loans with ``SELECT … FOR UPDATE``, so two requests changing
one loan (two repayments at once) run one after the other instead of both allocating against the same
balances. ``DjangoLoanRepository(deferred=True)`` (close of business) collects ``save`` calls and writes
them with a few bulk statements in ``flush()``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from letsema_api.lending import models
from letsema_core.credit import CreditAssessment, assessment_from_dict, assessment_to_dict
from letsema_core.errors import NotFound, ValidationError
from letsema_core.loans import (
    AllocationLine,
    ApplicationStatus,
    ArrearsBucket,
    InstallmentBalance,
    Loan,
    LoanApplication,
    LoanStatus,
    LoanTransaction,
    PenaltyCharge,
    RepaymentAllocation,
    TransactionType,
)
from letsema_core.loans.arrears import oldest_unpaid
from letsema_core.schedules.types import Installment, RepaymentSchedule

# ---------------------------------------------------------------------------------- applications


def _application_from_row(row: models.LoanApplication) -> LoanApplication:
    return LoanApplication(
        application_id=row.id,
        borrower_id=str(row.borrower_id),
        product_id=str(row.product_id),
        principal=row.principal,
        term_in_periods=row.term_in_periods,
        created_by=row.created_by,
        created_on=row.created_on,
        status=ApplicationStatus(row.status),
        submitted_by=row.submitted_by,
        submitted_on=row.submitted_on,
        decided_by=row.decided_by,
        decided_on=row.decided_on,
        rejection_reasons=tuple(row.rejection_reasons),
        withdrawn_on=row.withdrawn_on,
        loan_id=row.loan_id,
        history=[(date.fromisoformat(on), ApplicationStatus(status), by) for on, status, by in row.history],
    )


def _application_fields(application: LoanApplication) -> dict[str, Any]:
    return {
        "borrower_id": application.borrower_id,
        "product_id": application.product_id,
        "principal": application.principal,
        "term_in_periods": application.term_in_periods,
        "status": application.status.value,
        "created_by": application.created_by,
        "created_on": application.created_on,
        "submitted_by": application.submitted_by,
        "submitted_on": application.submitted_on,
        "decided_by": application.decided_by,
        "decided_on": application.decided_on,
        "rejection_reasons": list(application.rejection_reasons),
        "withdrawn_on": application.withdrawn_on,
        "loan_id": application.loan_id,
        "history": [[on.isoformat(), status.value, by] for on, status, by in application.history],
    }


class DjangoApplicationRepository:
    """Loan applications and their assessments (``ApplicationRepository`` port).

    ``lock=True`` reads with ``SELECT … FOR UPDATE`` (decisions on one application serialise).
    """

    def __init__(self, *, lock: bool = False) -> None:
        self._lock = lock

    def _rows(self) -> QuerySet[models.LoanApplication]:
        rows = models.LoanApplication.objects.all()
        return rows.select_for_update() if self._lock else rows

    def add(self, application: LoanApplication) -> None:
        try:
            with transaction.atomic():
                models.LoanApplication.objects.create(id=application.application_id, **_application_fields(application))
        except IntegrityError:
            if models.LoanApplication.objects.filter(id=application.application_id).exists():
                raise ValidationError(
                    "an application with this id exists", field="application_id", rule="unique"
                ) from None
            raise

    def save(self, application: LoanApplication) -> None:
        updated = models.LoanApplication.objects.filter(id=application.application_id).update(
            updated_at=timezone.now(), **_application_fields(application)
        )
        if not updated:
            raise NotFound(entity="loan application", key=application.application_id)

    def get(self, application_id: str) -> LoanApplication:
        row = self._rows().filter(id=application_id).first()
        if row is None:
            raise NotFound(entity="loan application", key=application_id)
        return _application_from_row(row)

    def record_assessment(self, application_id: str, assessment: CreditAssessment) -> None:
        if not models.LoanApplication.objects.filter(id=application_id).exists():
            raise NotFound(entity="loan application", key=application_id)
        models.CreditAssessment.objects.create(application_id=application_id, data=assessment_to_dict(assessment))

    def latest_assessment(self, application_id: str) -> CreditAssessment | None:
        row = models.CreditAssessment.objects.filter(application_id=application_id).order_by("-id").first()
        return None if row is None else assessment_from_dict(row.data)


# ----------------------------------------------------------------------------------------- loans


def _d(value: str) -> Decimal:
    return Decimal(value)


def allocation_to_json(allocation: RepaymentAllocation | None) -> dict[str, Any] | None:
    if allocation is None:
        return None
    return {
        "lines": [
            [line.installment_number, str(line.penalties), str(line.fees), str(line.interest), str(line.principal)]
            for line in allocation.lines
        ],
        "penalties": str(allocation.penalties),
        "fees": str(allocation.fees),
        "interest": str(allocation.interest),
        "principal": str(allocation.principal),
        "unallocated": str(allocation.unallocated),
    }


def allocation_from_json(data: dict[str, Any] | None) -> RepaymentAllocation | None:
    if data is None:
        return None
    return RepaymentAllocation(
        lines=tuple(
            AllocationLine(int(n), _d(pen), _d(fee), _d(intr), _d(pri)) for n, pen, fee, intr, pri in data["lines"]
        ),
        penalties=_d(data["penalties"]),
        fees=_d(data["fees"]),
        interest=_d(data["interest"]),
        principal=_d(data["principal"]),
        unallocated=_d(data["unallocated"]),
    )


def _transaction_from_row(row: models.LoanTransaction) -> LoanTransaction:
    return LoanTransaction(
        transaction_id=row.id,
        sequence=row.sequence,
        kind=TransactionType(row.kind),
        on=row.on,
        amount=row.amount,
        principal=row.principal,
        interest=row.interest,
        fees=row.fees,
        penalties=row.penalties,
        allocation=allocation_from_json(row.allocation),
        idempotency_key=row.idempotency_key,
        external_ref=row.external_ref,
        reverses=row.reverses,
        reversed_by=row.reversed_by,
    )


_TRANSACTION_FIELDS = (
    "sequence",
    "kind",
    "on",
    "amount",
    "principal",
    "interest",
    "fees",
    "penalties",
    "allocation",
    "idempotency_key",
    "external_ref",
    "reverses",
    "reversed_by",
)


def _transaction_row(loan_id: str, txn: LoanTransaction) -> models.LoanTransaction:
    return models.LoanTransaction(
        id=txn.transaction_id,
        loan_id=loan_id,
        sequence=txn.sequence,
        kind=txn.kind.value,
        on=txn.on,
        amount=txn.amount,
        principal=txn.principal,
        interest=txn.interest,
        fees=txn.fees,
        penalties=txn.penalties,
        allocation=allocation_to_json(txn.allocation),
        idempotency_key=txn.idempotency_key,
        external_ref=txn.external_ref,
        reverses=txn.reverses,
        reversed_by=txn.reversed_by,
    )


def loan_from_rows(
    row: models.Loan, installments: Iterable[models.Installment], transactions: Iterable[models.LoanTransaction]
) -> Loan:
    """Rebuild the core aggregate from its rows (no replay: the stored balances are the replay's result)."""
    rows = sorted(installments, key=lambda i: i.number)
    schedule = RepaymentSchedule(
        installments=tuple(
            Installment(
                i.number,
                i.due_date,
                i.principal_due,
                i.interest_due,
                i.fees_due,
                i.penalties_due,
                i.total_due,
                i.balance_after,
            )
            for i in rows
        ),
        principal=row.principal,
        upfront_fees=row.upfront_fee,
    )
    loan = Loan(
        loan_id=row.id,
        schedule=schedule,
        disbursed_on=row.disbursed_on,
        borrower_id=str(row.borrower_id),
        application_id=row.application_ref,
        product_id=str(row.product_id),
        late_penalty_percent=row.late_penalty_percent.normalize(),
        penalty_grace_days=row.penalty_grace_days,
    )
    # Rehydration: the aggregate's state is set from what its own methods produced when it was saved.
    loan.transactions = [_transaction_from_row(t) for t in sorted(transactions, key=lambda t: t.sequence)]
    loan.balances = tuple(
        InstallmentBalance(
            i.number,
            i.due_date,
            i.penalties_outstanding,
            i.fees_outstanding,
            i.interest_outstanding,
            i.principal_outstanding,
        )
        for i in rows
    )
    loan.penalty_charges = [
        PenaltyCharge(int(number), Decimal(amount), date.fromisoformat(on))
        for number, amount, on in row.penalty_charges
    ]
    loan.status = LoanStatus(row.status)
    loan.closed_on = row.closed_on
    loan.written_off_on = row.written_off_on
    loan.days_past_due = row.days_past_due
    loan.worst_days_past_due = row.worst_days_past_due
    loan.arrears_bucket = ArrearsBucket(row.arrears_bucket)
    loan.last_close_of_business = row.last_close_of_business
    return loan


def close_of_business_marks(loan: Loan) -> dict[str, date | None]:
    """The loan row's close-of-business marks (see ``models.Loan``), from the aggregate as it is stored.

    ``next_penalty_on``: ``Loan.close_business_day`` charges an installment that is not yet penalised and
    still owes principal, interest or fees once it is more than ``penalty_grace_days`` late, i.e. from its
    due date + grace + 1 day (and never when the loan's penalty percent is 0).
    """
    oldest = oldest_unpaid(balances=loan.balances)
    charged = {c.installment_number for c in loan.penalty_charges}
    grace = timedelta(days=loan.penalty_grace_days + 1)
    penalty_dates = (
        [b.due_date + grace for b in loan.balances if b.number not in charged and b.fees + b.interest + b.principal > 0]
        if loan.late_penalty_percent > 0
        else []
    )
    return {
        "oldest_unpaid_due_on": None if oldest is None else oldest.due_date,
        "next_penalty_on": min(penalty_dates, default=None),
        "last_transaction_on": max((t.on for t in loan.transactions), default=None),
    }


def _loan_fields(loan: Loan) -> dict[str, Any]:
    return {
        **close_of_business_marks(loan),
        "status": loan.status.value,
        "closed_on": loan.closed_on,
        "written_off_on": loan.written_off_on,
        "days_past_due": loan.days_past_due,
        "worst_days_past_due": loan.worst_days_past_due,
        "arrears_bucket": loan.arrears_bucket.value,
        "last_close_of_business": loan.last_close_of_business,
        "outstanding_principal": loan.outstanding_principal,
        "penalty_charges": [
            [c.installment_number, str(c.amount), c.charged_on.isoformat()] for c in loan.penalty_charges
        ],
    }


_LOAN_UPDATE_FIELDS = (
    "status",
    "closed_on",
    "written_off_on",
    "days_past_due",
    "worst_days_past_due",
    "arrears_bucket",
    "last_close_of_business",
    "outstanding_principal",
    "penalty_charges",
    "oldest_unpaid_due_on",
    "next_penalty_on",
    "last_transaction_on",
    "updated_at",
)
_BALANCE_FIELDS = ("principal_outstanding", "interest_outstanding", "fees_outstanding", "penalties_outstanding")


# One statement reads a loan with its installments and transactions: each child table is folded into a
# JSON array in a correlated subquery. Money travels as text (never a JSON number, which would be a float).
_LOAD_SQL = """
SELECT l.*,
  COALESCE((
    SELECT json_agg(json_build_array(
      i.id, i.number, i.due_date, i.principal_due::text, i.interest_due::text, i.fees_due::text,
      i.penalties_due::text, i.total_due::text, i.balance_after::text, i.principal_outstanding::text,
      i.interest_outstanding::text, i.fees_outstanding::text, i.penalties_outstanding::text
    ) ORDER BY i.number)
    FROM lending_installment i WHERE i.loan_id = l.id
  ), '[]'::json) AS installment_rows,
  COALESCE((
    SELECT json_agg(json_build_array(
      t.id, t.sequence, t.kind, t."on", t.amount::text, t.principal::text, t.interest::text, t.fees::text,
      t.penalties::text, t.allocation, t.idempotency_key, t.external_ref, t.reverses, t.reversed_by
    ) ORDER BY t.sequence)
    FROM lending_loantransaction t WHERE t.loan_id = l.id
  ), '[]'::json) AS transaction_rows
FROM lending_loan l
WHERE {where}
ORDER BY l.id
{lock}
"""


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _installment_from_json(loan_id: str, item: list[Any]) -> models.Installment:
    (pk, number, due, p_due, i_due, f_due, pen_due, total, balance, p_out, i_out, f_out, pen_out) = item
    return models.Installment(
        id=pk,
        loan_id=loan_id,
        number=number,
        due_date=date.fromisoformat(due),
        principal_due=Decimal(p_due),
        interest_due=Decimal(i_due),
        fees_due=Decimal(f_due),
        penalties_due=Decimal(pen_due),
        total_due=Decimal(total),
        balance_after=Decimal(balance),
        principal_outstanding=Decimal(p_out),
        interest_outstanding=Decimal(i_out),
        fees_outstanding=Decimal(f_out),
        penalties_outstanding=Decimal(pen_out),
    )


def _transaction_row_from_json(loan_id: str, item: list[Any]) -> models.LoanTransaction:
    (pk, sequence, kind, on, amount, principal, interest, fees, penalties, allocation, key, ref, reverses, by) = item
    return models.LoanTransaction(
        id=pk,
        loan_id=loan_id,
        sequence=sequence,
        kind=kind,
        on=date.fromisoformat(on),
        amount=Decimal(amount),
        principal=Decimal(principal),
        interest=Decimal(interest),
        fees=Decimal(fees),
        penalties=Decimal(penalties),
        allocation=allocation,
        idempotency_key=key,
        external_ref=ref,
        reverses=reverses,
        reversed_by=by,
    )


#: Up to this many rows are updated one statement each: Django's ``bulk_update`` builds a CASE expression per
#: field and row, which costs more Python time than the round trips it saves on a handful of rows (a repayment
#: changes one loan and one or two installments; close of business changes hundreds at once).
_SINGLE_UPDATES = 4


def _update_rows(model: Any, rows: Sequence[Any], fields: Sequence[str], *, bulk: bool) -> None:
    if not rows:
        return
    if bulk or len(rows) > _SINGLE_UPDATES:
        _update_from_arrays(model, rows, fields)
        return
    for row in rows:
        model.objects.filter(pk=row.pk).update(**{field: getattr(row, field) for field in fields})


def _update_from_arrays(model: Any, rows: Sequence[Any], fields: Sequence[str]) -> None:
    """One ``UPDATE … FROM unnest(<one array per column>)`` for all ``rows``.

    Django's ``bulk_update`` writes a ``CASE WHEN id = … THEN …`` per field and row and resolves each as a
    query expression: for a close-of-business batch of 500 loans that took most of the batch's time (12 of
    18 s when profiled at 1M loans). Arrays are adapted by psycopg in C; the statement is the same size
    whatever the batch.
    """
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f'"{f.column}" = v."{f.column}"' for f in columns)
    arrays = [f"%s::{_array_type(pk)}", *(f"%s::{_array_type(f)}" for f in columns)]
    names = ", ".join(['"__pk"', *(f'"{f.column}"' for f in columns)])
    sql = (
        f'UPDATE "{meta.db_table}" AS t SET {assignments} '  # noqa: S608 - names from the model
        f"FROM unnest({', '.join(arrays)}) AS v({names}) "
        f'WHERE t."{pk.column}" = v."__pk"'
    )
    params: list[list[Any]] = [[row.pk for row in rows]]
    for field in columns:
        values = [getattr(row, field.attname) for row in rows]
        if field.get_internal_type() == "JSONField":
            values = [None if v is None else json.dumps(v) for v in values]
        params.append(values)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != len(rows):
            raise NotFound(entity=meta.model_name, key=f"{len(rows) - cursor.rowcount} of {len(rows)} rows")


def _array_type(field: Any) -> str:
    """The SQL array type for ``field``'s values (JSON travels as text and is cast)."""
    if field.get_internal_type() == "JSONField":
        return "text[]::jsonb[]"
    return f"{field.db_type(connection)}[]"


@dataclass
class _Snapshot:
    loan_row: models.Loan
    installments: list[models.Installment]
    transactions: dict[str, models.LoanTransaction]


@dataclass
class _Pending:
    """What ``save`` must write for one loan (used directly, or collected by a deferred repository)."""

    loan_row: models.Loan
    installments: list[models.Installment]
    new_transactions: list[models.LoanTransaction]
    changed_transactions: list[models.LoanTransaction]


class DjangoLoanRepository:
    """Disbursed loans (``LoanRepository`` port). See the module docstring for ``lock`` and ``deferred``."""

    def __init__(self, *, lock: bool = False, deferred: bool = False, only_ids: Sequence[str] | None = None) -> None:
        self._lock = lock
        self._deferred = deferred
        self._only_ids = None if only_ids is None else list(only_ids)
        self._pending: list[_Pending] = []
        # Rows read by this repository, so ``save`` writes differences without reading them again.
        self._snapshots: dict[str, _Snapshot] = {}

    # -- reading
    def _load(self, where: str, params: list[Any]) -> list[Loan]:
        """Loans matching ``where`` (SQL on ``l``, the loan table), each with its installments and
        transactions, in ONE query (``FOR UPDATE OF l`` when locking)."""
        sql = _LOAD_SQL.format(where=where, lock="FOR UPDATE OF l" if self._lock else "")
        loans: list[Loan] = []
        for row in models.Loan.objects.raw(sql, params):
            installments = [_installment_from_json(row.id, item) for item in _json(row.installment_rows)]
            transactions = [_transaction_row_from_json(row.id, item) for item in _json(row.transaction_rows)]
            self._snapshots[row.id] = _Snapshot(row, installments, {t.id: t for t in transactions})
            loans.append(loan_from_rows(row, installments, transactions))
        return loans

    def get(self, loan_id: str) -> Loan:
        loans = self._load("l.id = %s", [loan_id])
        if not loans:
            raise NotFound(entity="loan", key=loan_id)
        return loans[0]

    def get_by_transaction(self, transaction_id: str) -> Loan:
        loan_id = models.LoanTransaction.objects.filter(id=transaction_id).values_list("loan_id", flat=True).first()
        if loan_id is None:
            raise NotFound(entity="loan transaction", key=transaction_id)
        return self.get(loan_id)

    def active(self) -> Sequence[Loan]:
        if self._only_ids is None:
            return self._load("l.status = %s", [LoanStatus.ACTIVE.value])
        return self._load("l.status = %s AND l.id = ANY(%s)", [LoanStatus.ACTIVE.value, self._only_ids])

    def stored_row(self, loan_id: str) -> models.Loan:
        """The loan's row as this repository last read or wrote it (no query): after ``save`` of a loan it
        read, the values now in the table. Raises ``NotFound`` for a loan it never read."""
        snapshot = self._snapshots.get(loan_id)
        if snapshot is None:
            raise NotFound(entity="loan", key=loan_id)
        return snapshot.loan_row

    # -- writing
    def add(self, loan: Loan) -> None:
        officer = ""
        if loan.application_id is not None:
            officer = (
                models.LoanApplication.objects.filter(id=loan.application_id)
                .values_list("created_by", flat=True)
                .first()
                or ""
            )
        balances = {b.number: b for b in loan.balances}
        try:
            with transaction.atomic():
                models.Loan.objects.create(
                    id=loan.loan_id,
                    borrower_id=loan.borrower_id,
                    product_id=loan.product_id,
                    application_ref=loan.application_id,
                    officer=officer,
                    disbursed_on=loan.disbursed_on,
                    principal=loan.principal,
                    upfront_fee=loan.upfront_fee,
                    late_penalty_percent=loan.late_penalty_percent,
                    penalty_grace_days=loan.penalty_grace_days,
                    **_loan_fields(loan),
                )
                models.Installment.objects.bulk_create(
                    models.Installment(
                        loan_id=loan.loan_id,
                        number=i.number,
                        due_date=i.due_date,
                        principal_due=i.principal_due,
                        interest_due=i.interest_due,
                        fees_due=i.fees_due,
                        penalties_due=i.penalties_due,
                        total_due=i.total_due,
                        balance_after=i.balance_after,
                        principal_outstanding=balances[i.number].principal,
                        interest_outstanding=balances[i.number].interest,
                        fees_outstanding=balances[i.number].fees,
                        penalties_outstanding=balances[i.number].penalties,
                    )
                    for i in loan.schedule.installments
                )
                models.LoanTransaction.objects.bulk_create(_transaction_row(loan.loan_id, t) for t in loan.transactions)
        except IntegrityError:
            if models.Loan.objects.filter(id=loan.loan_id).exists():
                raise ValidationError("a loan with this id exists", field="loan_id", rule="unique") from None
            raise

    def save(self, loan: Loan) -> None:
        """Store the loan's new state. Raises ``NotFound`` for a loan never added."""
        pending = self._changes(loan)
        if self._deferred:
            self._pending.append(pending)
        else:
            self._write([pending])

    def flush(self) -> int:
        """Write every deferred ``save`` (bulk statements); returns how many loans were written."""
        pending, self._pending = self._pending, []
        self._write(pending, bulk=True)
        return len(pending)

    def _snapshot(self, loan_id: str) -> _Snapshot:
        snapshot = self._snapshots.get(loan_id)
        if snapshot is None:
            row = models.Loan.objects.filter(id=loan_id).first()
            if row is None:
                raise NotFound(entity="loan", key=loan_id)
            snapshot = _Snapshot(
                row,
                list(models.Installment.objects.filter(loan_id=loan_id)),
                {t.id: t for t in models.LoanTransaction.objects.filter(loan_id=loan_id)},
            )
            self._snapshots[loan_id] = snapshot
        return snapshot

    def _changes(self, loan: Loan) -> _Pending:
        snapshot = self._snapshot(loan.loan_id)
        row = snapshot.loan_row
        for name, value in _loan_fields(loan).items():
            setattr(row, name, value)
        row.updated_at = timezone.now()
        balances = {b.number: b for b in loan.balances}
        installments: list[models.Installment] = []  # only the rows whose balances changed
        for inst in snapshot.installments:
            b = balances[inst.number]
            now_outstanding = (b.principal, b.interest, b.fees, b.penalties)
            if now_outstanding != tuple(getattr(inst, field) for field in _BALANCE_FIELDS):
                (
                    inst.principal_outstanding,
                    inst.interest_outstanding,
                    inst.fees_outstanding,
                    inst.penalties_outstanding,
                ) = now_outstanding
                installments.append(inst)
        stored = snapshot.transactions
        new: list[models.LoanTransaction] = []
        changed: list[models.LoanTransaction] = []
        for txn in loan.transactions:
            candidate = _transaction_row(loan.loan_id, txn)
            old = stored.get(txn.transaction_id)
            if old is None:
                new.append(candidate)
            elif any(getattr(old, f) != getattr(candidate, f) for f in _TRANSACTION_FIELDS):
                changed.append(candidate)
        stored.update((t.id, t) for t in (*new, *changed))
        return _Pending(row, installments, new, changed)

    @staticmethod
    def _write(pending: list[_Pending], *, bulk: bool = False) -> None:
        """``bulk``: one statement per table whatever the count (a deferred repository's batch)."""
        if not pending:
            return
        # All or nothing without a savepoint: inside the caller's transaction an error marks it for rollback
        # (nothing is caught here to continue with), outside one this opens its own.
        with transaction.atomic(savepoint=False):
            _update_rows(models.Loan, [p.loan_row for p in pending], (*_LOAN_UPDATE_FIELDS,), bulk=bulk)
            _update_rows(models.Installment, [i for p in pending for i in p.installments], _BALANCE_FIELDS, bulk=bulk)
            _update_rows(
                models.LoanTransaction,
                [t for p in pending for t in p.changed_transactions],
                _TRANSACTION_FIELDS,
                bulk=bulk,
            )
            new = [t for p in pending for t in p.new_transactions]
            if new:
                models.LoanTransaction.objects.bulk_create(new, batch_size=1000)
