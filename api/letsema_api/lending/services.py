"""Lending use cases as the API and jobs run them: the core's use case over the Django adapters, plus
the audit event, the loan-row lock and the idempotency record.

Each function runs inside the caller's transaction (``ATOMIC_REQUESTS`` for the API; the jobs open
their own) and does no business arithmetic: rules come from ``letsema_core.services``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from letsema_api.borrowers.repositories import DjangoConsentRepository
from letsema_api.borrowers.services import borrower_repository
from letsema_api.common.audit import record_audit
from letsema_api.credit.registry_client import current_tenant, get_registry, registry_calls
from letsema_api.ledger.repositories import DjangoJournal
from letsema_api.lending import models
from letsema_api.lending.repositories import DjangoApplicationRepository, DjangoLoanRepository
from letsema_api.outbox.repositories import DjangoOutbox
from letsema_api.products.repositories import DjangoProductRepository
from letsema_api.vault import get_vault
from letsema_core import services as core
from letsema_core.credit import CreditAssessment
from letsema_core.credit.keys import KeyedHasher
from letsema_core.errors import DomainError, NotFound, ValidationError
from letsema_core.loans import (
    BUCKET_UPPER_BOUNDS,
    ArrearsBucket,
    CloseOfBusinessResult,
    Loan,
    LoanApplication,
    LoanStatus,
    LoanTransaction,
    RepaymentResult,
    Role,
)
from letsema_core.services.servicing import REGISTRY_DPD_MILESTONES


class IdempotencyKeyConflict(DomainError):
    """The ``Idempotency-Key`` was used before for a different request (another body or resource)."""

    code = "idempotency_key_conflict"
    http_status = 409


def new_id() -> str:
    return str(uuid.uuid4())


def today() -> date:
    """The business date in the tenant's time zone (settings.TIME_ZONE)."""
    day: date = timezone.localdate()
    return day


def _not_in_future(on: date, *, field: str) -> date:
    if on > today():
        raise ValidationError(f"{field} cannot be in the future", field=field, rule="not_in_future")
    return on


@dataclass(frozen=True)
class Actor:
    """Who acts: the principal's name (user name, or ``client:<id>``) and role."""

    name: str
    role: Role


def hasher() -> KeyedHasher:
    return get_vault().keyed_hasher()


# ------------------------------------------------------------------------------------ snapshots


def application_state(application: LoanApplication) -> dict[str, Any]:
    return {
        "status": application.status.value,
        "principal": str(application.principal),
        "term_in_periods": application.term_in_periods,
        "submitted_by": application.submitted_by,
        "decided_by": application.decided_by,
        "rejection_reasons": list(application.rejection_reasons),
        "loan_id": application.loan_id,
    }


def loan_state(loan: Loan) -> dict[str, Any]:
    return {
        "status": loan.status.value,
        "outstanding_principal": str(loan.outstanding_principal),
        "days_past_due": loan.days_past_due,
        "arrears_bucket": loan.arrears_bucket.value,
    }


_LOAN_STATE_FIELDS = ("status", "outstanding_principal", "days_past_due", "arrears_bucket")
_CENT = Decimal("0.01")


def stored_loan_state(loan_id: str) -> dict[str, Any]:
    """``loan_state`` of the stored row (one small query, no aggregate rebuilt)."""
    row = models.Loan.objects.filter(id=loan_id).values(*_LOAN_STATE_FIELDS).first()
    if row is None:
        raise NotFound(entity="loan", key=loan_id)
    return _state_of_values(row)


def _state_of_values(row: dict[str, Any]) -> dict[str, Any]:
    """``loan_state`` of ``.values(*_LOAN_STATE_FIELDS)``: the amount as its string."""
    return {**row, "outstanding_principal": str(row["outstanding_principal"])}


def row_loan_state(row: models.Loan) -> dict[str, Any]:
    """``stored_loan_state`` of a loan row in memory (``DjangoLoanRepository.stored_row``): the amount as the
    table's two decimal places hold it."""
    return {
        "status": row.status,
        "outstanding_principal": str(Decimal(row.outstanding_principal).quantize(_CENT, rounding=ROUND_HALF_UP)),
        "days_past_due": row.days_past_due,
        "arrears_bucket": row.arrears_bucket,
    }


# ---------------------------------------------------------------------------------- applications


def application_create(
    *, actor: Actor, borrower_id: str, product_id: str, principal: Decimal, term_in_periods: int
) -> LoanApplication:
    """A draft application (``create_application``); raises as it does."""
    application = core.create_application(
        application_id=new_id(),
        borrower_id=borrower_id,
        product_id=product_id,
        principal=principal,
        term_in_periods=term_in_periods,
        created_by=actor.name,
        on=today(),
        applications=DjangoApplicationRepository(),
        borrowers=borrower_repository(),
        products=DjangoProductRepository(),
    )
    record_audit(
        actor=actor.name,
        action="loan_application.create",
        entity="loan_application",
        entity_id=application.application_id,
        after=application_state(application),
    )
    return application


def _transition(actor: Actor, application_id: str, action: str, change: Any) -> LoanApplication:
    """Lock the application, apply ``change`` (a core use case call) and audit before/after."""
    applications = DjangoApplicationRepository(lock=True)
    before = application_state(applications.get(application_id))
    application: LoanApplication = change(applications)
    record_audit(
        actor=actor.name,
        action=f"loan_application.{action}",
        entity="loan_application",
        entity_id=application_id,
        before=before,
        after=application_state(application),
    )
    return application


def application_submit(*, actor: Actor, application_id: str) -> LoanApplication:
    return _transition(
        actor,
        application_id,
        "submit",
        lambda apps: core.submit_application(
            application_id=application_id, by=actor.name, on=today(), applications=apps
        ),
    )


def application_approve(*, actor: Actor, application_id: str) -> LoanApplication:
    """Maker-checker and the approval limit come from the core (403/422 as its errors say)."""
    return _transition(
        actor,
        application_id,
        "approve",
        lambda apps: core.approve_application(
            application_id=application_id,
            by=actor.name,
            role=actor.role,
            on=today(),
            applications=apps,
            products=DjangoProductRepository(),
        ),
    )


def application_reject(*, actor: Actor, application_id: str, reasons: tuple[str, ...]) -> LoanApplication:
    return _transition(
        actor,
        application_id,
        "reject",
        lambda apps: core.reject_application(
            application_id=application_id,
            by=actor.name,
            role=actor.role,
            on=today(),
            reasons=reasons,
            applications=apps,
        ),
    )


def application_withdraw(*, actor: Actor, application_id: str) -> LoanApplication:
    def withdraw(apps: DjangoApplicationRepository) -> LoanApplication:
        application = apps.get(application_id)
        application.withdraw(by=actor.name, on=today())
        apps.save(application)
        return application

    return _transition(actor, application_id, "withdraw", withdraw)


def application_assess(*, actor: Actor, application_id: str) -> CreditAssessment:
    """Pull the cross-MFI report (an inquiry; consent required) and record the assessment.

    Raises as ``assess_application`` does, and ``RegistryUnavailable`` (503) when the registry is down.
    """
    applications = DjangoApplicationRepository(lock=True)
    with registry_calls():
        assessment = core.assess_application(
            application_id=application_id,
            user=actor.name,
            at=timezone.now(),
            inquiry_id=new_id(),
            tenant=current_tenant(),
            applications=applications,
            borrowers=borrower_repository(),
            products=DjangoProductRepository(),
            consents=DjangoConsentRepository(),
            registry=get_registry(),
            hasher=hasher(),
        )
    record_audit(
        actor=actor.name,
        action="loan_application.assess",
        entity="loan_application",
        entity_id=application_id,
        after={
            "recommendation": assessment.recommendation.value,
            "flags": [f.code.value for f in assessment.flags],
            "score": assessment.score.points,
        },
    )
    return assessment


def application_disburse(
    *, actor: Actor, application_id: str, on: date | None, first_repayment_date: date | None
) -> Loan:
    """Open the loan with its schedule, journal entry and ``account_opened`` outbox event (one transaction)."""
    applications = DjangoApplicationRepository(lock=True)
    before = application_state(applications.get(application_id))
    disbursed_on = _not_in_future(on or today(), field="disbursed_on")
    with transaction.atomic():
        result = core.disburse_loan(
            application_id=application_id,
            loan_id=new_id(),
            by=actor.name,
            on=disbursed_on,
            tenant=current_tenant(),
            applications=applications,
            products=DjangoProductRepository(),
            borrowers=borrower_repository(),
            loans=DjangoLoanRepository(),
            outbox=DjangoOutbox(),
            hasher=hasher(),
            journal=DjangoJournal(),
            first_repayment_date=first_repayment_date,
        )
        loan = result.loan
        record_audit(
            actor=actor.name,
            action="loan_application.disburse",
            entity="loan_application",
            entity_id=application_id,
            before=before,
            after={**before, "status": "disbursed", "loan_id": loan.loan_id},
        )
        record_audit(
            actor=actor.name, action="loan.open", entity="loan", entity_id=loan.loan_id, after=loan_state(loan)
        )
    return loan


# -------------------------------------------------------------------------------------- servicing


def lock_loan(loan_id: str) -> dict[str, Any]:
    """``SELECT … FOR UPDATE`` on the loan row: changes to one loan run one after the other. Returns the
    locked row's ``stored_loan_state`` (read by the same statement: the audit's "before")."""
    rows = list(models.Loan.objects.select_for_update().filter(id=loan_id).values(*_LOAN_STATE_FIELDS)[:1])
    if not rows:
        raise NotFound(entity="loan", key=loan_id)
    return _state_of_values(rows[0])


def request_fingerprint(*, method: str, path: str, body: Any) -> str:
    canonical = json.dumps({"method": method, "path": path, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]
    replayed: bool


def _ports() -> dict[str, Any]:
    return {
        "tenant": current_tenant(),
        "borrowers": borrower_repository(),
        "products": DjangoProductRepository(),
        "outbox": DjangoOutbox(),
        "hasher": hasher(),
        "journal": DjangoJournal(),
    }


def idempotent_response(
    *,
    scope: str,
    key: str,
    fingerprint: str,
    actor: Actor,
    produce: Callable[[], tuple[int, dict[str, Any]]],
    lock: Callable[[], object] | None = None,
) -> StoredResponse:
    """Run ``produce`` once per ``(scope, caller, key)`` and keep its response; a repeat gets it back.

    ``lock`` (e.g. ``lock_loan``) runs first, so a concurrent repeat waits for the first request and then
    finds its response. A repeat returns the original status and body (``replayed``) and runs nothing;
    the same key with another ``fingerprint`` (method, path, body) raises ``IdempotencyKeyConflict`` (409).
    Nothing is kept when ``produce`` raises: the request's transaction rolls back and a retry runs again.
    """
    if lock is not None:
        lock()
    record = models.IdempotencyRecord.objects.filter(scope=scope, created_by=actor.name, key=key).first()
    if record is not None:
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyConflict(
                "this Idempotency-Key was used for a different request", details={"idempotency_key": key}
            )
        return StoredResponse(record.response_status, record.response_body, replayed=True)
    status, body = produce()
    models.IdempotencyRecord.objects.create(
        scope=scope, key=key, fingerprint=fingerprint, response_status=status, response_body=body, created_by=actor.name
    )
    return StoredResponse(status, body, replayed=False)


def lock_application(application_id: str) -> None:
    """``SELECT … FOR UPDATE`` on the application row (a retried disbursement waits for the first)."""
    rows = models.LoanApplication.objects.select_for_update().filter(id=application_id).values_list("id", flat=True)
    if not list(rows[:1]):
        raise NotFound(entity="loan application", key=application_id)


def repayment_post(
    *,
    actor: Actor,
    loan_id: str,
    amount: Decimal,
    on: date | None,
    external_ref: str | None,
    idempotency_key: str | None,
    before: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], RepaymentResult]:
    """Post a repayment (``record_repayment``: journal entries, registry event) and audit it; returns the
    loan's state after it and the core's result. Call under ``lock_loan`` (``idempotent_response``) and pass
    what it returned as ``before`` (else it is read again). Raises as ``record_repayment`` does
    (``OverpaymentRefused`` 422 with the payoff amount, ...)."""
    if before is None:
        before = stored_loan_state(loan_id)
    loans = DjangoLoanRepository()
    result = core.record_repayment(
        loan_id=loan_id,
        amount=amount,
        on=_not_in_future(on or today(), field="on"),
        loans=loans,
        idempotency_key=idempotency_key,
        external_ref=external_ref,
        transaction_id=new_id(),
        **_ports(),
    )
    # The row the repository wrote (or read, for a repeat that wrote nothing): no query to read it back.
    after = row_loan_state(loans.stored_row(loan_id))
    record_audit(
        actor=actor.name,
        action="loan.repayment",
        entity="loan",
        entity_id=loan_id,
        before=before,
        after={**after, "transaction_id": result.transaction.transaction_id, "amount": str(amount)},
    )
    return after, result


def repayment_reverse(
    *, actor: Actor, transaction_id: str, on: date | None
) -> tuple[str, dict[str, Any], RepaymentResult]:
    """Reverse a repayment (later payments replayed). Raises as ``reverse_repayment`` does."""
    loan_id = models.LoanTransaction.objects.filter(id=transaction_id).values_list("loan_id", flat=True).first()
    if loan_id is None:
        raise NotFound(entity="repayment", key=transaction_id)
    before = lock_loan(loan_id)
    result = core.reverse_repayment(
        transaction_id=transaction_id,
        on=_not_in_future(on or today(), field="on"),
        loans=DjangoLoanRepository(),
        reversal_id=new_id(),
        **_ports(),
    )
    after = stored_loan_state(loan_id)
    record_audit(
        actor=actor.name,
        action="loan.repayment_reversal",
        entity="loan",
        entity_id=loan_id,
        before=before,
        after={**after, "reversed": transaction_id, "reversal_id": result.transaction.transaction_id},
    )
    return loan_id, after, result


def loan_write_off(*, actor: Actor, loan_id: str, on: date | None) -> LoanTransaction:
    before = lock_loan(loan_id)
    txn = core.write_off_loan(
        loan_id=loan_id, on=_not_in_future(on or today(), field="on"), loans=DjangoLoanRepository(), **_ports()
    )
    record_audit(
        actor=actor.name,
        action="loan.write_off",
        entity="loan",
        entity_id=loan_id,
        before=before,
        after={**stored_loan_state(loan_id), "transaction_id": txn.transaction_id},
    )
    return txn


# -------------------------------------------------------------------------------- close of business


class _Remembered:
    """``inner`` with one of its one-argument methods answered from memory for one batch: a batch asks
    for the same product, borrower or HMAC many times (each HMAC is a Transit call). Everything else
    passes through."""

    def __init__(self, inner: Any, method: str) -> None:
        self._inner = inner
        self._method = method
        self._seen: dict[str, Any] = {}

    def _remembered(self, key: str) -> Any:
        if key not in self._seen:
            self._seen[key] = getattr(self._inner, self._method)(key)
        return self._seen[key]

    def __getattr__(self, name: str) -> Any:
        return self._remembered if name == self._method else getattr(self._inner, name)


def loans_due_for_close_of_business(*, as_of: date) -> tuple[list[str], int]:
    """Ids of the active loans not yet closed for ``as_of`` (in id order), and how many active loans exist."""
    active = models.Loan.objects.filter(status="active")
    due = active.filter(Q(last_close_of_business__isnull=True) | Q(last_close_of_business__lt=as_of))
    return list(due.order_by("id").values_list("id", flat=True)), active.count()


def _bucket_case(dpd: str) -> str:
    """``arrears_bucket`` in SQL: a CASE over ``dpd`` built from the core's ``BUCKET_UPPER_BOUNDS``."""
    arms = " ".join(
        f"WHEN {dpd} <= {upper} THEN '{bucket.value}'" for bucket, upper in BUCKET_UPPER_BOUNDS if upper is not None
    )
    last = BUCKET_UPPER_BOUNDS[-1][0].value
    return f"CASE {arms} ELSE '{last}' END"


def _milestone_crossed(before: str, after: str) -> str:
    """``servicing.run_close_of_business``'s DPD milestone test in SQL (from ``REGISTRY_DPD_MILESTONES``)."""
    return " OR ".join(f"({before} < {m} AND {after} >= {m})" for m in REGISTRY_DPD_MILESTONES) or "false"


#: Close of business for ``%(as_of)s`` of the loan row ``l`` changes only its DPD and arrears bucket when the loan
#: is active and not yet closed for that date, no penalty can fall due (``next_penalty_on`` after the date: no
#: installment more than the grace days late and not yet penalised still owes principal, interest or fees),
#: nothing is dated after the date (``last_transaction_on``) and no penalty was charged for it or later: then the
#: core's ``Loan.close_business_day`` meets the stored balances (the balances "as of" that day), charges nothing,
#: replays and re-allocates nothing, and finds the DPD of the oldest installment with anything outstanding
#: (``oldest_unpaid_due_on``). Every test is on the loan row itself, so a statement that waited for a concurrent
#: repayment's row lock re-checks it on the row that repayment wrote (READ COMMITTED's re-check): no lock first.
_ONLY_DPD_CHANGES = """
  l.status = 'active'
  AND (l.last_close_of_business IS NULL OR l.last_close_of_business < %(as_of)s::date)
  AND (l.next_penalty_on IS NULL OR l.next_penalty_on > %(as_of)s::date)
  AND (l.last_transaction_on IS NULL OR l.last_transaction_on <= %(as_of)s::date)
  AND NOT EXISTS (
    SELECT 1 FROM jsonb_array_elements(l.penalty_charges) c WHERE (c ->> 2)::date >= %(as_of)s::date
  )
"""
_DPD = """(CASE WHEN l.oldest_unpaid_due_on IS NULL OR l.oldest_unpaid_due_on >= %(as_of)s::date THEN 0
  ELSE %(as_of)s::date - l.oldest_unpaid_due_on END)"""

#: Batches pass their loan ids as ONE JSON text parameter (``%(ids)s``): psycopg's client-side binding quotes a
#: Python list of 1 000 ids element by element with regular expressions (about 25 ms a batch when profiled).

#: The loans whose day changes nothing but the DPD and the date stamp (same bucket, no registry DPD milestone, so
#: no event either), stamped set-based: their ``save`` after the core would write back the stored row but for DPD,
#: worst DPD, the date stamp and ``updated_at``. ``tests/integration/test_cob_close_of_business.py`` compares every
#: row, event and entry with the core's own close of business over loans in every state on many dates.
_STAMP_ONLY_SQL = f"""
UPDATE lending_loan l
SET days_past_due = {_DPD},
    worst_days_past_due = GREATEST(l.worst_days_past_due, {_DPD}),
    last_close_of_business = %(as_of)s::date,
    updated_at = %(now)s
WHERE l.id = ANY(ARRAY(SELECT jsonb_array_elements_text(%(ids)s::jsonb)))
  AND {_ONLY_DPD_CHANGES}
  AND l.arrears_bucket = {_bucket_case(_DPD)}
  AND NOT ({_milestone_crossed("l.days_past_due", _DPD)})
RETURNING l.id
"""  # noqa: S608 - what is formatted in is built from the core's constants, never from input

#: The other loans of the batch, locked (in id order), with what deciding their path needs: loans whose day
#: changes only DPD and bucket (``only_dpd``) are written set-based with their events; the rest go through the core.
_LOCK_REST_SQL = f"""
SELECT l.id, ({_ONLY_DPD_CHANGES}) AS only_dpd, l.days_past_due, l.arrears_bucket, {_DPD} AS dpd,
  {_bucket_case(_DPD)} AS bucket, l.borrower_id, l.product_id, l.disbursed_on, l.principal,
  l.outstanding_principal,
  (SELECT i.total_due FROM lending_installment i WHERE i.loan_id = l.id ORDER BY i.number LIMIT 1)
FROM lending_loan l
WHERE l.id = ANY(ARRAY(SELECT jsonb_array_elements_text(%(ids)s::jsonb)))
ORDER BY l.id
FOR UPDATE OF l
"""  # noqa: S608 - what is formatted in is built from the core's constants, never from input

_SET_ARREARS_SQL = """
UPDATE lending_loan l
SET days_past_due = v.dpd,
    worst_days_past_due = GREATEST(l.worst_days_past_due, v.dpd),
    arrears_bucket = v.bucket,
    last_close_of_business = %(as_of)s::date,
    updated_at = %(now)s
FROM unnest(%(ids)s::varchar[], %(dpd)s::integer[], %(bucket)s::varchar[]) AS v(id, dpd, bucket)
WHERE l.id = v.id
"""


class _Borrowers:
    """The borrower repository with the registry keys of a batch's borrowers read up front (one query) and
    ``get`` remembered; everything else passes through."""

    def __init__(self, inner: Any, keys: dict[str, str]) -> None:
        self._inner = _Remembered(inner, "get")
        self._keys = keys

    def registry_key(self, borrower_id: str, hasher: KeyedHasher) -> str:
        key = self._keys.get(borrower_id)
        return key if key is not None else str(self._inner.registry_key(borrower_id, hasher))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def close_business_batch(*, loan_ids: list[str], as_of: date) -> CloseOfBusinessResult:
    """The core's close of business over these loans, in one transaction, written with bulk statements.

    Loans whose day changes only their days past due (``_STAMP_ONLY_SQL``: no penalty, no bucket change, no
    registry event) are stamped by one statement. The others are locked (a repayment waits for the batch);
    those whose day changes only DPD and arrears bucket are written with one statement and their
    ``ArrearsChanged`` and registry events built by the core (``close_of_business_events``); the rest go
    through the core's ``run_close_of_business``. Loans already processed for ``as_of`` are skipped, so a
    rerun changes nothing. Posts the re-allocation entries and queues the registry events the core asks
    for; records one audit event for the batch.
    """
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_STAMP_ONLY_SQL, {"ids": json.dumps(loan_ids), "as_of": as_of, "now": now})
            stamped = {row[0] for row in cursor.fetchall()}
            rest = [loan_id for loan_id in loan_ids if loan_id not in stamped]
            rows: list[tuple[Any, ...]] = []
            if rest:
                cursor.execute(_LOCK_REST_SQL, {"ids": json.dumps(rest), "as_of": as_of})
                rows = cursor.fetchall()
        arrears = [
            core.StampedArrears(
                facts=core.RegistryAccountFacts(
                    loan_id=loan_id,
                    borrower_id=str(borrower_id),
                    product_id=str(product_id),
                    opened_on=disbursed_on,
                    principal=principal,
                    outstanding_balance=outstanding,
                    installment_amount=installment_amount,
                    status=LoanStatus.ACTIVE,
                    days_past_due=dpd,
                ),
                days_past_due_before=dpd_before,
                bucket_before=ArrearsBucket(bucket_before),
                bucket=ArrearsBucket(bucket),
            )
            for (
                loan_id,
                only_dpd,
                dpd_before,
                bucket_before,
                dpd,
                bucket,
                borrower_id,
                product_id,
                disbursed_on,
                principal,
                outstanding,
                installment_amount,
            ) in rows
            if only_dpd
        ]
        through_core = [row[0] for row in rows if not row[1]]
        if arrears:
            with connection.cursor() as cursor:
                cursor.execute(
                    _SET_ARREARS_SQL,
                    {
                        "ids": [a.facts.loan_id for a in arrears],
                        "dpd": [a.facts.days_past_due for a in arrears],
                        "bucket": [a.bucket.value for a in arrears],
                        "as_of": as_of,
                        "now": now,
                    },
                )
        tenant = current_tenant()
        keyed = _Remembered(hasher(), "digest")
        outbox = DjangoOutbox(deferred=True)
        borrowers: Any = borrower_repository()
        if rows:
            outbox.prefetch_last_sequences(lender_mfi=tenant.mfi_id, loan_refs=[row[0] for row in rows])
            borrowers = _Borrowers(borrowers, borrowers.registry_keys(sorted({str(row[6]) for row in rows}), keyed))
        products = _Remembered(DjangoProductRepository(), "get")
        arrears_events = core.close_of_business_events(
            stamped=arrears,
            as_of=as_of,
            tenant=tenant,
            borrowers=borrowers,
            products=products,
            outbox=outbox,
            hasher=keyed,
        )
        loans = DjangoLoanRepository(lock=True, deferred=True, only_ids=through_core)
        core_result = core.run_close_of_business(
            as_of=as_of,
            tenant=tenant,
            loans=loans,
            borrowers=borrowers,
            products=products,
            outbox=outbox,
            hasher=keyed,
            journal=DjangoJournal(),
        )
        loans.flush()
        outbox.flush()
        set_based = [*stamped, *(a.facts.loan_id for a in arrears)]
        result = CloseOfBusinessResult(
            as_of=as_of,
            processed=tuple(sorted((*set_based, *core_result.processed))),
            skipped=core_result.skipped,
            events=(*arrears_events, *core_result.events),
        )
        if result.processed:
            record_audit(
                actor="close_of_business",
                action="loan.close_of_business",
                entity="close_of_business",
                entity_id=as_of.isoformat(),
                after={
                    "processed": len(result.processed),
                    "stamped_only": len(stamped),
                    "arrears_set_based": len(arrears),
                    "penalties": len(result.penalties_charged),
                    "arrears_changes": len(result.arrears_changes),
                    "reallocations": len(result.reallocations),
                    "first_loan": result.processed[0],
                    "last_loan": result.processed[-1],
                },
            )
    return result
