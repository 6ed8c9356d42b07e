"""Portfolio reports, summed by PostgreSQL: one or two aggregate queries per report, never a loop over loans.

The figures are those of ``letsema_core.portfolio`` (the reference the tests compare against): PAR by
balance, ageing by days past due with the core's bucket bounds, collections net of reversals.

``as_of`` semantics. A loan row holds its state as close of business last computed it (``days_past_due``,
``outstanding_principal``, ``status``, ``last_close_of_business``); the reports read that stored state and
keep no history. ``as_of`` selects the loans disbursed on or before it; their DPD and balance are those of
the latest close of business (``close_of_business_through`` in each answer says which date that is, the
oldest and newest among the loans counted). So a report is exact for the date close of business last ran;
an ``as_of`` in the past gives today's balances of the loans that existed then, not the balances of that
day (repayments since, and loans closed since, are not undone). Collections are exact for any period: they
are summed from the dated loan transactions.

Reads go to the replica when it is configured and healthy (``routers.read_alias``), else to the primary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, IntegerField, Max, Min, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from letsema_api.lending import models
from letsema_api.products.models import LoanProduct
from letsema_api.routers import read_alias
from letsema_core.loans import ArrearsBucket, LoanStatus, TransactionType
from letsema_core.loans.arrears import BUCKET_UPPER_BOUNDS
from letsema_core.money import ROUNDING, round_cent

_ZERO = Decimal("0.00")
_HUNDRED = Decimal(100)
#: The ratio in answers: six decimals, half-up (the percent is the core's, to 0.01).
RATIO_PLACES = Decimal("0.000001")
_MONEY = models.Loan._meta.get_field("principal")
_ACTIVE = Q(status=LoanStatus.ACTIVE.value)


@dataclass(frozen=True, slots=True)
class LoanScope:
    """Which loans a report covers: disbursed on or before ``as_of``, optionally one product or officer."""

    as_of: date
    product_id: str | None = None
    officer: str | None = None

    def loans(self, alias: str) -> QuerySet[models.Loan]:
        rows = models.Loan.objects.using(alias).filter(disbursed_on__lte=self.as_of)
        if self.product_id is not None:
            rows = rows.filter(product_id=self.product_id)
        if self.officer is not None:
            rows = rows.filter(officer=self.officer)
        return rows


def _money_sum(field: str, *, when: Q | None = None) -> Coalesce:
    return Coalesce(Sum(field, filter=when), Value(_ZERO, output_field=_MONEY), output_field=_MONEY)


# ------------------------------------------------------------------------------------------ portfolio


@dataclass(frozen=True, slots=True)
class PortfolioRow:
    key: str
    name: str
    active_loans: int
    outstanding_principal: Decimal
    disbursed_count: int
    disbursed_total: Decimal


@dataclass(frozen=True, slots=True)
class PortfolioReport:
    as_of: date
    close_of_business_through: tuple[date | None, date | None]
    total: PortfolioRow
    by_product: tuple[PortfolioRow, ...]
    by_officer: tuple[PortfolioRow, ...]


_PORTFOLIO_SUMS: dict[str, Any] = {
    "active_loans": Count("id", filter=_ACTIVE),
    "outstanding_principal": _money_sum("outstanding_principal", when=_ACTIVE),
    "disbursed_count": Count("id"),
    "disbursed_total": _money_sum("principal"),
    "cob_from": Min("last_close_of_business", filter=_ACTIVE),
    "cob_to": Max("last_close_of_business", filter=_ACTIVE),
}


def _portfolio_row(row: dict[str, Any], *, key: str, name: str) -> PortfolioRow:
    return PortfolioRow(
        key=key,
        name=name,
        active_loans=row["active_loans"],
        outstanding_principal=row["outstanding_principal"],
        disbursed_count=row["disbursed_count"],
        disbursed_total=row["disbursed_total"],
    )


def portfolio(*, scope: LoanScope) -> PortfolioReport:
    """Active loans and their outstanding principal, and all loans disbursed up to ``as_of`` (count and
    principal, any status), in total, per product and per loan officer. Two grouped scans of the loans
    and a lookup of the products' names."""
    alias = read_alias()
    # Grouped by the product id alone: joining the products into the scan of a million loans costs more
    # than the scan itself (seen in EXPLAIN ANALYZE); their names come from a lookup of the few ids.
    per_product = list(scope.loans(alias).values("product_id").annotate(**_PORTFOLIO_SUMS).order_by("product_id"))
    names = {
        p["id"]: f"{p['code']} {p['name']}"
        for p in LoanProduct.objects.using(alias)
        .filter(id__in=[r["product_id"] for r in per_product])
        .values("id", "code", "name")
    }
    per_officer = list(scope.loans(alias).values("officer").annotate(**_PORTFOLIO_SUMS).order_by("officer"))
    total = PortfolioRow(
        key="",
        name="total",
        active_loans=sum(r["active_loans"] for r in per_product),
        outstanding_principal=sum((r["outstanding_principal"] for r in per_product), _ZERO),
        disbursed_count=sum(r["disbursed_count"] for r in per_product),
        disbursed_total=sum((r["disbursed_total"] for r in per_product), _ZERO),
    )
    cob_from = [r["cob_from"] for r in per_product if r["cob_from"] is not None]
    cob_to = [r["cob_to"] for r in per_product if r["cob_to"] is not None]
    return PortfolioReport(
        as_of=scope.as_of,
        close_of_business_through=(min(cob_from, default=None), max(cob_to, default=None)),
        total=total,
        by_product=tuple(_portfolio_row(r, key=r["product_id"], name=names[r["product_id"]]) for r in per_product),
        by_officer=tuple(_portfolio_row(r, key=r["officer"], name=r["officer"]) for r in per_officer),
    )


# ------------------------------------------------------------------------------------------------ PAR


@dataclass(frozen=True, slots=True)
class ParFigure:
    """PAR``days``: the core's ``PortfolioAtRisk`` figures plus how many loans are at risk."""

    days: int
    loans_at_risk: int
    at_risk: Decimal
    total_outstanding: Decimal
    ratio: Decimal
    percent: Decimal


@dataclass(frozen=True, slots=True)
class ParReport:
    as_of: date
    close_of_business_through: tuple[date | None, date | None]
    loans_counted: int
    total_outstanding: Decimal
    par30: ParFigure
    par90: ParFigure


def _par(days: int, *, loans_at_risk: int, at_risk: Decimal, total: Decimal) -> ParFigure:
    # As letsema_core.portfolio.portfolio_at_risk: an empty portfolio has PAR 0; percent half-up to 0.01.
    ratio = at_risk / total if total else Decimal(0)
    return ParFigure(
        days=days,
        loans_at_risk=loans_at_risk,
        at_risk=at_risk,
        total_outstanding=total,
        ratio=ratio.quantize(RATIO_PLACES, rounding=ROUNDING),
        percent=round_cent(ratio * _HUNDRED),
    )


def par(*, scope: LoanScope) -> ParReport:
    """PAR30 and PAR90 by balance over the active loans of ``scope``: one query."""
    sums = (
        scope.loans(read_alias())
        .filter(_ACTIVE)
        .aggregate(
            loans=Count("id"),
            total=_money_sum("outstanding_principal"),
            loans_30=Count("id", filter=Q(days_past_due__gt=30)),
            at_risk_30=_money_sum("outstanding_principal", when=Q(days_past_due__gt=30)),
            loans_90=Count("id", filter=Q(days_past_due__gt=90)),
            at_risk_90=_money_sum("outstanding_principal", when=Q(days_past_due__gt=90)),
            cob_from=Min("last_close_of_business"),
            cob_to=Max("last_close_of_business"),
        )
    )
    total = sums["total"]
    return ParReport(
        as_of=scope.as_of,
        close_of_business_through=(sums["cob_from"], sums["cob_to"]),
        loans_counted=sums["loans"],
        total_outstanding=total,
        par30=_par(30, loans_at_risk=sums["loans_30"], at_risk=sums["at_risk_30"], total=total),
        par90=_par(90, loans_at_risk=sums["loans_90"], at_risk=sums["at_risk_90"], total=total),
    )


# --------------------------------------------------------------------------------------------- ageing


@dataclass(frozen=True, slots=True)
class AgeingBucketRow:
    bucket: ArrearsBucket
    count: int
    outstanding_principal: Decimal


@dataclass(frozen=True, slots=True)
class AgeingReport:
    as_of: date
    close_of_business_through: tuple[date | None, date | None]
    rows: tuple[AgeingBucketRow, ...]
    count: int
    outstanding_principal: Decimal


def _bucket_index() -> Case:
    """The position of the loan's bucket in ``BUCKET_UPPER_BOUNDS``, from its days past due (the core's bounds)."""
    whens = [
        When(days_past_due__lte=upper, then=Value(index))
        for index, (_, upper) in enumerate(BUCKET_UPPER_BOUNDS)
        if upper is not None
    ]
    return Case(*whens, default=Value(len(BUCKET_UPPER_BOUNDS) - 1), output_field=IntegerField())


def ageing(*, scope: LoanScope) -> AgeingReport:
    """Active loans per arrears bucket (every bucket listed, in order): count and outstanding principal."""
    grouped = {
        row["bucket"]: row
        for row in scope.loans(read_alias())
        .filter(_ACTIVE)
        .annotate(bucket=_bucket_index())
        .values("bucket")
        .annotate(
            count=Count("id"),
            outstanding=_money_sum("outstanding_principal"),
            cob_from=Min("last_close_of_business"),
            cob_to=Max("last_close_of_business"),
        )
        .order_by("bucket")
    }
    rows = tuple(
        AgeingBucketRow(
            bucket=bucket,
            count=grouped[i]["count"] if i in grouped else 0,
            outstanding_principal=grouped[i]["outstanding"] if i in grouped else _ZERO,
        )
        for i, (bucket, _) in enumerate(BUCKET_UPPER_BOUNDS)
    )
    cob_from = [r["cob_from"] for r in grouped.values() if r["cob_from"] is not None]
    cob_to = [r["cob_to"] for r in grouped.values() if r["cob_to"] is not None]
    return AgeingReport(
        as_of=scope.as_of,
        close_of_business_through=(min(cob_from, default=None), max(cob_to, default=None)),
        rows=rows,
        count=sum(r.count for r in rows),
        outstanding_principal=sum((r.outstanding_principal for r in rows), _ZERO),
    )


# ---------------------------------------------------------------------------------------- collections


@dataclass(frozen=True, slots=True)
class CollectionRow:
    """Money received in a period, net of reversals dated in it; ``count`` receipts, ``reversals`` reversals."""

    key: str
    count: int
    reversals: int
    amount: Decimal
    principal: Decimal
    interest: Decimal
    fees: Decimal
    penalties: Decimal


@dataclass(frozen=True, slots=True)
class CollectionsReport:
    start: date
    end: date
    total: CollectionRow
    by_officer: tuple[CollectionRow, ...]


_REPAYMENT = Q(kind=TransactionType.REPAYMENT.value)
_REVERSAL = Q(kind=TransactionType.REPAYMENT_REVERSAL.value)


def _net(field: str) -> Any:
    return _money_sum(field, when=_REPAYMENT) - _money_sum(field, when=_REVERSAL)


_COLLECTION_SUMS: dict[str, Any] = {
    "count": Count("id", filter=_REPAYMENT),
    "reversals": Count("id", filter=_REVERSAL),
    **{name: _net(name) for name in ("amount", "principal", "interest", "fees", "penalties")},
}


def _collection_row(row: dict[str, Any], *, key: str) -> CollectionRow:
    return CollectionRow(
        key=key,
        count=row["count"],
        reversals=row["reversals"],
        amount=row["amount"],
        principal=row["principal"],
        interest=row["interest"],
        fees=row["fees"],
        penalties=row["penalties"],
    )


def collections(
    *, start: date, end: date, product_id: str | None = None, officer: str | None = None
) -> CollectionsReport:
    """Repayments dated ``start`` to ``end`` inclusive minus the reversals dated in it (as the core's
    ``collected_in_period``), by component, in total and per loan officer: one grouped query.

    A repayment's components are its current allocation (the core re-allocates a repayment when a
    backdated payment, a reversal or a late close of business replays it)."""
    rows = models.LoanTransaction.objects.using(read_alias()).filter(
        on__gte=start, on__lte=end, kind__in=(TransactionType.REPAYMENT.value, TransactionType.REPAYMENT_REVERSAL.value)
    )
    if product_id is not None:
        rows = rows.filter(loan__product_id=product_id)
    if officer is not None:
        rows = rows.filter(loan__officer=officer)
    per_officer = [
        _collection_row(r, key=r["loan__officer"])
        for r in rows.values("loan__officer").annotate(**_COLLECTION_SUMS).order_by("loan__officer")
    ]
    total = CollectionRow(
        key="",
        count=sum(r.count for r in per_officer),
        reversals=sum(r.reversals for r in per_officer),
        **{
            name: sum((getattr(r, name) for r in per_officer), _ZERO)
            for name in ("amount", "principal", "interest", "fees", "penalties")
        },
    )
    return CollectionsReport(start=start, end=end, total=total, by_officer=tuple(per_officer))
