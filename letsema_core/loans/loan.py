"""The ``Loan`` aggregate: disbursement, repayments, reversals, penalties, write-off, closure.

State is derived, never edited: the installment balances are the schedule
minus the allocations of every non-reversed repayment, *replayed* in date
order (then by sequence) with the penalty charges. A backdated payment or a
reversal therefore re-allocates every later payment, as DOMAIN.md requires.

Penalty charges (made by close of business for date D) apply to payments
dated after D: a payment dated D happened before that day's close of business.
A backdated payment does not undo a penalty already charged (waiving one is
an officer's decision, not modelled here).

A loan whose principal is fully repaid is ``closed`` and owes nothing: the
closing payment is, by the allocation order, exactly the payoff amount, so
everything due and the current installment in full are paid with it; the
interest and fees of installments after the current one are waived (Fineract's
foreclosure without interest recalculation) and leave the balances. So is a
penalty charged for the closing payment's date or later (close of business ran
before that payment was recorded): the payoff quoted for the date could not
include it, and a payoff repays the loan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from letsema_core.errors import DomainError, InvalidTransition, NotFound, ValidationError
from letsema_core.loans.allocation import (
    InstallmentBalance,
    RepaymentAllocation,
    allocate_repayment,
    apply_allocation,
    payoff_amount,
)
from letsema_core.loans.arrears import (
    ArrearsBucket,
    arrears_bucket,
    days_past_due,
    late_penalty_amount,
    penalty_is_due,
)
from letsema_core.money import CENT, to_decimal
from letsema_core.schedules.types import RepaymentSchedule

_ZERO = Decimal("0.00")


class LoanStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"
    WRITTEN_OFF = "written_off"


class TransactionType(StrEnum):
    DISBURSEMENT = "disbursement"
    REPAYMENT = "repayment"
    REPAYMENT_REVERSAL = "repayment_reversal"
    WRITE_OFF = "write_off"


class IllegalLoanTransition(InvalidTransition):
    """The loan's status does not allow the action (e.g. a repayment on a closed loan)."""

    code = "illegal_loan_transition"


class OverpaymentRefused(DomainError):
    """A payment is above the payoff amount; ``details["payoff_amount"]`` says how much would repay the loan."""

    code = "overpayment_refused"
    http_status = 422


class IdempotencyKeyReused(DomainError):
    """An idempotency key was sent again with a different amount or date."""

    code = "idempotency_key_reused"
    http_status = 409


class RepaymentAlreadyReversed(InvalidTransition):
    """The repayment named for reversal was reversed before."""

    code = "repayment_already_reversed"


@dataclass(frozen=True, slots=True)
class LoanTransaction:
    """One immutable entry of a loan's ledger.

    For a repayment, the component fields and ``allocation`` say where the money
    went (they are recomputed when a backdated payment or a reversal replays
    it; the loan then keeps the new version). A reversal carries the mirror
    components of the repayment it reverses and its id in ``reverses``; the
    reversed repayment is kept, marked ``reversed_by``. A disbursement's
    ``principal`` is the principal lent and ``fees`` the up-front fee deducted.
    A write-off's ``principal`` is the principal written off.
    """

    transaction_id: str
    sequence: int
    kind: TransactionType
    on: date
    amount: Decimal
    principal: Decimal = _ZERO
    interest: Decimal = _ZERO
    fees: Decimal = _ZERO
    penalties: Decimal = _ZERO
    allocation: RepaymentAllocation | None = None
    idempotency_key: str | None = None
    external_ref: str | None = None
    reverses: str | None = None
    reversed_by: str | None = None

    @property
    def is_reversed(self) -> bool:
        return self.reversed_by is not None


@dataclass(frozen=True, slots=True)
class PenaltyCharge:
    """A late-payment penalty charged on one installment by close of business."""

    installment_number: int
    amount: Decimal
    charged_on: date


@dataclass(frozen=True, slots=True)
class Reallocation:
    """A repayment whose allocation changed because an earlier one was posted or reversed."""

    before: LoanTransaction
    after: LoanTransaction


@dataclass(frozen=True, slots=True)
class RepaymentResult:
    """What ``record_repayment``/``reverse_repayment`` did.

    ``duplicate`` is True when an idempotency key repeated an earlier payment:
    ``transaction`` is then the original and nothing moved.
    """

    transaction: LoanTransaction
    duplicate: bool = False
    reallocated: tuple[Reallocation, ...] = ()


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One ledger transaction with the outstanding principal after it."""

    on: date
    sequence: int
    transaction_id: str
    kind: TransactionType
    amount: Decimal
    principal: Decimal
    interest: Decimal
    fees: Decimal
    penalties: Decimal
    reversed: bool
    outstanding_principal: Decimal


@dataclass(frozen=True, slots=True)
class LoanState:
    """A comparable snapshot of everything a loan's behaviour depends on."""

    status: LoanStatus
    balances: tuple[InstallmentBalance, ...]
    outstanding_principal: Decimal
    closed_on: date | None
    penalty_charges: tuple[PenaltyCharge, ...]
    days_past_due: int
    arrears_bucket: ArrearsBucket
    last_close_of_business: date | None
    active_repayments: tuple[tuple[date, Decimal, RepaymentAllocation | None], ...]


@dataclass(frozen=True, slots=True)
class PenaltyCharged:
    """Close-of-business event: a late-payment penalty was charged."""

    loan_id: str
    installment_number: int
    amount: Decimal
    on: date


@dataclass(frozen=True, slots=True)
class ArrearsChanged:
    """Close-of-business event: the loan moved to another arrears bucket."""

    loan_id: str
    from_bucket: ArrearsBucket
    to_bucket: ArrearsBucket
    days_past_due: int
    on: date


@dataclass(frozen=True, slots=True)
class RepaymentReallocated:
    """Close-of-business event: a penalty charged for ``on`` re-allocated a repayment dated after ``on``.

    Happens only when close of business runs late (after payments dated later
    were posted); the books need the ``reallocation`` entry for it.
    """

    loan_id: str
    reallocation: Reallocation
    on: date

    @property
    def caused_by(self) -> str:
        """What re-allocated the repayment, for the entry id: the close of business of ``on``."""
        return f"cob-{self.on.isoformat()}"


CloseOfBusinessEvent = PenaltyCharged | ArrearsChanged | RepaymentReallocated


def _positive_cents(value: Decimal | str | int, *, field: str) -> Decimal:
    amount = to_decimal(value, field=field)
    if amount <= 0:
        raise ValidationError(f"{field} must be positive", field=field, rule="positive")
    if amount != amount.quantize(CENT):
        raise ValidationError(f"{field} must be a whole number of cents", field=field, rule="cents")
    return amount


class Loan:
    """A disbursed loan and its ledger. Build with ``Loan(...)`` or ``disburse_application``.

    Mutated only through its methods; read ``status``, ``balances``,
    ``transactions``, ``days_past_due``, ``arrears_bucket``. Raises the errors
    named in each method's docstring and leaves the loan unchanged when it does.
    """

    def __init__(
        self,
        *,
        loan_id: str,
        schedule: RepaymentSchedule,
        disbursed_on: date,
        borrower_id: str | None = None,
        application_id: str | None = None,
        product_id: str | None = None,
        late_penalty_percent: Decimal | str | int = _ZERO,
        penalty_grace_days: int = 0,
    ) -> None:
        if not schedule.installments:
            raise ValidationError("a loan needs at least one installment", field="schedule", rule="not_empty")
        if schedule.total_principal != schedule.principal:
            raise ValidationError(
                "the installments' principal does not add up to the loan principal",
                field="schedule",
                rule="principal_reconciles",
                principal=str(schedule.principal),
                installments_principal=str(schedule.total_principal),
            )
        if any(i.due_date <= disbursed_on for i in schedule.installments):
            raise ValidationError(
                "every installment must fall due after disbursement", field="disbursed_on", rule="before_first_due_date"
            )
        penalty_percent = to_decimal(late_penalty_percent, field="late_penalty_percent")
        if penalty_percent < 0:
            raise ValidationError(
                "late_penalty_percent cannot be negative", field="late_penalty_percent", rule="non_negative"
            )
        if penalty_grace_days < 0:
            raise ValidationError(
                "penalty_grace_days cannot be negative", field="penalty_grace_days", rule="non_negative"
            )
        self.loan_id = loan_id
        self.borrower_id = borrower_id
        self.application_id = application_id
        self.product_id = product_id
        self.schedule = schedule
        self.disbursed_on = disbursed_on
        self.principal = schedule.principal
        self.upfront_fee = schedule.upfront_fees
        self.net_disbursed = schedule.principal - schedule.upfront_fees
        self.late_penalty_percent = penalty_percent
        self.penalty_grace_days = penalty_grace_days
        self.status = LoanStatus.ACTIVE
        self.closed_on: date | None = None
        self.written_off_on: date | None = None
        self.days_past_due = 0
        self.worst_days_past_due = 0
        self.arrears_bucket = ArrearsBucket.CURRENT
        self.last_close_of_business: date | None = None
        self.penalty_charges: list[PenaltyCharge] = []
        self._initial = tuple(
            InstallmentBalance(i.number, i.due_date, i.penalties_due, i.fees_due, i.interest_due, i.principal_due)
            for i in schedule.installments
        )
        self.balances: tuple[InstallmentBalance, ...] = self._initial
        self.transactions: list[LoanTransaction] = [
            LoanTransaction(
                transaction_id=f"{loan_id}-1",
                sequence=1,
                kind=TransactionType.DISBURSEMENT,
                on=disbursed_on,
                amount=self.principal,
                principal=self.principal,
                fees=self.upfront_fee,
            )
        ]

    # ----------------------------------------------------------------- reading
    @property
    def outstanding_principal(self) -> Decimal:
        if self.status is LoanStatus.WRITTEN_OFF:
            return _ZERO
        return sum((b.principal for b in self.balances), _ZERO)

    @property
    def installment_amount(self) -> Decimal:
        """The first installment's total due (the figure the credit registry reports)."""
        return self.schedule.installments[0].total_due

    def payoff_amount(self, *, on: date) -> Decimal:
        """What repays the loan in full by a payment dated ``on``; 0 unless active.

        Computed on the balances left by the repayments dated on or before ``on``
        and the penalties charged before ``on`` (exactly what a payment dated
        ``on`` is allocated against; see ``allocation.payoff_amount``).
        """
        if self.status is not LoanStatus.ACTIVE:
            return _ZERO
        return payoff_amount(balances=self._balances_before_close_of(on), on=on)

    def amount_overdue(self, *, as_of: date) -> Decimal:
        """Everything outstanding on installments due before ``as_of``."""
        return sum((b.total for b in self.balances if b.due_date < as_of), _ZERO)

    def days_past_due_on(self, *, as_of: date) -> int:
        """DPD as of ``as_of``, counting only the repayments dated on or before it (a payment posted
        later but dated after ``as_of`` did not cure that day's arrears); 0 unless the loan is active."""
        if self.status is not LoanStatus.ACTIVE:
            return 0
        return days_past_due(balances=self._balances_before_close_of(as_of), as_of=as_of)

    def transaction(self, transaction_id: str) -> LoanTransaction:
        """The ledger entry with this id. Raises ``NotFound``."""
        for txn in self.transactions:
            if txn.transaction_id == transaction_id:
                return txn
        raise NotFound(entity="loan transaction", key=transaction_id)

    def active_repayments(self) -> list[LoanTransaction]:
        """Non-reversed repayments in date order, then by sequence."""
        return sorted(
            (t for t in self.transactions if t.kind is TransactionType.REPAYMENT and not t.is_reversed),
            key=lambda t: (t.on, t.sequence),
        )

    def state(self) -> LoanState:
        """A value snapshot for comparisons (ids and sequences left out)."""
        return LoanState(
            status=self.status,
            balances=self.balances,
            outstanding_principal=self.outstanding_principal,
            closed_on=self.closed_on,
            penalty_charges=tuple(self.penalty_charges),
            days_past_due=self.days_past_due,
            arrears_bucket=self.arrears_bucket,
            last_close_of_business=self.last_close_of_business,
            active_repayments=tuple((t.on, t.amount, t.allocation) for t in self.active_repayments()),
        )

    def statement(self) -> tuple[StatementLine, ...]:
        """Every transaction in date order (then sequence) with the outstanding principal after it.

        A reversed repayment is listed (``reversed=True``) and so is its
        reversal, which adds its principal back.
        """
        lines: list[StatementLine] = []
        balance = _ZERO
        for t in sorted(self.transactions, key=lambda t: (t.on, t.sequence)):
            if t.kind in (TransactionType.DISBURSEMENT, TransactionType.REPAYMENT_REVERSAL):
                balance += t.principal
            else:
                balance -= t.principal
            lines.append(
                StatementLine(
                    t.on,
                    t.sequence,
                    t.transaction_id,
                    t.kind,
                    t.amount,
                    t.principal,
                    t.interest,
                    t.fees,
                    t.penalties,
                    t.is_reversed,
                    balance,
                )
            )
        return tuple(lines)

    # --------------------------------------------------------------- internals
    def _require_status(self, action: str, *allowed: LoanStatus) -> None:
        if self.status not in allowed:
            raise IllegalLoanTransition(entity="loan", from_state=self.status.value, action=action)

    def _next_sequence(self) -> int:
        return self.transactions[-1].sequence + 1

    def _balances_before_close_of(self, on: date) -> tuple[InstallmentBalance, ...]:
        """The balances a payment dated ``on`` meets: repayments dated on or before ``on`` and the
        penalties charged before ``on`` (a penalty charged for ``on`` applies from the next day)."""
        active = self.active_repayments()
        repayments = [t for t in active if t.on <= on]
        charges = [c for c in self.penalty_charges if c.charged_on < on]
        if len(repayments) == len(active) and len(charges) == len(self.penalty_charges):
            return self.balances  # already the replay of everything
        _, balances, _ = self._replay(repayments, charges)
        return balances

    def _replay(
        self, repayments: Sequence[LoanTransaction], charges: Sequence[PenaltyCharge]
    ) -> tuple[list[LoanTransaction], tuple[InstallmentBalance, ...], date | None]:
        """Re-allocate ``repayments`` in date order from the schedule, with ``charges``.

        Returns the re-allocated repayments, the resulting balances and the date
        the principal was cleared (None if it was not). The payment that clears
        it closes the loan and waives what is left (``_waive_after``), so a
        closed loan's balances are all zero. Raises ``OverpaymentRefused`` if
        any payment exceeds the payoff at its turn.
        """
        return self._replay_from(self._initial, repayments, charges)

    @staticmethod
    def _replay_from(
        start: tuple[InstallmentBalance, ...],
        repayments: Sequence[LoanTransaction],
        charges: Sequence[PenaltyCharge] = (),
    ) -> tuple[list[LoanTransaction], tuple[InstallmentBalance, ...], date | None]:
        """``_replay`` from the balances ``start`` instead of the schedule (``start`` already holds every
        repayment and charge dated before ``repayments``)."""
        balances = start
        pending = sorted(charges, key=lambda c: (c.charged_on, c.installment_number))
        ci = 0
        closed_on: date | None = None
        replayed: list[LoanTransaction] = []
        for txn in sorted(repayments, key=lambda t: (t.on, t.sequence)):
            while ci < len(pending) and pending[ci].charged_on < txn.on:
                balances = _add_penalty(balances, pending[ci])
                ci += 1
            payoff = _ZERO if closed_on is not None else payoff_amount(balances=balances, on=txn.on)
            if txn.amount > payoff:
                raise OverpaymentRefused(
                    f"a payment of {txn.amount} on {txn.on.isoformat()} exceeds the payoff amount {payoff}",
                    details={
                        "payoff_amount": str(payoff),
                        "amount": str(txn.amount),
                        "on": txn.on.isoformat(),
                        "transaction_id": txn.transaction_id,
                    },
                )
            allocation = allocate_repayment(balances=balances, amount=txn.amount, on=txn.on)
            balances = apply_allocation(balances=balances, allocation=allocation)
            replayed.append(
                replace(
                    txn,
                    allocation=allocation,
                    principal=allocation.principal,
                    interest=allocation.interest,
                    fees=allocation.fees,
                    penalties=allocation.penalties,
                )
            )
            if not any(b.principal for b in balances):
                closed_on = txn.on
                balances = _waive_after(balances, txn.on)
        if closed_on is None:
            for charge in pending[ci:]:
                balances = _add_penalty(balances, charge)
        # else: the charges left are for the closing payment's date or later. The payoff quoted for that
        # date could not include them (a penalty charged for D applies to payments after D), and a
        # payoff repays the loan: they are waived with the loan's closure.
        return replayed, balances, closed_on

    def _commit_replay(
        self, replayed: list[LoanTransaction], balances: tuple[InstallmentBalance, ...], closed_on: date | None
    ) -> tuple[Reallocation, ...]:
        new_by_id = {t.transaction_id: t for t in replayed}
        changes: list[Reallocation] = []
        for index, old in enumerate(self.transactions):
            new = new_by_id.get(old.transaction_id)
            if new is None:
                continue
            if old.allocation is not None and old.allocation != new.allocation:
                changes.append(Reallocation(before=old, after=new))
            self.transactions[index] = new
        self.balances = balances
        self.closed_on = closed_on
        if closed_on is None:
            self.status = LoanStatus.ACTIVE
        else:
            # A closed loan carries no arrears; a re-opened one gets its arrears back at the next close of business.
            self.status = LoanStatus.CLOSED
            self.days_past_due = 0
            self.arrears_bucket = ArrearsBucket.CURRENT
        return tuple(changes)

    # --------------------------------------------------------------- commands
    def record_repayment(
        self,
        *,
        on: date,
        amount: Decimal | str | int,
        idempotency_key: str | None = None,
        external_ref: str | None = None,
        transaction_id: str | None = None,
    ) -> RepaymentResult:
        """Post a repayment of ``amount`` received on ``on`` and allocate it.

        A repeated ``idempotency_key`` with the same amount and date returns the
        original transaction with ``duplicate=True`` and moves nothing; with a
        different amount or date it raises ``IdempotencyKeyReused``. A payment
        dated before later payments replays them (``reallocated`` lists those
        whose split changed). Raises ``IllegalLoanTransition`` unless the loan
        is active, ``ValidationError`` for a non-positive or sub-cent amount or a
        date before disbursement, ``OverpaymentRefused`` (with
        ``details["payoff_amount"]``) above the payoff amount.
        """
        value = _positive_cents(amount, field="amount")
        if idempotency_key is not None:
            for txn in self.transactions:
                if txn.idempotency_key == idempotency_key:
                    if txn.amount != value or txn.on != on:
                        raise IdempotencyKeyReused(
                            "this idempotency key was used for a different payment",
                            details={"idempotency_key": idempotency_key, "transaction_id": txn.transaction_id},
                        )
                    return RepaymentResult(transaction=txn, duplicate=True)
        self._require_status("record a repayment on", LoanStatus.ACTIVE)
        if on < self.disbursed_on:
            raise ValidationError(
                "a repayment cannot be dated before disbursement", field="on", rule="not_before_disbursement"
            )
        sequence = self._next_sequence()
        new = LoanTransaction(
            transaction_id=transaction_id or f"{self.loan_id}-{sequence}",
            sequence=sequence,
            kind=TransactionType.REPAYMENT,
            on=on,
            amount=value,
            idempotency_key=idempotency_key,
            external_ref=external_ref,
        )
        active = self.active_repayments()
        if all(t.on <= on for t in active) and all(c.charged_on < on for c in self.penalty_charges):
            # The usual case: nothing is dated after this payment, so replaying the ledger would meet
            # exactly ``self.balances`` (always the replay of every repayment and charge) before it and
            # change no earlier allocation. Allocate on them directly: O(installments), not O(history).
            replayed, balances, closed_on = self._replay_from(self.balances, [new])
            self.transactions.append(new)
            self._commit_replay(replayed, balances, closed_on)
            return RepaymentResult(transaction=self.transactions[-1], reallocated=())
        replayed, balances, closed_on = self._replay([*active, new], self.penalty_charges)
        self.transactions.append(new)
        changes = self._commit_replay(replayed, balances, closed_on)
        return RepaymentResult(transaction=self.transactions[-1], reallocated=changes)

    def reverse_repayment(self, *, transaction_id: str, on: date, reversal_id: str | None = None) -> RepaymentResult:
        """Reverse a repayment: mark it reversed, add a mirror transaction, replay later payments.

        Never edits the original's amounts. A closed loan re-opens if principal
        becomes outstanding again. Raises ``NotFound``, ``ValidationError``
        (not a repayment, or ``on`` before the repayment's date),
        ``RepaymentAlreadyReversed`` and ``IllegalLoanTransition`` (written-off loan).
        """
        original = self.transaction(transaction_id)
        if original.kind is not TransactionType.REPAYMENT:
            raise ValidationError(
                "only repayments can be reversed", field="transaction_id", rule="is_repayment", kind=original.kind.value
            )
        if original.is_reversed:
            raise RepaymentAlreadyReversed(entity="repayment", from_state="reversed", action="reverse")
        self._require_status("reverse a repayment on", LoanStatus.ACTIVE, LoanStatus.CLOSED)
        if on < original.on:
            raise ValidationError(
                "a reversal cannot be dated before the repayment", field="on", rule="not_before_original"
            )
        sequence = self._next_sequence()
        reversal = LoanTransaction(
            transaction_id=reversal_id or f"{self.loan_id}-{sequence}",
            sequence=sequence,
            kind=TransactionType.REPAYMENT_REVERSAL,
            on=on,
            amount=original.amount,
            principal=original.principal,
            interest=original.interest,
            fees=original.fees,
            penalties=original.penalties,
            allocation=original.allocation,
            reverses=original.transaction_id,
        )
        remaining = [t for t in self.active_repayments() if t.transaction_id != transaction_id]
        replayed, balances, closed_on = self._replay(remaining, self.penalty_charges)
        self.transactions[self.transactions.index(original)] = replace(original, reversed_by=reversal.transaction_id)
        self.transactions.append(reversal)
        changes = self._commit_replay(replayed, balances, closed_on)
        return RepaymentResult(transaction=reversal, reallocated=changes)

    def write_off(self, *, on: date, transaction_id: str | None = None) -> LoanTransaction:
        """Write off the outstanding principal; the loan becomes ``written_off``.

        Interest, fees and penalties still outstanding are abandoned with it
        (cash basis: they were never recognised as income). Raises
        ``IllegalLoanTransition`` unless active, ``ValidationError`` for a date
        before the last repayment.
        """
        self._require_status("write off", LoanStatus.ACTIVE)
        last = max((t.on for t in self.transactions), default=self.disbursed_on)
        if on < last:
            raise ValidationError(
                "a write-off cannot be dated before the loan's last transaction", field="on", rule="not_before_last"
            )
        sequence = self._next_sequence()
        principal = self.outstanding_principal
        txn = LoanTransaction(
            transaction_id=transaction_id or f"{self.loan_id}-{sequence}",
            sequence=sequence,
            kind=TransactionType.WRITE_OFF,
            on=on,
            amount=principal,
            principal=principal,
        )
        self.transactions.append(txn)
        self.status = LoanStatus.WRITTEN_OFF
        self.written_off_on = on
        return txn

    def close_business_day(self, *, as_of: date) -> tuple[CloseOfBusinessEvent, ...]:
        """Close of business for ``as_of``: charge due penalties, update DPD and arrears bucket.

        Idempotent and restartable: a date on or before the last one processed
        changes nothing and returns no events; a loan that is not active is
        left alone. Each installment is charged a late-payment penalty at most
        once, the first close of business on which it is more than
        ``penalty_grace_days`` late, computed on its outstanding principal +
        interest + fees (``arrears.late_penalty_amount``). A run that is late
        (repayments dated after ``as_of`` already posted) computes the penalties
        and DPD on the balances as they stood on ``as_of`` — the result does not
        depend on when the job ran — then re-allocates those later repayments
        and reports each as ``RepaymentReallocated``.
        """
        if self.status is not LoanStatus.ACTIVE:
            return ()
        if self.last_close_of_business is not None and as_of <= self.last_close_of_business:
            return ()
        events: list[CloseOfBusinessEvent] = []
        charged = {c.installment_number for c in self.penalty_charges}
        new_charges: list[PenaltyCharge] = []
        # No penalty is charged for ``as_of`` yet, so these are the balances at the end of that day.
        as_of_balances = self._balances_before_close_of(as_of)
        if self.late_penalty_percent > 0:
            for b in as_of_balances:
                if b.number in charged or not penalty_is_due(
                    due_date=b.due_date, as_of=as_of, penalty_grace_days=self.penalty_grace_days
                ):
                    continue
                amount = late_penalty_amount(
                    outstanding=b.fees + b.interest + b.principal, late_penalty_percent=self.late_penalty_percent
                )
                if amount > 0:
                    new_charges.append(PenaltyCharge(b.number, amount, as_of))
                    events.append(PenaltyCharged(self.loan_id, b.number, amount, as_of))
        if new_charges:
            charges = [*self.penalty_charges, *new_charges]
            replayed, balances, closed_on = self._replay(self.active_repayments(), charges)
            self.penalty_charges = charges
            for change in self._commit_replay(replayed, balances, closed_on):
                events.append(RepaymentReallocated(self.loan_id, change, as_of))
        # A penalty lands only on an installment that is already unpaid, so it cannot change the DPD.
        dpd = days_past_due(balances=as_of_balances, as_of=as_of)
        bucket = arrears_bucket(days_past_due=dpd)
        if bucket is not self.arrears_bucket:
            events.append(ArrearsChanged(self.loan_id, self.arrears_bucket, bucket, dpd, as_of))
        self.days_past_due = dpd
        self.worst_days_past_due = max(self.worst_days_past_due, dpd)
        self.arrears_bucket = bucket
        self.last_close_of_business = as_of
        return tuple(events)


def _waive_after(balances: tuple[InstallmentBalance, ...], on: date) -> tuple[InstallmentBalance, ...]:
    """The balances of a loan whose principal a payment dated ``on`` cleared: the interest and fees of
    the installments after the current one were not yet due and are waived (foreclosure without
    interest recalculation; see ``allocation.payoff_amount``). Everything due and the current
    installment were paid by that payment, which was exactly the payoff amount."""
    current = next((index for index, b in enumerate(balances) if b.due_date > on), len(balances))
    return tuple(
        replace(b, interest=_ZERO, fees=_ZERO) if index > current and (b.interest or b.fees) else b
        for index, b in enumerate(balances)
    )


def _add_penalty(balances: tuple[InstallmentBalance, ...], charge: PenaltyCharge) -> tuple[InstallmentBalance, ...]:
    return tuple(
        replace(b, penalties=b.penalties + charge.amount) if b.number == charge.installment_number else b
        for b in balances
    )
