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
from decimal import Decimal
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
    CloseOfBusinessResult,
    Loan,
    LoanApplication,
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


def stored_loan_state(loan_id: str) -> dict[str, Any]:
    """``loan_state`` of the stored row (one small query, no aggregate rebuilt)."""
    row = (
        models.Loan.objects.filter(id=loan_id)
        .values("status", "outstanding_principal", "days_past_due", "arrears_bucket")
        .first()
    )
    if row is None:
        raise NotFound(entity="loan", key=loan_id)
    return {**row, "outstanding_principal": str(row["outstanding_principal"])}


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


def lock_loan(loan_id: str) -> None:
    """``SELECT … FOR UPDATE`` on the loan row: changes to one loan run one after the other."""
    if not list(models.Loan.objects.select_for_update().filter(id=loan_id).values_list("id", flat=True)[:1]):
        raise NotFound(entity="loan", key=loan_id)


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
    lock: Callable[[], None] | None = None,
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
) -> tuple[dict[str, Any], RepaymentResult]:
    """Post a repayment (``record_repayment``: journal entries, registry event) and audit it; returns the
    loan's state after it and the core's result. Call under ``lock_loan`` (``idempotent_response``).
    Raises as ``record_repayment`` does (``OverpaymentRefused`` 422 with the payoff amount, ...)."""
    before = stored_loan_state(loan_id)
    result = core.record_repayment(
        loan_id=loan_id,
        amount=amount,
        on=_not_in_future(on or today(), field="on"),
        loans=DjangoLoanRepository(),
        idempotency_key=idempotency_key,
        external_ref=external_ref,
        transaction_id=new_id(),
        **_ports(),
    )
    after = stored_loan_state(loan_id)
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
    lock_loan(loan_id)
    before = stored_loan_state(loan_id)
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
    lock_loan(loan_id)
    before = stored_loan_state(loan_id)
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


#: Active loans whose close of business for ``%(as_of)s`` changes nothing but their days past due and date stamp,
#: stamped set-based. For a loan that passes every test below, the core's ``Loan.close_business_day`` meets the
#: stored balances (no transaction dated after ``as_of`` and no penalty charged on or after it, so the balances
#: "as of" that day are the stored ones), charges no penalty (no installment more than the grace days late and
#: not yet penalised still has principal, interest or fees outstanding), so replays nothing and re-allocates
#: nothing, finds the DPD of the oldest installment (by number) with anything outstanding, keeps the stored
#: arrears bucket (so no ``ArrearsChanged``) and crosses no registry DPD milestone (so no registry event), and
#: its ``save`` writes back the stored row except DPD, worst DPD, the date stamp and ``updated_at`` (the stored
#: outstanding principal is checked to be the sum of the installments', which is what ``save`` would write).
#: Loans that fail any test go through the core. The lateral subquery reads each loan's installments once
#: (``lending_installment_unique_number`` index). ``tests/integration/test_cob_close_of_business.py`` compares
#: the result with the core's own on loans in every state over several dates.
_STAMP_ONLY_SQL = f"""
WITH candidate AS (
  SELECT l.id,
    CASE WHEN s.oldest_unpaid IS NULL OR s.oldest_unpaid >= %(as_of)s::date THEN 0
         ELSE %(as_of)s::date - s.oldest_unpaid END AS dpd
  FROM lending_loan l
  CROSS JOIN LATERAL (
    SELECT ARRAY(SELECT (c ->> 0)::int FROM jsonb_array_elements(l.penalty_charges) c) AS charged,
      NOT EXISTS (
        SELECT 1 FROM jsonb_array_elements(l.penalty_charges) c WHERE (c ->> 2)::date >= %(as_of)s::date
      ) AS charges_before
  ) p
  CROSS JOIN LATERAL (
    SELECT
      (array_agg(i.due_date ORDER BY i.number) FILTER (
        WHERE i.principal_outstanding + i.interest_outstanding + i.fees_outstanding + i.penalties_outstanding > 0
      ))[1] AS oldest_unpaid,
      coalesce(sum(i.principal_outstanding), 0) AS principal,
      coalesce(bool_or(
        i.due_date < %(as_of)s::date - l.penalty_grace_days
        AND i.principal_outstanding + i.interest_outstanding + i.fees_outstanding > 0
        AND i.number <> ALL(p.charged)
      ), false) AS penalty_candidate
    FROM lending_installment i WHERE i.loan_id = l.id
  ) s
  WHERE l.id = ANY(%(ids)s)
    AND l.status = 'active'
    AND (l.last_close_of_business IS NULL OR l.last_close_of_business < %(as_of)s::date)
    AND p.charges_before
    AND (l.late_penalty_percent = 0 OR NOT s.penalty_candidate)
    AND s.principal = l.outstanding_principal
    AND NOT EXISTS (SELECT 1 FROM lending_loantransaction t WHERE t.loan_id = l.id AND t."on" > %(as_of)s::date)
)
UPDATE lending_loan l
SET days_past_due = c.dpd,
    worst_days_past_due = GREATEST(l.worst_days_past_due, c.dpd),
    last_close_of_business = %(as_of)s::date,
    updated_at = %(now)s
FROM candidate c
WHERE l.id = c.id
  AND l.arrears_bucket = {_bucket_case("c.dpd")}
  AND NOT ({_milestone_crossed("l.days_past_due", "c.dpd")})
RETURNING l.id
"""  # noqa: S608 - what is formatted in is built from the core's constants, never from input


def close_business_batch(*, loan_ids: list[str], as_of: date) -> CloseOfBusinessResult:
    """The core's close of business over these loans, in one transaction, written with bulk statements.

    Locks the loans (a repayment waits for the batch). Loans whose day changes only their days past due
    and date stamp (``_STAMP_ONLY_SQL``: no penalty, no bucket change, no registry event) are stamped by
    one statement; the others go through the core. Loans
    already processed for ``as_of`` are skipped, so a rerun changes nothing. Posts the re-allocation
    entries and queues the registry events the core asks for; records one audit event for the batch.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Lock first (in id order, as repayments lock one loan at a time): the stamp's tests below then read
            # rows nobody else can change until this batch commits.
            cursor.execute("SELECT id FROM lending_loan WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [loan_ids])
            cursor.execute(_STAMP_ONLY_SQL, {"ids": loan_ids, "as_of": as_of, "now": timezone.now()})
            stamped = {row[0] for row in cursor.fetchall()}
        rest = [loan_id for loan_id in loan_ids if loan_id not in stamped]
        loans = DjangoLoanRepository(lock=True, deferred=True, only_ids=rest)
        borrowers = borrower_repository()
        core_result = core.run_close_of_business(
            as_of=as_of,
            tenant=current_tenant(),
            loans=loans,
            borrowers=_Remembered(borrowers, "get"),
            products=_Remembered(DjangoProductRepository(), "get"),
            outbox=DjangoOutbox(),
            hasher=_Remembered(hasher(), "digest"),
            journal=DjangoJournal(),
        )
        loans.flush()
        result = CloseOfBusinessResult(
            as_of=as_of,
            processed=tuple(sorted((*stamped, *core_result.processed))),
            skipped=core_result.skipped,
            events=core_result.events,
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
                    "penalties": len(result.penalties_charged),
                    "arrears_changes": len(result.arrears_changes),
                    "reallocations": len(result.reallocations),
                    "first_loan": result.processed[0],
                    "last_loan": result.processed[-1],
                },
            )
    return result
