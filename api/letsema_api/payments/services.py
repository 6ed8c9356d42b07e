"""Mobile-money use cases: a signed M-Pesa receipt becomes a repayment or a suspense item; an officer
resolves suspense items onto a loan or refunds them.

Repayments go through ``lending.services.repayment_post`` (the core's ``record_repayment``: allocation,
journal, registry outbox, audit), exactly as an API repayment does. Whether a receipt fits a loan is the
core's call too: ``OverpaymentRefused`` (above the payoff) and ``IllegalLoanTransition`` (closed or
written off) send the money to suspense instead of refusing it, because a payment system cannot take a
refusal back — money received is never dropped.

Each function runs inside the caller's transaction (``ATOMIC_REQUESTS``): a receipt, its journal entries,
its suspense item and its audit events commit together or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from letsema_api.common.audit import record_audit
from letsema_api.ledger.repositories import DjangoJournal
from letsema_api.lending import services as lending
from letsema_api.lending.repositories import DjangoLoanRepository
from letsema_api.payments import models
from letsema_api.payments.models import ReceiptOutcome, SuspenseReason, SuspenseStatus
from letsema_api.vault import get_vault
from letsema_core.accounting import suspense_receipt_entry
from letsema_core.errors import DomainError, InvalidTransition, NotFound, ValidationError
from letsema_core.loans import IllegalLoanTransition, OverpaymentRefused, Role

CHANNEL = "mpesa"
# The callback acts as the payment system: audit events and the loan's transaction name it.
WEBHOOK_ACTOR = lending.Actor(name="webhook:mpesa", role=Role.INTEGRATION)
# A signed request is accepted this long either side of its timestamp; older ones are replays.
MAX_CLOCK_SKEW = timedelta(minutes=5)
SIGNATURE_PREFIX = "sha256="
_KEY_CACHE_SECONDS = 60.0


# ------------------------------------------------------------------------------------------ errors


class InvalidSignature(DomainError):
    """The callback's signature or timestamp header is missing or wrong (nothing was read or written)."""

    code = "invalid_signature"
    http_status = 401


class StaleTimestamp(DomainError):
    """The callback's timestamp is more than five minutes from now (a replayed or delayed request)."""

    code = "stale_timestamp"
    http_status = 401


class WebhookNotConfigured(DomainError):
    """The tenant's webhook signing key is missing from Vault (``<prefix>/webhooks``)."""

    code = "webhook_not_configured"
    http_status = 503


class ReceiptConflict(DomainError):
    """A receipt number already received with another amount, account reference or time."""

    code = "receipt_conflict"
    http_status = 409


class SuspenseItemClosed(InvalidTransition):
    """The suspense item was resolved or refunded already, by another request."""

    code = "suspense_item_closed"


# ------------------------------------------------------------------------------------- signatures


@dataclass
class _CachedKey:
    key: bytes
    read_at: float


_signing_key: _CachedKey | None = None


def signing_key() -> bytes:
    """The tenant's M-Pesa signing key (Vault KV ``webhooks`` → ``mpesa_signing_key``), re-read every minute
    so a rotated key is picked up. Raises ``WebhookNotConfigured`` (503) when the secret has no key."""
    global _signing_key
    now = time.monotonic()
    if _signing_key is None or now - _signing_key.read_at > _KEY_CACHE_SECONDS:
        value = get_vault().kv("webhooks").get("mpesa_signing_key")
        if not value:
            raise WebhookNotConfigured("the M-Pesa signing key is not configured")
        _signing_key = _CachedKey(key=value.encode("utf-8"), read_at=now)
    return _signing_key.key


def sign(*, key: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``: ``sha256=`` and the hex HMAC-SHA256
    of ``timestamp + "." + body``."""
    digest = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_PREFIX}{digest}"


def verify_signature(*, key: bytes, body: bytes, timestamp: str | None, signature: str | None, now: datetime) -> None:
    """Check a callback's ``X-Letsema-Timestamp`` (Unix seconds, within five minutes of ``now``) and
    ``X-Letsema-Signature`` (compared in constant time). Raises ``InvalidSignature`` or ``StaleTimestamp``."""
    if not timestamp or not signature:
        raise InvalidSignature("the X-Letsema-Timestamp and X-Letsema-Signature headers are required")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise InvalidSignature("X-Letsema-Timestamp must be Unix seconds")
    expected = sign(key=key, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode("utf-8", "replace")):
        raise InvalidSignature("the signature does not match the body")
    skew = abs(now.timestamp() - int(timestamp))
    if skew > MAX_CLOCK_SKEW.total_seconds():
        raise StaleTimestamp(
            "the request's timestamp is more than five minutes from now", details={"timestamp": timestamp}
        )


# ---------------------------------------------------------------------------------------- receipts


@dataclass(frozen=True)
class Receipt:
    """A mobile-money receipt as the payment system reported it."""

    receipt_number: str
    amount: Decimal
    phone: str
    account_reference: str
    transaction_time: datetime


@dataclass(frozen=True)
class CallbackResponse:
    status: int
    body: dict[str, Any]
    replayed: bool


def _advisory_lock(name: str) -> None:
    """A transaction-scoped PostgreSQL advisory lock: callbacks for one receipt number run one at a time."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _matching_loan(account_reference: str) -> str | None:
    """The id of this MFI's loan the account reference names (the loan id, as typed or in lower case: payers
    key references in on a phone, and the API's loan ids are lower-case UUIDs), or None."""
    from letsema_api.lending.models import Loan

    typed = account_reference.strip()
    rows = Loan.objects.filter(id__in={typed, typed.lower()}).values_list("id", flat=True)
    ids: list[str] = sorted(rows, key=lambda found: found != typed)
    return ids[0] if ids else None


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _compare(stored: models.MobileMoneyReceipt, receipt: Receipt) -> None:
    differs = {
        name: {"received": _text(got), "now": _text(now)}
        for name, got, now in (
            ("amount", stored.amount, receipt.amount),
            ("account_reference", stored.account_reference, receipt.account_reference),
            ("transaction_time", stored.transaction_time, receipt.transaction_time),
        )
        if got != now
    }
    if differs:
        raise ReceiptConflict(
            f"receipt {receipt.receipt_number} was received before with a different "
            + ", ".join(sorted(differs)).replace("_", " "),
            details={"receipt_number": receipt.receipt_number, "differs": differs},
        )


def receive_mpesa_payment(*, receipt: Receipt) -> CallbackResponse:
    """Apply a signed M-Pesa receipt once, by its receipt number.

    The receipt becomes a repayment of the loan its account reference names (200, ``status: applied``)
    when the core accepts it; otherwise a suspense item booked Dr Cash / Cr Suspense (202,
    ``status: suspense``, reason ``unmatched`` | ``exceeds_payoff`` | ``loan_not_active``). A repeat
    returns the first response and moves no money. Raises ``ReceiptConflict`` (409) for a known receipt
    number with another amount, reference or time; ``ValidationError`` for a time in the future. A payment
    dated before the named loan was disbursed is ``unmatched``.
    """
    now = timezone.now()
    if receipt.transaction_time > now + MAX_CLOCK_SKEW:
        raise ValidationError("the transaction time is in the future", field="transaction_time", rule="not_in_future")
    _advisory_lock(f"{CHANNEL}:{receipt.receipt_number}")
    stored = models.MobileMoneyReceipt.objects.filter(channel=CHANNEL, receipt_number=receipt.receipt_number).first()
    if stored is not None:
        _compare(stored, receipt)
        return CallbackResponse(stored.response_status, stored.response_body, replayed=True)

    # A payment system's clock may run up to the tolerance ahead of ours, even past midnight.
    on = min(timezone.localtime(receipt.transaction_time).date(), lending.today())
    row = models.MobileMoneyReceipt(
        channel=CHANNEL,
        receipt_number=receipt.receipt_number,
        amount=receipt.amount,
        account_reference=receipt.account_reference,
        phone_ciphertext=get_vault().encrypt_pii(receipt.phone),
        transaction_time=receipt.transaction_time,
        received_on=on,
        created_at=now,
    )
    loan_id = _matching_loan(receipt.account_reference)
    reason, payoff = SuspenseReason.UNMATCHED, None
    if loan_id is not None:
        before = lending.lock_loan(loan_id)
        try:
            # A savepoint: a refusal leaves nothing of the attempted repayment behind.
            with transaction.atomic():
                after, result = lending.repayment_post(
                    actor=WEBHOOK_ACTOR,
                    loan_id=loan_id,
                    amount=receipt.amount,
                    on=on,
                    external_ref=receipt.receipt_number,
                    idempotency_key=f"{CHANNEL}:{receipt.receipt_number}",
                    before=before,
                )
        except OverpaymentRefused as refused:
            reason, payoff = SuspenseReason.EXCEEDS_PAYOFF, Decimal(str(refused.details["payoff_amount"]))
        except IllegalLoanTransition:
            reason, payoff = SuspenseReason.LOAN_NOT_ACTIVE, Decimal("0.00")
        except ValidationError as refused:
            # Paid before the loan was disbursed: not a payment of this loan.
            if refused.rule != "not_before_disbursement":
                raise
        else:
            txn = result.transaction
            body = {
                "status": ReceiptOutcome.APPLIED.value,
                "receipt_number": receipt.receipt_number,
                "amount": _money(receipt.amount),
                "received_on": on.isoformat(),
                "loan_id": loan_id,
                "transaction_id": txn.transaction_id,
                "principal": _money(txn.principal),
                "interest": _money(txn.interest),
                "fees": _money(txn.fees),
                "penalties": _money(txn.penalties),
                "loan_status": after["status"],
                "outstanding_principal": after["outstanding_principal"],
            }
            _store(row, outcome=ReceiptOutcome.APPLIED, loan_id=loan_id, transaction_id=txn.transaction_id)
            return _respond(row, status=200, body=body)
    return _to_suspense(row, loan_id=loan_id, reason=reason, payoff=payoff)


def _store(
    row: models.MobileMoneyReceipt, *, outcome: ReceiptOutcome, loan_id: str | None, transaction_id: str | None
) -> None:
    row.outcome, row.loan_id, row.transaction_id = outcome.value, loan_id, transaction_id


def _respond(row: models.MobileMoneyReceipt, *, status: int, body: dict[str, Any]) -> CallbackResponse:
    row.response_status, row.response_body = status, body
    row.save(force_insert=True)
    record_audit(
        actor=WEBHOOK_ACTOR.name,
        action=f"payment.{row.outcome}",
        entity="mobile_money_receipt",
        entity_id=row.id,
        after={
            "receipt_number": row.receipt_number,
            "amount": _money(row.amount),
            "account_reference": row.account_reference,
            **{k: v for k, v in body.items() if k in {"loan_id", "transaction_id", "suspense_id", "reason"}},
        },
    )
    return CallbackResponse(status, body, replayed=False)


def _to_suspense(
    row: models.MobileMoneyReceipt, *, loan_id: str | None, reason: SuspenseReason, payoff: Decimal | None
) -> CallbackResponse:
    DjangoJournal().post(
        replace(
            suspense_receipt_entry(entry_id=f"{CHANNEL}-{row.receipt_number}", on=row.received_on, amount=row.amount),
            description=f"unmatched receipt {CHANNEL} {row.receipt_number}",
        )
    )
    _store(row, outcome=ReceiptOutcome.SUSPENSE, loan_id=loan_id, transaction_id=None)
    item = models.SuspenseItem(
        receipt=row,
        amount=row.amount,
        reason=reason.value,
        status=SuspenseStatus.OPEN.value,
        received_on=row.received_on,
        loan_id=loan_id,
        payoff_at_receipt=payoff,
    )
    body = {
        "status": ReceiptOutcome.SUSPENSE.value,
        "receipt_number": row.receipt_number,
        "amount": _money(row.amount),
        "received_on": row.received_on.isoformat(),
        "suspense_id": item.id,
        "reason": reason.value,
        "loan_id": loan_id,
        "payoff_at_receipt": _money(payoff),
    }
    response = _respond(row, status=202, body=body)
    item.save(force_insert=True)
    return response


# ----------------------------------------------------------------------------------------- suspense


def _lock_item(item_id: str) -> models.SuspenseItem:
    item: models.SuspenseItem | None = (
        models.SuspenseItem.objects.select_for_update().select_related("receipt").filter(id=item_id).first()
    )
    if item is None:
        raise NotFound(entity="suspense item", key=item_id)
    return item


def _fingerprint(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def item_state(item: models.SuspenseItem) -> dict[str, Any]:
    return {
        "status": item.status,
        "amount": _money(item.amount),
        "resolved_loan_id": item.resolved_loan_id,
        "resolved_transaction_id": item.resolved_transaction_id,
        "applied_amount": _money(item.applied_amount),
        "refund_reference": item.refund_reference,
    }


@dataclass(frozen=True)
class Resolution:
    """What resolving did: the item (resolved or refunded), the remainder item if any, and whether this
    was a repeat of the request that resolved it (nothing moved)."""

    item_id: str
    remainder_id: str | None
    replayed: bool


def _replay_or_refuse(item: models.SuspenseItem, fingerprint: str) -> Resolution | None:
    """A closed item: the same request again is answered as before; another request is refused (409)."""
    if item.status in {SuspenseStatus.OPEN, SuspenseStatus.REFUND_DUE}:
        return None
    if item.resolution_fingerprint == fingerprint and item.resolution_body is not None:
        return Resolution(item.id, item.resolution_body.get("remainder_id"), replayed=True)
    raise SuspenseItemClosed(entity="suspense item", from_state=item.status, action="resolve")


def suspense_assign(
    *, actor: lending.Actor, item_id: str, loan_id: str, on: date | None, remainder: SuspenseStatus
) -> Resolution:
    """Apply a suspense item to a loan: a repayment of up to the loan's payoff dated ``on`` (default: the
    day the money arrived), with its cash taken out of suspense (Dr Suspense / Cr Cash beside the
    repayment's Dr Cash: suspense → loan). What exceeds the payoff stays as a new item, ``open`` or
    ``refund_due`` (``remainder``). Idempotent: the same request again changes nothing.

    Raises ``NotFound`` (item or loan), ``SuspenseItemClosed`` (409) for an item resolved by another
    request, and as ``record_repayment`` does (``IllegalLoanTransition`` for a loan not active, ...).
    """
    item = _lock_item(item_id)
    fingerprint = _fingerprint({"action": "assign", "loan_id": loan_id, "on": on, "remainder": remainder.value})
    replayed = _replay_or_refuse(item, fingerprint)
    if replayed is not None:
        return replayed
    before = item_state(item)
    loan_before = lending.lock_loan(loan_id)
    paid_on = on or item.received_on
    if paid_on < item.received_on:
        raise ValidationError(
            "a repayment from suspense cannot be dated before the money arrived", field="on", rule="not_before_receipt"
        )
    payoff = DjangoLoanRepository().get(loan_id).payoff_amount(on=paid_on)
    # A loan that is not active has no payoff; the core refuses the repayment with the right error.
    applied = min(item.amount, payoff) if payoff > 0 else item.amount
    _, result = lending.repayment_post(
        actor=actor,
        loan_id=loan_id,
        amount=applied,
        on=paid_on,
        external_ref=item.receipt.receipt_number,
        idempotency_key=f"suspense:{item.id}",
        before=loan_before,
    )
    txn_id = result.transaction.transaction_id
    receipt = suspense_receipt_entry(entry_id=f"suspense-{item.id}", on=paid_on, amount=applied)
    DjangoJournal().post(
        replace(
            receipt.mirrored(
                entry_id=f"suspense-{item.id}-to-{txn_id}",
                on=paid_on,
                description=f"suspense item {item.id} applied to loan {loan_id}",
                transaction_id=txn_id,
            ),
            loan_id=loan_id,
        )
    )
    rest = item.amount - applied
    remainder_id = None
    if rest > 0:
        left = models.SuspenseItem.objects.create(
            receipt=item.receipt,
            parent=item,
            amount=rest,
            reason=SuspenseReason.EXCEEDS_PAYOFF.value,
            status=remainder.value,
            received_on=item.received_on,
            loan_id=loan_id,
            payoff_at_receipt=payoff,
        )
        remainder_id = left.id
    _close(
        item,
        actor=actor,
        status=SuspenseStatus.RESOLVED,
        fingerprint=fingerprint,
        remainder_id=remainder_id,
        resolved_loan_id=loan_id,
        resolved_transaction_id=txn_id,
        applied_amount=applied,
    )
    _audit(actor, item, "suspense.assign", before, remainder_id)
    return Resolution(item.id, remainder_id, replayed=False)


def suspense_refund(*, actor: lending.Actor, item_id: str, reference: str, on: date | None) -> Resolution:
    """Record that a suspense item was paid back to the payer (Dr Suspense / Cr Cash, dated ``on``,
    default today). Idempotent like ``suspense_assign``; raises ``NotFound`` and ``SuspenseItemClosed``."""
    item = _lock_item(item_id)
    fingerprint = _fingerprint({"action": "refund", "reference": reference, "on": on})
    replayed = _replay_or_refuse(item, fingerprint)
    if replayed is not None:
        return replayed
    before = item_state(item)
    refunded_on = on or lending.today()
    if refunded_on > lending.today() or refunded_on < item.received_on:
        raise ValidationError(
            "a refund is dated between the day the money arrived and today", field="on", rule="refund_date"
        )
    receipt = suspense_receipt_entry(entry_id=f"suspense-{item.id}", on=refunded_on, amount=item.amount)
    DjangoJournal().post(
        receipt.mirrored(
            entry_id=f"suspense-{item.id}-refund",
            on=refunded_on,
            description=f"suspense item {item.id} refunded ({reference})",
            transaction_id=None,
        )
    )
    _close(
        item,
        actor=actor,
        status=SuspenseStatus.REFUNDED,
        fingerprint=fingerprint,
        remainder_id=None,
        refund_reference=reference,
    )
    _audit(actor, item, "suspense.refund", before, None)
    return Resolution(item.id, None, replayed=False)


def _close(
    item: models.SuspenseItem,
    *,
    actor: lending.Actor,
    status: SuspenseStatus,
    fingerprint: str,
    remainder_id: str | None,
    **fields: Any,
) -> None:
    for name, value in fields.items():
        setattr(item, name, value)
    now = timezone.now()
    item.status = status.value
    item.resolved_by = actor.name
    item.resolved_at = now
    item.updated_at = now
    item.resolution_fingerprint = fingerprint
    item.resolution_body = {"remainder_id": remainder_id}
    item.save()


def _audit(
    actor: lending.Actor, item: models.SuspenseItem, action: str, before: dict[str, Any], remainder_id: str | None
) -> None:
    record_audit(
        actor=actor.name,
        action=action,
        entity="suspense_item",
        entity_id=item.id,
        before=before,
        after={**item_state(item), "remainder_id": remainder_id},
    )
