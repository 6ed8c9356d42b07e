"""``/api/v1/reports/{portfolio,par,ageing,collections}/``: read-only, JSON or CSV (``?format=csv``).

Query parameters go through an ``InputSerializer`` (a bad date is a 400 naming the parameter; an unknown
parameter is refused); the selector sums in SQL; an ``OutputSerializer`` shapes the JSON and
``csv_table`` the CSV. Readable by every role holding the ``reports`` action (mfi_admin, branch_manager,
loan_officer — officers filter with ``?officer=`` to see their own portfolio — and auditor); never by an
integration client. See ``selectors`` for what ``as_of`` means.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, ClassVar, TypeVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from letsema_api.accounts.apis import USERNAME_CHARACTERS
from letsema_api.accounts.permissions import Action
from letsema_api.common.serializers import InputSerializer, MoneyField
from letsema_api.lending.apis import ID_PATTERN
from letsema_api.lending.services import today
from letsema_api.reporting import selectors
from letsema_api.reporting.renderers import CsvRenderer, StrictFormatNegotiation
from letsema_api.routers import with_replica_fallback
from letsema_core.errors import ValidationError

FORMATS = ("json", "csv")
PRODUCT_ID = rf"^{ID_PATTERN}$"
#: A username (accounts) or an integration client's ``client:<id>``.
#: ``:`` first: after the set's closing ``-`` it would make a range.
USERNAME = rf"^[:{USERNAME_CHARACTERS}]{{1,150}}$"
Table = tuple[list[str], list[list[Any]]]
F = TypeVar("F", bound=Callable[..., Any])


class ReadOnlyApi(APIView):  # type: ignore[misc]
    """GET only: any other method is a 405 before permissions are looked at (nothing here writes)."""

    def check_permissions(self, request: Request) -> None:
        if request.method not in {"GET", "HEAD", "OPTIONS"}:
            raise MethodNotAllowed(request.method)
        super().check_permissions(request)


class ReportApiBase(ReadOnlyApi):
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.REPORTS}
    renderer_classes: ClassVar[list[Any]] = [JSONRenderer, CsvRenderer]
    content_negotiation_class = StrictFormatNegotiation
    report_name: ClassVar[str] = "report"

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # An error is {"code", "message", "details"} in JSON even when CSV was asked for.
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def query(self, request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        """The validated query parameters; a parameter given empty is a 400 (DRF would drop it silently)."""
        for name, value in request.query_params.items():
            if value == "":
                raise ValidationError(f"{name} cannot be empty", field=name, rule="blank")
        serializer = serializer_class(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        return data

    def csv_table(self, data: dict[str, Any]) -> Table:
        raise NotImplementedError

    def csv_filename(self, data: dict[str, Any]) -> str:
        period = data.get("as_of") or f"{data.get('from')}_{data.get('to')}"
        return f"{self.report_name}-{period}.csv"


def report_schema(output: Any, query: Any, *, operation_id: str, description: str) -> Callable[[F], F]:
    """The OpenAPI operation of a report: JSON ``output``, or CSV text with ``?format=csv``."""
    decorator: Callable[[F], F] = extend_schema(
        parameters=[query],
        responses={
            (200, "application/json"): output,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="The same figures as a CSV table with a header row (?format=csv)."
            ),
        },
        operation_id=operation_id,
        description=description,
    )
    return decorator


# ---------------------------------------------------------------------------------------- query inputs


class LoanScopeQuery(InputSerializer):
    as_of = serializers.DateField(
        required=False,
        help_text="YYYY-MM-DD (default: today). The loans disbursed on or before it, in the state the latest close "
        "of business stored (its date is `close_of_business` in the answer): balances are not rewound to a past "
        "as_of.",
    )
    product = serializers.RegexField(PRODUCT_ID, required=False, help_text="only this product's loans")
    officer = serializers.RegexField(
        USERNAME, required=False, trim_whitespace=False, help_text="only this loan officer's loans"
    )
    format = serializers.ChoiceField(choices=FORMATS, required=False, help_text="json (default) or csv")


def scope_of(query: dict[str, Any]) -> selectors.LoanScope:
    return selectors.LoanScope(
        as_of=query.get("as_of") or today(), product_id=query.get("product"), officer=query.get("officer")
    )


class CollectionsQuery(InputSerializer):
    vars()["from"] = serializers.DateField(required=False, help_text="YYYY-MM-DD (default: the 1st of `to`'s month)")
    to = serializers.DateField(required=False, help_text="YYYY-MM-DD, inclusive (default: today)")
    product = serializers.RegexField(PRODUCT_ID, required=False, help_text="only this product's loans")
    officer = serializers.RegexField(
        USERNAME, required=False, trim_whitespace=False, help_text="only this loan officer's loans"
    )
    format = serializers.ChoiceField(choices=FORMATS, required=False, help_text="json (default) or csv")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end: date = attrs.get("to") or today()
        start: date = attrs.get("from") or end.replace(day=1)
        if start > end:
            raise serializers.ValidationError(
                {"from": serializers.ErrorDetail("from must be on or before to.", code="not_after_to")}
            )
        return {**attrs, "from": start, "to": end}


# ------------------------------------------------------------------------------------------ serializers


class CloseOfBusinessSerializer(serializers.Serializer):  # type: ignore[misc]
    """The close-of-business dates whose stored state the report reads (oldest and newest loan)."""

    earliest = serializers.DateField(allow_null=True)
    latest = serializers.DateField(allow_null=True)


def close_of_business(through: tuple[date | None, date | None]) -> dict[str, date | None]:
    return {"earliest": through[0], "latest": through[1]}


class PortfolioRowSerializer(serializers.Serializer):  # type: ignore[misc]
    key = serializers.CharField(help_text="product id, or officer username ('' when unknown)")
    name = serializers.CharField()
    active_loans = serializers.IntegerField()
    outstanding_principal = MoneyField()
    disbursed_count = serializers.IntegerField()
    disbursed_total = MoneyField()


def _cells(row: dict[str, Any], names: Sequence[str]) -> list[Any]:
    return [row[name] for name in names]


class PortfolioReportApi(ReportApiBase):
    report_name = "portfolio"

    class OutputSerializer(serializers.Serializer):  # type: ignore[misc]
        as_of = serializers.DateField()
        close_of_business = CloseOfBusinessSerializer()
        active_loans = serializers.IntegerField()
        outstanding_principal = MoneyField()
        disbursed_count = serializers.IntegerField()
        disbursed_total = MoneyField()
        by_product = PortfolioRowSerializer(many=True)
        by_officer = PortfolioRowSerializer(many=True)

    @report_schema(
        OutputSerializer,
        LoanScopeQuery,
        operation_id="reports_portfolio",
        description="Active loans and outstanding principal as close of business last computed them, and the "
        "loans disbursed up to as_of (any status), in total, per product and per loan officer. Branches are "
        "not recorded, so there is no per-branch breakdown.",
    )
    def get(self, request: Request) -> Response:
        scope = scope_of(self.query(request, LoanScopeQuery))
        report = with_replica_fallback(lambda: selectors.portfolio(scope=scope))
        data = {
            "as_of": report.as_of,
            "close_of_business": close_of_business(report.close_of_business_through),
            "active_loans": report.total.active_loans,
            "outstanding_principal": report.total.outstanding_principal,
            "disbursed_count": report.total.disbursed_count,
            "disbursed_total": report.total.disbursed_total,
            "by_product": report.by_product,
            "by_officer": report.by_officer,
        }
        return Response(self.OutputSerializer(data).data)

    FIGURES = ("active_loans", "outstanding_principal", "disbursed_count", "disbursed_total")

    def csv_table(self, data: dict[str, Any]) -> Table:
        rows = [["total", "", "total", *_cells(data, self.FIGURES)]]
        for dimension in ("product", "officer"):
            rows += [[dimension, r["key"], r["name"], *_cells(r, self.FIGURES)] for r in data[f"by_{dimension}"]]
        return ["dimension", "key", "name", *self.FIGURES], rows


class ParFigureSerializer(serializers.Serializer):  # type: ignore[misc]
    days = serializers.IntegerField()
    loans_at_risk = serializers.IntegerField()
    at_risk = MoneyField(help_text="outstanding principal of the active loans more than `days` past due")
    total_outstanding = MoneyField()
    ratio = serializers.DecimalField(max_digits=8, decimal_places=6, help_text="at_risk / total_outstanding")
    percent = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="ratio × 100, half-up")


class ParReportApi(ReportApiBase):
    report_name = "par"

    class OutputSerializer(serializers.Serializer):  # type: ignore[misc]
        as_of = serializers.DateField()
        close_of_business = CloseOfBusinessSerializer()
        loans_counted = serializers.IntegerField()
        total_outstanding = MoneyField()
        par30 = ParFigureSerializer()
        par90 = ParFigureSerializer()

    @report_schema(
        OutputSerializer,
        LoanScopeQuery,
        operation_id="reports_par",
        description="Portfolio at risk by balance (DOMAIN.md): the whole outstanding principal of the active "
        "loans more than 30 (90) days past due ÷ the total outstanding principal.",
    )
    def get(self, request: Request) -> Response:
        scope = scope_of(self.query(request, LoanScopeQuery))
        report = with_replica_fallback(lambda: selectors.par(scope=scope))
        data = {
            "as_of": report.as_of,
            "close_of_business": close_of_business(report.close_of_business_through),
            "loans_counted": report.loans_counted,
            "total_outstanding": report.total_outstanding,
            "par30": report.par30,
            "par90": report.par90,
        }
        return Response(self.OutputSerializer(data).data)

    FIGURES = ("days", "loans_at_risk", "at_risk", "total_outstanding", "ratio", "percent")

    def csv_table(self, data: dict[str, Any]) -> Table:
        rows = [[name, data["loans_counted"], *_cells(data[name], self.FIGURES)] for name in ("par30", "par90")]
        return ["measure", "loans_counted", *self.FIGURES], rows


class AgeingRowSerializer(serializers.Serializer):  # type: ignore[misc]
    bucket = serializers.CharField(help_text="current, 1-30, 31-60, 61-90, 91-180, 180+ (days past due)")
    count = serializers.IntegerField()
    outstanding_principal = MoneyField()


class AgeingReportApi(ReportApiBase):
    report_name = "ageing"

    class OutputSerializer(serializers.Serializer):  # type: ignore[misc]
        as_of = serializers.DateField()
        close_of_business = CloseOfBusinessSerializer()
        buckets = AgeingRowSerializer(many=True)
        count = serializers.IntegerField()
        outstanding_principal = MoneyField()

    @report_schema(
        OutputSerializer,
        LoanScopeQuery,
        operation_id="reports_ageing",
        description="Active loans per arrears bucket (every bucket listed, in order): count and outstanding principal.",
    )
    def get(self, request: Request) -> Response:
        scope = scope_of(self.query(request, LoanScopeQuery))
        report = with_replica_fallback(lambda: selectors.ageing(scope=scope))
        data = {
            "as_of": report.as_of,
            "close_of_business": close_of_business(report.close_of_business_through),
            "buckets": [
                {"bucket": r.bucket.value, "count": r.count, "outstanding_principal": r.outstanding_principal}
                for r in report.rows
            ],
            "count": report.count,
            "outstanding_principal": report.outstanding_principal,
        }
        return Response(self.OutputSerializer(data).data)

    def csv_table(self, data: dict[str, Any]) -> Table:
        names = ("bucket", "count", "outstanding_principal")
        rows = [_cells(r, names) for r in data["buckets"]]
        rows.append(["total", data["count"], data["outstanding_principal"]])
        return list(names), rows


class CollectionRowSerializer(serializers.Serializer):  # type: ignore[misc]
    key = serializers.CharField(help_text="loan officer username ('' when unknown); '' for the total")
    count = serializers.IntegerField(help_text="repayments received")
    reversals = serializers.IntegerField(help_text="reversals dated in the period")
    amount = MoneyField(min_value=None)
    principal = MoneyField(min_value=None)
    interest = MoneyField(min_value=None)
    fees = MoneyField(min_value=None)
    penalties = MoneyField(min_value=None)


class CollectionsReportApi(ReportApiBase):
    report_name = "collections"

    class OutputSerializer(serializers.Serializer):  # type: ignore[misc]
        vars()["from"] = serializers.DateField()
        to = serializers.DateField()
        total = CollectionRowSerializer()
        by_officer = CollectionRowSerializer(many=True)

    @report_schema(
        OutputSerializer,
        CollectionsQuery,
        operation_id="reports_collections",
        description="Repayments dated from..to (inclusive) net of the reversals dated in the period, by "
        "component, in total and per loan officer.",
    )
    def get(self, request: Request) -> Response:
        query = self.query(request, CollectionsQuery)
        report = with_replica_fallback(
            lambda: selectors.collections(
                start=query["from"], end=query["to"], product_id=query.get("product"), officer=query.get("officer")
            )
        )
        data = {"from": report.start, "to": report.end, "total": report.total, "by_officer": report.by_officer}
        return Response(self.OutputSerializer(data).data)

    FIGURES = ("count", "reversals", "amount", "principal", "interest", "fees", "penalties")

    def csv_table(self, data: dict[str, Any]) -> Table:
        rows = [["total", "", *_cells(data["total"], self.FIGURES)]]
        rows += [["officer", r["key"], *_cells(r, self.FIGURES)] for r in data["by_officer"]]
        return ["dimension", "key", *self.FIGURES], rows
