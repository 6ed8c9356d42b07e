"""The shared credit registry: its records, the account events the outbox carries, and its port.

The registry is keyed by ``(country, borrower_key)``. It holds one ``CreditAccount`` per loan (upserted by
``(lender_mfi, loan_ref)``), every ``CreditInquiry`` (each report pulled) and ``CreditDispute``s.

Account events carry the account's whole state after the change plus a per-loan ``sequence`` that the
lender increases with every event. ``apply_account_event`` is the one merge rule every adapter follows:

- the state (balance, status, DPD, …) comes from the event with the highest sequence: an older or
  repeated event never overwrites newer state, so the relay may deliver late, twice or out of order;
- the history is merged from every event, whatever its order: ``worst_days_past_due`` and the worst DPD
  of each calendar month (``dpd_by_month``, like a bureau's 24-month payment grid) keep the maximum, and
  ``written_off_on`` keeps the earliest write-off date. These merges are commutative and idempotent.

Payloads are versioned (``schema_version``) and carry an idempotency id (``event_id``, a UUID5 of lender,
loan and sequence, so the same change always gets the same id). ``to_dict`` gives JSON-safe values:
money as strings with two decimals, dates ISO 8601.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Protocol, runtime_checkable

from letsema_core.errors import DomainError, InvalidTransition, ValidationError
from letsema_core.money import CENT, ROUNDING, round_cent, to_decimal

SCHEMA_VERSION: Final = 1
_EVENT_NAMESPACE: Final = uuid.UUID("5b0f6c8e-6f5e-4a53-9a8e-6c657473656d")  # fixed: ids must never change

# Installments per month for each repayment frequency, as exact fractions (numerator, denominator):
# weekly ×52/12, fortnightly ×26/12 (52 weeks in the year), monthly ×1.
_PER_MONTH: Final[dict[str, tuple[int, int]]] = {"monthly": (1, 1), "fortnightly": (26, 12), "weekly": (52, 12)}


def _per_month(repayment_frequency: str) -> tuple[int, int]:
    try:
        return _PER_MONTH[str(repayment_frequency)]
    except KeyError:
        raise ValidationError(
            f"unknown repayment frequency {repayment_frequency!r}",
            field="repayment_frequency",
            rule="choice",
            allowed=sorted(_PER_MONTH),
        ) from None


def monthly_equivalent(*, installment_amount: Decimal, repayment_frequency: str) -> Decimal:
    """An installment expressed per month, rounded half-up to the cent.

    ``weekly`` × 52/12, ``fortnightly`` × 26/12, ``monthly`` × 1. Raises ``ValidationError``
    (``repayment_frequency``, ``choice``) for another frequency.
    """
    numerator, denominator = _per_month(repayment_frequency)
    return round_cent(installment_amount * numerator / denominator)


class CreditAccountStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"
    WRITTEN_OFF = "written_off"


class AccountEventType(StrEnum):
    ACCOUNT_OPENED = "account_opened"
    REPAYMENT = "repayment"
    REPAYMENT_REVERSED = "repayment_reversed"
    ARREARS_CHANGED = "arrears_changed"
    WRITTEN_OFF = "written_off"
    CLOSED = "closed"


def month_key(day: date) -> str:
    """``"YYYY-MM"`` of a date: the key of the monthly DPD history."""
    return f"{day.year:04d}-{day.month:02d}"


def _money_str(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUNDING))


def _money(value: Any, *, field: str) -> Decimal:
    amount = to_decimal(value, field=field)
    if amount < 0:
        raise ValidationError(f"{field} cannot be negative", field=field, rule="min_value", limit="0")
    return round_cent(amount)


@dataclass(frozen=True, slots=True)
class CreditAccountEvent:
    """One change of a loan's registry account, as the outbox carries it. Build with ``create``."""

    event_id: str
    event_type: AccountEventType
    country: str
    borrower_key: str
    lender_mfi: str
    loan_ref: str
    sequence: int
    as_of: date
    opened_on: date
    principal: Decimal
    outstanding_balance: Decimal
    installment_amount: Decimal
    repayment_frequency: str
    status: CreditAccountStatus
    days_past_due: int
    schema_version: int = SCHEMA_VERSION

    @staticmethod
    def make_event_id(*, lender_mfi: str, loan_ref: str, sequence: int) -> str:
        """The deterministic idempotency id of a loan's ``sequence``-th event."""
        return str(uuid.uuid5(_EVENT_NAMESPACE, f"{lender_mfi}\x1f{loan_ref}\x1f{sequence}"))

    @classmethod
    def create(
        cls,
        *,
        event_type: AccountEventType | str,
        country: str,
        borrower_key: str,
        lender_mfi: str,
        loan_ref: str,
        sequence: int,
        as_of: date,
        opened_on: date,
        principal: Decimal | int | str,
        outstanding_balance: Decimal | int | str,
        installment_amount: Decimal | int | str,
        repayment_frequency: str,
        status: CreditAccountStatus | str,
        days_past_due: int,
    ) -> CreditAccountEvent:
        """Validate and build an event. Raises ``ValidationError`` naming the field for an unknown type,
        status or frequency, an empty key, a sequence below 1, a negative amount or DPD."""
        for name, text in (
            ("country", country),
            ("borrower_key", borrower_key),
            ("lender_mfi", lender_mfi),
            ("loan_ref", loan_ref),
        ):
            if not text:
                raise ValidationError(f"{name} is required", field=name, rule="required")
        if sequence < 1:
            raise ValidationError("sequence starts at 1", field="sequence", rule="min_value", limit=1)
        if days_past_due < 0:
            raise ValidationError("days past due cannot be negative", field="days_past_due", rule="min_value", limit=0)
        try:
            type_value = AccountEventType(event_type)
        except ValueError:
            raise ValidationError(f"unknown event type {event_type!r}", field="event_type", rule="choice") from None
        try:
            status_value = CreditAccountStatus(status)
        except ValueError:
            raise ValidationError(f"unknown account status {status!r}", field="status", rule="choice") from None
        _per_month(repayment_frequency)
        return cls(
            event_id=cls.make_event_id(lender_mfi=lender_mfi, loan_ref=loan_ref, sequence=sequence),
            event_type=type_value,
            country=country,
            borrower_key=borrower_key,
            lender_mfi=lender_mfi,
            loan_ref=loan_ref,
            sequence=sequence,
            as_of=as_of,
            opened_on=opened_on,
            principal=_money(principal, field="principal"),
            outstanding_balance=_money(outstanding_balance, field="outstanding_balance"),
            installment_amount=_money(installment_amount, field="installment_amount"),
            repayment_frequency=str(repayment_frequency),
            status=status_value,
            days_past_due=days_past_due,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe payload: money as strings with two decimals, dates ISO 8601."""
        return {
            "schema_version": self.schema_version,
            "event_id": self.event_id,
            "event_type": self.event_type.value,
            "country": self.country,
            "borrower_key": self.borrower_key,
            "lender_mfi": self.lender_mfi,
            "loan_ref": self.loan_ref,
            "sequence": self.sequence,
            "as_of": self.as_of.isoformat(),
            "opened_on": self.opened_on.isoformat(),
            "principal": _money_str(self.principal),
            "outstanding_balance": _money_str(self.outstanding_balance),
            "installment_amount": _money_str(self.installment_amount),
            "repayment_frequency": self.repayment_frequency,
            "status": self.status.value,
            "days_past_due": self.days_past_due,
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> CreditAccountEvent:
        """Rebuild an event from ``to_dict`` output. Raises ``ValidationError`` for an unknown
        ``schema_version``, a missing field, a float amount, or an ``event_id`` that does not match."""
        if payload.get("schema_version") != SCHEMA_VERSION:
            raise ValidationError(
                f"unsupported credit event schema_version {payload.get('schema_version')!r}",
                field="schema_version",
                rule="supported_version",
                supported=[SCHEMA_VERSION],
            )
        try:
            event = cls.create(
                event_type=payload["event_type"],
                country=payload["country"],
                borrower_key=payload["borrower_key"],
                lender_mfi=payload["lender_mfi"],
                loan_ref=payload["loan_ref"],
                sequence=int(payload["sequence"]),
                as_of=date.fromisoformat(payload["as_of"]),
                opened_on=date.fromisoformat(payload["opened_on"]),
                principal=payload["principal"],
                outstanding_balance=payload["outstanding_balance"],
                installment_amount=payload["installment_amount"],
                repayment_frequency=payload["repayment_frequency"],
                status=payload["status"],
                days_past_due=int(payload["days_past_due"]),
            )
        except KeyError as missing:
            raise ValidationError(
                f"{missing.args[0]} is required", field=str(missing.args[0]), rule="required"
            ) from None
        if payload.get("event_id") != event.event_id:
            raise ValidationError("event_id does not match lender, loan and sequence", field="event_id", rule="match")
        return event


@dataclass(frozen=True, slots=True)
class CreditAccount:
    """One loan as the registry knows it (state of its newest event plus merged history)."""

    country: str
    borrower_key: str
    lender_mfi: str
    loan_ref: str
    opened_on: date
    principal: Decimal
    outstanding_balance: Decimal
    installment_amount: Decimal
    repayment_frequency: str
    status: CreditAccountStatus
    days_past_due: int
    worst_days_past_due: int
    dpd_by_month: tuple[tuple[str, int], ...]
    last_sequence: int
    last_updated_on: date
    written_off_on: date | None = None

    @property
    def monthly_installment(self) -> Decimal:
        """The installment per month (weekly × 52/12, fortnightly × 26/12), half-up to the cent."""
        return monthly_equivalent(
            installment_amount=self.installment_amount, repayment_frequency=self.repayment_frequency
        )

    @property
    def is_active(self) -> bool:
        return self.status is CreditAccountStatus.ACTIVE

    def worst_days_past_due_since(self, first_month: str) -> int:
        """The worst DPD recorded in the months from ``first_month`` (``"YYYY-MM"``) on; 0 if none."""
        return max((dpd for month, dpd in self.dpd_by_month if month >= first_month), default=0)


class AccountMismatch(DomainError):
    """An event was applied to the account of another borrower, lender or loan."""

    code = "credit_account_mismatch"
    http_status = 409


def apply_account_event(current: CreditAccount | None, event: CreditAccountEvent) -> CreditAccount:
    """The account after ``event`` (see the module docstring for the merge rule).

    Raises ``AccountMismatch`` if ``current`` is another loan's account.
    """
    month = month_key(event.as_of)
    if current is None:
        return CreditAccount(
            country=event.country,
            borrower_key=event.borrower_key,
            lender_mfi=event.lender_mfi,
            loan_ref=event.loan_ref,
            opened_on=event.opened_on,
            principal=event.principal,
            outstanding_balance=event.outstanding_balance,
            installment_amount=event.installment_amount,
            repayment_frequency=event.repayment_frequency,
            status=event.status,
            days_past_due=event.days_past_due,
            worst_days_past_due=event.days_past_due,
            dpd_by_month=((month, event.days_past_due),),
            last_sequence=event.sequence,
            last_updated_on=event.as_of,
            written_off_on=event.as_of if event.status is CreditAccountStatus.WRITTEN_OFF else None,
        )
    if (current.country, current.borrower_key, current.lender_mfi, current.loan_ref) != (
        event.country,
        event.borrower_key,
        event.lender_mfi,
        event.loan_ref,
    ):
        raise AccountMismatch(
            "the event belongs to another account",
            details={"lender_mfi": event.lender_mfi, "loan_ref": event.loan_ref},
        )
    history = dict(current.dpd_by_month)
    history[month] = max(history.get(month, 0), event.days_past_due)
    written_off_on = current.written_off_on
    if event.status is CreditAccountStatus.WRITTEN_OFF and (written_off_on is None or event.as_of < written_off_on):
        written_off_on = event.as_of
    merged = dataclasses.replace(
        current,
        worst_days_past_due=max(current.worst_days_past_due, event.days_past_due),
        dpd_by_month=tuple(sorted(history.items())),
        written_off_on=written_off_on,
    )
    if event.sequence <= current.last_sequence:
        return merged
    return dataclasses.replace(
        merged,
        opened_on=event.opened_on,
        principal=event.principal,
        outstanding_balance=event.outstanding_balance,
        installment_amount=event.installment_amount,
        repayment_frequency=event.repayment_frequency,
        status=event.status,
        days_past_due=event.days_past_due,
        last_sequence=event.sequence,
        last_updated_on=event.as_of,
    )


@dataclass(frozen=True, slots=True)
class CreditInquiry:
    """A report pulled: who asked, why, when, under which consent. Visible in the borrower's file."""

    inquiry_id: str
    country: str
    borrower_key: str
    lender_mfi: str
    user: str
    purpose: str
    at: datetime
    consent_reference: str


class DisputeStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class DisputeNotOwned(DomainError):
    """Only the MFI that contributed the disputed account may resolve the dispute."""

    code = "dispute_not_owned"
    http_status = 403


@dataclass(frozen=True, slots=True)
class CreditDispute:
    """A borrower's dispute of one account; flagged on reports while open."""

    dispute_id: str
    country: str
    borrower_key: str
    lender_mfi: str
    loan_ref: str
    reason: str
    opened_at: datetime
    status: DisputeStatus = DisputeStatus.OPEN
    resolved_at: datetime | None = None
    resolution: str | None = None

    def resolve(self, *, by_mfi: str, resolution: str, at: datetime) -> CreditDispute:
        """The dispute resolved by the contributing MFI.

        Raises ``DisputeNotOwned`` (403) for another MFI, ``InvalidTransition`` (409) if already resolved,
        ``ValidationError`` for an empty resolution.
        """
        if by_mfi != self.lender_mfi:
            raise DisputeNotOwned(
                "only the contributing MFI can resolve this dispute",
                details={"dispute_id": self.dispute_id, "lender_mfi": self.lender_mfi},
            )
        if self.status is not DisputeStatus.OPEN:
            raise InvalidTransition(entity="credit dispute", from_state=self.status.value, action="resolve")
        if not resolution.strip():
            raise ValidationError("a resolution is required", field="resolution", rule="required")
        return dataclasses.replace(self, status=DisputeStatus.RESOLVED, resolved_at=at, resolution=resolution.strip())


@dataclass(frozen=True, slots=True)
class CreditFile:
    """Everything the registry holds on one borrower: the borrower's own file, and a report's input."""

    country: str
    borrower_key: str
    accounts: tuple[CreditAccount, ...]
    inquiries: tuple[CreditInquiry, ...]
    disputes: tuple[CreditDispute, ...]


@runtime_checkable
class CreditRegistry(Protocol):
    """The shared registry (MongoDB in production). Contract: ``tests/contracts/credit_registry.py``.

    - ``record_account_event``: upsert the account of ``(lender_mfi, loan_ref)`` with
      ``apply_account_event``; repeating or reordering events gives the same account.
    - ``record_inquiry``: store an inquiry; idempotent by ``inquiry_id``.
    - ``credit_file``: accounts ordered by ``(lender_mfi, loan_ref)``, inquiries by time, disputes by
      opening time; an unknown borrower has an empty file.
    - ``open_dispute``: store a dispute of an existing account (``NotFound`` otherwise); idempotent by
      ``dispute_id``.
    - ``resolve_dispute``: ``CreditDispute.resolve`` then store; ``NotFound`` for an unknown id.
    """

    def record_account_event(self, event: CreditAccountEvent) -> None: ...

    def record_inquiry(self, inquiry: CreditInquiry) -> None: ...

    def credit_file(self, *, country: str, borrower_key: str) -> CreditFile: ...

    def open_dispute(self, dispute: CreditDispute) -> None: ...

    def resolve_dispute(self, *, dispute_id: str, by_mfi: str, resolution: str, at: datetime) -> CreditDispute: ...
