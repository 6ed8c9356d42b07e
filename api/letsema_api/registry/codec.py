"""Registry documents <-> core values (``CreditAccount``, ``CreditInquiry``, ``CreditDispute``).

Money has two encodings; reading accepts both, whichever the document was written with:

- ``decimal128``: ``bson.Decimal128`` with two decimals (STYLE.md §4; the default on real MongoDB);
- ``cents``: an int64 count of minor units (``945.60`` -> ``94560``), exact, for servers without
  Decimal128 (FerretDB 1.x drops the connection on a Decimal128 value, see docs/architecture.md).

Floats are refused both ways. ``detect_money_encoding`` picks one from the server's ``buildInfo``.

Dates and times:

- calendar dates (``opened_on``, ``last_updated_on``, ``written_off_on`` and the months of
  ``dpd_by_month``) are ISO 8601 strings (``"2026-01-10"``, ``"2026-01"``): a date has no time zone,
  and ISO strings sort in date order, so range queries and indexes work on them as they are;
- instants (``CreditInquiry.at``, ``CreditDispute.opened_at`` / ``resolved_at``) are BSON datetimes in
  UTC (MongoDB keeps milliseconds: finer digits are dropped). A naive datetime is refused rather than
  guessed at; they are read back timezone-aware in UTC (the adapter reads with ``tz_aware=True``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final, Literal, cast, get_args

from bson.decimal128 import Decimal128
from bson.int64 import Int64

from letsema_core.credit import (
    CreditAccount,
    CreditAccountStatus,
    CreditDispute,
    CreditInquiry,
    DisputeStatus,
)
from letsema_core.money import CENT

MoneyEncoding = Literal["decimal128", "cents"]
MONEY_ENCODINGS: Final[tuple[str, ...]] = get_args(MoneyEncoding)
DOCUMENT_VERSION: Final = 1
_INT64_MAX: Final = 2**63 - 1


class RegistryDocumentError(ValueError):
    """A value cannot be stored in, or read from, a registry document as it is."""


def detect_money_encoding(build_info: Mapping[str, Any]) -> MoneyEncoding:
    """``cents`` on FerretDB (its ``buildInfo`` has ``ferretdbVersion``), ``decimal128`` otherwise."""
    return "cents" if "ferretdbVersion" in build_info else "decimal128"


def _exact_cents(amount: Decimal) -> Decimal:
    if not isinstance(amount, Decimal):
        raise RegistryDocumentError(f"money must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise RegistryDocumentError(f"money must be finite, got {amount}")
    cents = amount.quantize(CENT)
    if cents != amount:
        # The core rounds every registry amount to the cent; a finer value here is a bug, not rounding work.
        raise RegistryDocumentError(f"money must be whole cents, got {amount}")
    return cents


class MoneyCodec:
    """Encodes money for one ``MoneyEncoding``; decodes either encoding."""

    def __init__(self, encoding: MoneyEncoding) -> None:
        if encoding not in MONEY_ENCODINGS:
            raise ValueError(f"money encoding must be one of {', '.join(MONEY_ENCODINGS)}, not {encoding!r}")
        self.encoding: MoneyEncoding = encoding

    def encode(self, amount: Decimal) -> Decimal128 | Int64:
        """The stored form of ``amount`` (whole cents). Raises ``RegistryDocumentError`` otherwise."""
        cents = _exact_cents(amount)
        if self.encoding == "decimal128":
            return Decimal128(cents)
        minor_units = int(cents.scaleb(2))
        if abs(minor_units) > _INT64_MAX:
            raise RegistryDocumentError(f"money out of int64 range: {amount}")
        return Int64(minor_units)

    @staticmethod
    def decode(value: object) -> Decimal:
        """An amount with two decimals from a ``Decimal128`` or an integer count of cents.

        Raises ``RegistryDocumentError`` for a float, a bool, any other type or sub-cent precision.
        """
        if isinstance(value, Decimal128):
            return _exact_cents(value.to_decimal())
        if isinstance(value, bool) or not isinstance(value, int):
            raise RegistryDocumentError(f"stored money must be Decimal128 or int64 cents, not {type(value).__name__}")
        return Decimal(int(value)).scaleb(-2)


def encode_instant(moment: datetime) -> datetime:
    """A timezone-aware datetime converted to UTC for BSON. Raises ``RegistryDocumentError`` if naive."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RegistryDocumentError(f"registry times must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def decode_instant(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise RegistryDocumentError(f"expected a BSON datetime, not {type(value).__name__}")
    # Read with tz_aware=True the value is UTC already; a naive one (another reader's options) is UTC too.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _optional_date(value: object) -> date | None:
    return None if value is None else date.fromisoformat(cast(str, value))


def account_to_document(
    account: CreditAccount, *, codec: MoneyCodec, revision: int, last_event_id: str
) -> dict[str, Any]:
    """The ``credit_accounts`` document of ``account`` (without ``_id``).

    ``revision`` counts the writes of the document (the optimistic-concurrency guard: any merge, even
    of an older event's history, bumps it); ``last_sequence`` is the event version whose state it holds.
    ``monthly_installment`` is derived but stored, so reports and aggregations can sum it in the server.
    """
    return {
        "v": DOCUMENT_VERSION,
        "country": account.country,
        "borrower_key": account.borrower_key,
        "lender_mfi": account.lender_mfi,
        "loan_ref": account.loan_ref,
        "opened_on": account.opened_on.isoformat(),
        "principal": codec.encode(account.principal),
        "outstanding_balance": codec.encode(account.outstanding_balance),
        "installment_amount": codec.encode(account.installment_amount),
        "monthly_installment": codec.encode(account.monthly_installment),
        "repayment_frequency": account.repayment_frequency,
        "status": account.status.value,
        "days_past_due": account.days_past_due,
        "worst_days_past_due": account.worst_days_past_due,
        "dpd_by_month": dict(account.dpd_by_month),
        "last_sequence": account.last_sequence,
        "last_event_id": last_event_id,
        "last_updated_on": account.last_updated_on.isoformat(),
        "written_off_on": None if account.written_off_on is None else account.written_off_on.isoformat(),
        "revision": revision,
    }


def account_from_document(document: Mapping[str, Any]) -> CreditAccount:
    """The ``CreditAccount`` a ``credit_accounts`` document holds (money in either encoding)."""
    return CreditAccount(
        country=document["country"],
        borrower_key=document["borrower_key"],
        lender_mfi=document["lender_mfi"],
        loan_ref=document["loan_ref"],
        opened_on=date.fromisoformat(document["opened_on"]),
        principal=MoneyCodec.decode(document["principal"]),
        outstanding_balance=MoneyCodec.decode(document["outstanding_balance"]),
        installment_amount=MoneyCodec.decode(document["installment_amount"]),
        repayment_frequency=document["repayment_frequency"],
        status=CreditAccountStatus(document["status"]),
        days_past_due=int(document["days_past_due"]),
        worst_days_past_due=int(document["worst_days_past_due"]),
        dpd_by_month=tuple(sorted((str(month), int(dpd)) for month, dpd in document["dpd_by_month"].items())),
        last_sequence=int(document["last_sequence"]),
        last_updated_on=date.fromisoformat(document["last_updated_on"]),
        written_off_on=_optional_date(document.get("written_off_on")),
    )


def inquiry_to_document(inquiry: CreditInquiry) -> dict[str, Any]:
    """The ``inquiries`` document of ``inquiry``; ``_id`` is the inquiry id (recording is idempotent)."""
    return {
        "_id": inquiry.inquiry_id,
        "v": DOCUMENT_VERSION,
        "country": inquiry.country,
        "borrower_key": inquiry.borrower_key,
        "lender_mfi": inquiry.lender_mfi,
        "user": inquiry.user,
        "purpose": inquiry.purpose,
        "at": encode_instant(inquiry.at),
        "consent_reference": inquiry.consent_reference,
    }


def inquiry_from_document(document: Mapping[str, Any]) -> CreditInquiry:
    return CreditInquiry(
        inquiry_id=str(document["_id"]),
        country=document["country"],
        borrower_key=document["borrower_key"],
        lender_mfi=document["lender_mfi"],
        user=document["user"],
        purpose=document["purpose"],
        at=decode_instant(document["at"]),
        consent_reference=document["consent_reference"],
    )


def dispute_to_document(dispute: CreditDispute) -> dict[str, Any]:
    """The ``disputes`` document of ``dispute``; ``_id`` is the dispute id (opening is idempotent)."""
    return {
        "_id": dispute.dispute_id,
        "v": DOCUMENT_VERSION,
        "country": dispute.country,
        "borrower_key": dispute.borrower_key,
        "lender_mfi": dispute.lender_mfi,
        "loan_ref": dispute.loan_ref,
        "reason": dispute.reason,
        "opened_at": encode_instant(dispute.opened_at),
        "status": dispute.status.value,
        "resolved_at": None if dispute.resolved_at is None else encode_instant(dispute.resolved_at),
        "resolution": dispute.resolution,
    }


def dispute_from_document(document: Mapping[str, Any]) -> CreditDispute:
    resolved_at = document.get("resolved_at")
    return CreditDispute(
        dispute_id=str(document["_id"]),
        country=document["country"],
        borrower_key=document["borrower_key"],
        lender_mfi=document["lender_mfi"],
        loan_ref=document["loan_ref"],
        reason=document["reason"],
        opened_at=decode_instant(document["opened_at"]),
        status=DisputeStatus(document["status"]),
        resolved_at=None if resolved_at is None else decode_instant(resolved_at),
        resolution=document.get("resolution"),
    )
