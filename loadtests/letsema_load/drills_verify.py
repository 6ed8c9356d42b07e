"""Fault drills: what the load generator saw acknowledged, checked against what the tenant databases hold.

Pure logic over plain rows, so it is tested without a platform (``tests/e2e/test_drills.py``); the rows
are read by ``drills_platform``.

- ``load_acks`` reads the ``--ack-log`` of ``loadtests/locustfile.py`` (one JSON line per acknowledged
  answer) and dedupes by key: a retry or repeat that reuses an Idempotency-Key or receipt number and got
  the original answer back is the same acknowledgement; one key answered with two transaction ids is
  kept as such (that is a doubled payment as the client saw it).
- ``verify_acks`` checks every acknowledgement against the tenant's rows: exactly one loan transaction
  with that key on that loan, not reversed, of the acknowledged amount, with exactly one journal entry;
  for an M-Pesa receipt exactly one receipt row and (when applied) one loan transaction.
- ``registry_differences`` compares a tenant loan with its registry account (newest revision).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

REPAYMENT = "repayment"
MPESA = "mpesa"
#: loan transactions the payment gateway of the load suite creates: its Idempotency-Keys, and the key the
#: API gives an M-Pesa receipt's repayment (``mpesa:<receipt number>``)
GATEWAY_KEY_PREFIXES = ("pay-", "mpesa:")


def mpesa_transaction_key(receipt_number: str) -> str:
    """The Idempotency-Key the API stores on the repayment of an M-Pesa receipt."""
    return f"{MPESA}:{receipt_number}"


@dataclass
class Ack:
    """One acknowledged repayment (all answers the client got for one key folded together)."""

    kind: str  # REPAYMENT | MPESA
    tenant: str
    key: str  # the Idempotency-Key, or the M-Pesa receipt number
    loan_id: str | None
    amount: Decimal
    outcome: str  # "applied", or "suspense" for an M-Pesa receipt parked in suspense
    first_t: float
    transaction_ids: set[str] = field(default_factory=set)
    answers: int = 1

    @property
    def ident(self) -> tuple[str, str, str]:
        return (self.tenant, self.kind, self.key)


def load_acks(lines: Iterable[str]) -> dict[tuple[str, str, str], Ack]:
    """The acknowledgements of an ack log, deduped by (tenant, kind, key). Blank and torn lines (a writer
    killed mid-line) are skipped."""
    acks: dict[tuple[str, str, str], Ack] = {}
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
            kind = str(row["kind"])
            key = str(row["idempotency_key"] if kind == REPAYMENT else row["receipt_number"])
            amount = Decimal(str(row["amount"]))
        except (ValueError, KeyError, InvalidOperation):
            continue
        outcome = str(row.get("outcome") or "applied")
        ident = (str(row["tenant"]), kind, key)
        ack = acks.get(ident)
        if ack is None:
            ack = acks[ident] = Ack(
                kind=kind,
                tenant=ident[0],
                key=key,
                loan_id=row.get("loan_id"),
                amount=amount,
                outcome=outcome,
                first_t=float(row.get("t", 0.0)),
                answers=0,
            )
        ack.answers += 1
        if row.get("transaction_id"):
            ack.transaction_ids.add(str(row["transaction_id"]))
    return acks


@dataclass(frozen=True)
class TxnRow:
    """A ``lending_loantransaction`` row (only what the check needs)."""

    id: str
    loan_id: str
    kind: str
    idempotency_key: str | None
    amount: Decimal
    reversed_by: str | None = None


@dataclass(frozen=True)
class ReceiptRow:
    """A ``payments_mobilemoneyreceipt`` row."""

    receipt_number: str
    outcome: str
    loan_id: str | None
    transaction_id: str | None
    amount: Decimal


@dataclass
class TenantRows:
    """What one tenant's database holds for the gateway's keys and receipts."""

    transactions: list[TxnRow] = field(default_factory=list)
    receipts: list[ReceiptRow] = field(default_factory=list)
    #: journal entries by entry id (a loan transaction's entry has the transaction's id)
    journal_entries: Mapping[str, int] = field(default_factory=dict)


@dataclass
class AckCheck:
    checked: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    #: found once but wrong: reversed, another amount, another transaction id, no journal entry
    mismatched: list[str] = field(default_factory=list)
    #: gateway transactions in the database whose answer the client never saw (fine: reported only)
    unacknowledged_in_db: int = 0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.mismatched)


def verify_acks(
    acks: Iterable[Ack], rows_by_tenant: Mapping[str, TenantRows], *, later: Iterable[Ack] = ()
) -> AckCheck:
    """Check every acknowledgement against its tenant's rows (see the module docstring).

    ``later``: acknowledgements read after the rows (a superset of ``acks``); they only count as seen
    when the gateway transactions nobody saw acknowledged are counted.
    """
    acks = list(acks)
    result = AckCheck()
    acked_keys: dict[str, set[str]] = defaultdict(set)
    indexes = {tenant: _Index(rows) for tenant, rows in rows_by_tenant.items()}
    for ack in acks:
        result.checked += 1
        index = indexes.get(ack.tenant) or _Index(TenantRows())
        label = f"{ack.tenant} {ack.kind} {ack.key}"
        if ack.kind == REPAYMENT:
            _check_repayment(ack, index, label, result)
        else:
            _check_receipt(ack, index, label, result)
    for ack in (*acks, *later):
        acked_keys[ack.tenant].add(ack.key if ack.kind == REPAYMENT else mpesa_transaction_key(ack.key))
    for tenant, rows in rows_by_tenant.items():
        result.unacknowledged_in_db += sum(
            1
            for txn in rows.transactions
            if txn.idempotency_key
            and txn.idempotency_key.startswith(GATEWAY_KEY_PREFIXES)
            and txn.idempotency_key not in acked_keys[tenant]
        )
    return result


class _Index:
    def __init__(self, rows: TenantRows) -> None:
        self.by_key: dict[str, list[TxnRow]] = defaultdict(list)
        for txn in rows.transactions:
            if txn.idempotency_key:
                self.by_key[txn.idempotency_key].append(txn)
        self.receipts: dict[str, list[ReceiptRow]] = defaultdict(list)
        for receipt in rows.receipts:
            self.receipts[receipt.receipt_number].append(receipt)
        self.journal = rows.journal_entries


def _check_transaction(ack: Ack, txns: list[TxnRow], index: _Index, label: str, result: AckCheck) -> TxnRow | None:
    """Exactly one live repayment for the key; returns it (None when lost or doubled)."""
    if not txns:
        result.lost.append(label)
        return None
    if len(txns) > 1 or len(ack.transaction_ids) > 1:
        ids = sorted({t.id for t in txns} | ack.transaction_ids)
        result.doubled.append(f"{label}: {len(txns)} rows, answered ids {sorted(ack.transaction_ids)}, ids {ids}")
        return None
    txn = txns[0]
    problems = []
    if txn.kind != REPAYMENT:
        problems.append(f"kind {txn.kind}")
    if txn.reversed_by:
        problems.append(f"reversed by {txn.reversed_by}")
    if txn.amount != ack.amount:
        problems.append(f"amount {txn.amount} != acknowledged {ack.amount}")
    if ack.loan_id and txn.loan_id != ack.loan_id:
        problems.append(f"on loan {txn.loan_id}, acknowledged for {ack.loan_id}")
    if ack.transaction_ids and txn.id not in ack.transaction_ids:
        problems.append(f"transaction {txn.id}, acknowledged as {sorted(ack.transaction_ids)}")
    entries = index.journal.get(txn.id, 0)
    if entries != 1:
        problems.append(f"{entries} journal entries")
    if problems:
        result.mismatched.append(f"{label}: " + "; ".join(problems))
    return txn


def _check_repayment(ack: Ack, index: _Index, label: str, result: AckCheck) -> None:
    # Keys are unique per loan in the schema, but a key is the caller's: count it on every loan.
    _check_transaction(ack, index.by_key.get(ack.key, []), index, label, result)


def _check_receipt(ack: Ack, index: _Index, label: str, result: AckCheck) -> None:
    receipts = index.receipts.get(ack.key, [])
    txns = index.by_key.get(mpesa_transaction_key(ack.key), [])
    if not receipts:
        result.lost.append(label)
        return
    if len(receipts) > 1:
        result.doubled.append(f"{label}: {len(receipts)} receipt rows")
        return
    receipt = receipts[0]
    if receipt.amount != ack.amount:
        result.mismatched.append(f"{label}: receipt amount {receipt.amount} != acknowledged {ack.amount}")
    if ack.outcome != "applied":
        # Parked in suspense: money taken, not applied; a loan transaction as well would count it twice.
        if txns:
            result.doubled.append(f"{label}: in suspense and applied to loan {txns[0].loan_id}")
        elif receipt.outcome != ack.outcome:
            result.mismatched.append(f"{label}: receipt outcome {receipt.outcome}, acknowledged {ack.outcome}")
        return
    txn = _check_transaction(ack, txns, index, label, result)
    if txn is not None and (receipt.outcome != "applied" or receipt.transaction_id != txn.id):
        result.mismatched.append(
            f"{label}: receipt says {receipt.outcome} / {receipt.transaction_id}, loan transaction {txn.id}"
        )


# ----------------------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class TenantLoan:
    """A tenant's loan as the registry should show it, read in one snapshot with its outbox state."""

    loan_id: str
    status: str
    #: the balance the registry reports: outstanding principal (written off: the principal written off)
    balance: Decimal
    days_past_due: int
    arrears_bucket: str
    #: the newest outbox sequence of the loan, and whether every event up to it was published
    last_sequence: int
    all_published: bool


@dataclass(frozen=True)
class RegistryAccount:
    """The newest revision of a loan's registry account (``credit_accounts``)."""

    status: str
    balance: Decimal
    days_past_due: int
    last_sequence: int


def registry_differences(loan: TenantLoan, account: RegistryAccount | None, *, bucket_of: object = None) -> list[str]:
    """What differs between the tenant's loan and its registry account; empty when they agree.

    ``bucket_of`` maps a DPD to an arrears bucket name (the core's ``arrears_bucket``); when given, the
    bucket the registry's DPD implies is compared with the tenant's bucket for an active loan.
    """
    if account is None:
        return ["no registry account"]
    diffs = []
    if account.last_sequence != loan.last_sequence:
        diffs.append(f"registry at event {account.last_sequence}, outbox at {loan.last_sequence}")
    if account.status != loan.status:
        diffs.append(f"status {account.status} != {loan.status}")
    if account.balance != loan.balance:
        diffs.append(f"outstanding {account.balance} != {loan.balance}")
    if account.days_past_due != loan.days_past_due:
        diffs.append(f"DPD {account.days_past_due} != {loan.days_past_due}")
    if callable(bucket_of) and loan.status == "active":
        implied = str(bucket_of(account.days_past_due))
        if implied != loan.arrears_bucket:
            diffs.append(f"bucket {implied} != {loan.arrears_bucket}")
    return diffs
