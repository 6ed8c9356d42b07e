"""Portfolio, PAR, ageing and collections reports over HTTP, every figure compared to ``letsema_core.portfolio``
over the same loans, to the cent.

The book (built once per module and committed, like the other lending tests' loans): one product of its
own (reports are filtered with ``?product=`` so loans of other tests never count), two loans made through
the whole HTTP flow (so they carry their officer) and six opened through the loan repository, repaid
through the core's ``record_repayment`` for 0 to 8 months, one repayment reversed; then close of business
for 2026-09-10 through the lending service (``close_business_batch`` over these loans only — a run over
every active loan would move other tests' loans), which gives DPDs 0 to 217 (every bucket). The reports
are compared with ``position_of(loan, as_of=2026-09-10)``: the stored DPD is close of business's.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from datetime import date
from decimal import Decimal
from typing import Any, cast

import pytest

from tests.integration.conftest import DjangoApi
from tests.integration.test_api_lending_support import (
    Http,
    approved_loan,
    as_role,
    borrower_id,
    contract_product,
    error,
    ok,
)
from tests.integration.test_api_platform_router import fresh_health
from tests.integration.test_cob_close_of_business import open_loans, repay

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

__all__ = ["as_role", "fresh_health"]  # fixtures

COB = date(2026, 9, 10)
INSTALLMENT = "945.60"
#: Months repaid (from February) per repository-opened loan: current, 1-30, 31-60, 61-90, 91-180, 180+.
MONTHS_REPAID = (8, 7, 6, 5, 3, 0)
PERIOD = {"from": "2026-02-01", "to": "2026-08-31"}


def wait_for_replica(django_api: DjangoApi) -> None:
    """Until the replica has replayed everything the primary has written so far (the insert position: with
    ``synchronous_commit`` off a commit is not yet in the write position the standby streams from)."""
    pg = django_api.platform.pg
    [(target,)] = pg.primary.execute("SELECT pg_current_wal_insert_lsn()::text")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        [(caught_up,)] = pg.replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
        if caught_up:
            return
        time.sleep(0.05)
    raise AssertionError("the replica did not catch up within 10 s")


class Book:
    def __init__(self, *, product_id: str, loan_ids: list[str], officers: dict[str, str]) -> None:
        self.product_id = product_id
        self.loan_ids = loan_ids
        self.officers = officers

    def loans(self) -> list[Any]:
        from letsema_api.lending.repositories import DjangoLoanRepository

        repository = DjangoLoanRepository()
        return [repository.get(loan_id) for loan_id in self.loan_ids]

    def positions(self) -> list[Any]:
        from letsema_core.portfolio import position_of

        return [position_of(loan, as_of=COB, officer_id=self.officers[loan.loan_id]) for loan in self.loans()]


@pytest.fixture(scope="module")
def book(django_api: DjangoApi, as_role_module: Any) -> Book:
    from letsema_api.lending import services
    from letsema_api.lending.models import Loan as LoanRow
    from letsema_api.lending.repositories import DjangoLoanRepository
    from letsema_api.products.repositories import DjangoProductRepository

    from letsema_core.services import reverse_repayment

    product_id = str(uuid.uuid4())
    DjangoProductRepository().add(product_id, contract_product(f"rep-{product_id[:8]}"))
    make_borrower = cast(Any, borrower_id).__wrapped__  # the lending tests' fixture, called once per borrower here
    http_loans = [
        approved_loan(as_role_module, borrower_id=make_borrower(django_api), product_id=product_id)[2] for _ in range(2)
    ]
    opened = open_loans(borrower_id=make_borrower(django_api), product_id=product_id, count=len(MONTHS_REPAID))
    for loan_id, months in zip(http_loans + opened, (4, 2, *MONTHS_REPAID), strict=True):
        for month in range(2, 2 + months):
            repay(loan_id, on=date(2026, month, 5), amount=INSTALLMENT)
    # One reversal inside the period (collections are net of it), on a loan that stays in 91-180 whatever
    # penalty the late February installment brings.
    [first] = [t for t in DjangoLoanRepository().get(http_loans[0]).transactions if t.on == date(2026, 2, 5)]
    reverse_repayment(
        transaction_id=first.transaction_id, on=date(2026, 3, 1), loans=DjangoLoanRepository(), **services._ports()
    )
    repay(http_loans[0], on=date(2026, 3, 2), amount=INSTALLMENT)
    loan_ids = http_loans + opened
    services.close_business_batch(loan_ids=loan_ids, as_of=COB)
    officers = dict(LoanRow.objects.filter(id__in=loan_ids).values_list("id", "officer"))
    wait_for_replica(django_api)
    return Book(product_id=product_id, loan_ids=loan_ids, officers=officers)


@pytest.fixture(scope="module")
def as_role_module(django_api: DjangoApi) -> Any:
    """``as_role`` for module-scoped fixtures (the shared fixtures' functions, called once here)."""
    from tests.integration.conftest import bearer, make_user

    wrapped = [cast(Any, f).__wrapped__ for f in (as_role, make_user, bearer)]
    return wrapped[0](wrapped[1](django_api), wrapped[2](django_api))


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def report(user: Http, name: str, **params: str) -> Any:
    return ok(user.get(f"/api/v1/reports/{name}/", **params))


class TestFiguresMatchTheCore:
    def test_the_book_spans_every_arrears_bucket(self, book: Book) -> None:
        from letsema_core.loans.arrears import arrears_bucket

        buckets = {arrears_bucket(days_past_due=p.days_past_due).value for p in book.positions()}
        assert buckets == {"current", "1-30", "31-60", "61-90", "91-180", "180+"}

    def test_par_is_the_cores_by_balance(self, book: Book, as_role: Any) -> None:
        from letsema_core.portfolio import par30, par90

        positions = book.positions()
        body = report(as_role("branch_manager"), "par", as_of=COB.isoformat(), product=book.product_id)
        active = [p for p in positions if p.status.value == "active"]
        assert body["loans_counted"] == len(active) == 8
        assert body["as_of"] == "2026-09-10"
        assert body["close_of_business"] == {"earliest": "2026-09-10", "latest": "2026-09-10"}
        for name, reference in (("par30", par30(positions)), ("par90", par90(positions))):
            figure = body[name]
            assert figure["days"] == reference.days
            assert figure["at_risk"] == money(reference.at_risk)
            assert figure["total_outstanding"] == body["total_outstanding"] == money(reference.total_outstanding)
            assert Decimal(figure["ratio"]) == reference.ratio.quantize(Decimal("0.000001"))
            assert figure["percent"] == money(reference.percent)
            assert figure["loans_at_risk"] == sum(1 for p in active if p.days_past_due > reference.days)
        assert Decimal(body["par30"]["at_risk"]) > Decimal(body["par90"]["at_risk"]) > 0

    def test_ageing_lists_every_bucket_as_the_core_does(self, book: Book, as_role: Any) -> None:
        from letsema_core.portfolio import ageing

        body = report(as_role("auditor"), "ageing", as_of=COB.isoformat(), product=book.product_id)
        expected = [
            {"bucket": row.bucket.value, "count": row.count, "outstanding_principal": money(row.outstanding_principal)}
            for row in ageing(book.positions())
        ]
        assert body["buckets"] == expected
        assert body["count"] == 8
        amounts = [Decimal(r["outstanding_principal"]) for r in expected]
        assert body["outstanding_principal"] == money(sum(amounts, Decimal("0.00")))

    def test_portfolio_totals_and_breakdowns_are_the_cores(self, book: Book, as_role: Any) -> None:
        from letsema_core.portfolio import disbursed_in_period, outstanding_principal

        positions = book.positions()
        body = report(as_role("mfi_admin"), "portfolio", as_of=COB.isoformat(), product=book.product_id)
        disbursed = disbursed_in_period(positions, start=date(2000, 1, 1), end=COB)
        assert (body["active_loans"], body["outstanding_principal"]) == (8, money(outstanding_principal(positions)))
        assert (body["disbursed_count"], body["disbursed_total"]) == (disbursed.count, money(disbursed.amount))
        [product] = body["by_product"]
        assert product["key"] == book.product_id
        assert product["outstanding_principal"] == body["outstanding_principal"]
        by_officer = {row["key"]: row for row in body["by_officer"]}
        assert set(by_officer) == set(book.officers.values())
        for officer, row in by_officer.items():
            mine = [p for p in positions if p.officer_id == officer]
            assert (row["active_loans"], row["outstanding_principal"]) == (
                len(mine),
                money(outstanding_principal(mine)),
            )
        assert sum(row["active_loans"] for row in by_officer.values()) == 8

    def test_a_loan_disbursed_after_as_of_is_not_counted(self, book: Book, as_role: Any) -> None:
        body = report(as_role("mfi_admin"), "portfolio", as_of="2026-01-04", product=book.product_id)
        assert (body["active_loans"], body["outstanding_principal"], body["disbursed_count"]) == (0, "0.00", 0)
        assert body["close_of_business"] == {"earliest": None, "latest": None}
        par = report(as_role("mfi_admin"), "par", as_of="2026-01-04", product=book.product_id)
        assert (par["par30"]["ratio"], par["par30"]["percent"], par["loans_counted"]) == ("0.000000", "0.00", 0)

    def test_collections_are_net_of_reversals_by_component(self, book: Book, as_role: Any) -> None:
        from letsema_core.loans import TransactionType
        from letsema_core.portfolio import collected_in_period, collections_of

        loans = book.loans()
        start, end = date.fromisoformat(PERIOD["from"]), date.fromisoformat(PERIOD["to"])
        body = report(as_role("loan_officer"), "collections", product=book.product_id, **PERIOD)
        reference = collected_in_period([c for loan in loans for c in collections_of(loan)], start=start, end=end)
        total = body["total"]
        assert (body["from"], body["to"]) == (PERIOD["from"], PERIOD["to"])
        assert (total["count"], total["amount"]) == (reference.count, money(reference.amount))
        assert total["reversals"] == 1
        for component in ("principal", "interest", "fees", "penalties"):
            expected = Decimal("0.00")
            for loan in loans:
                for t in loan.transactions:
                    if start <= t.on <= end and t.kind is TransactionType.REPAYMENT:
                        expected += getattr(t, component)
                    elif start <= t.on <= end and t.kind is TransactionType.REPAYMENT_REVERSAL:
                        expected -= getattr(t, component)
            assert total[component] == money(expected), component
        components = [Decimal(total[c]) for c in ("principal", "interest", "fees", "penalties")]
        assert money(sum(components, Decimal("0.00"))) == total["amount"]
        assert sum(row["count"] for row in body["by_officer"]) == total["count"]

    def test_the_whole_tenant_includes_this_product_as_one_row(self, book: Book, as_role: Any) -> None:
        mine = report(as_role("mfi_admin"), "portfolio", as_of=COB.isoformat(), product=book.product_id)
        everything = report(as_role("mfi_admin"), "portfolio", as_of=COB.isoformat())
        [row] = [r for r in everything["by_product"] if r["key"] == book.product_id]
        assert row == mine["by_product"][0]
        assert everything["active_loans"] == sum(r["active_loans"] for r in everything["by_product"])
        assert everything["active_loans"] >= mine["active_loans"]

    def test_an_officer_filter_gives_that_officers_loans_only(self, book: Book, as_role: Any) -> None:
        officer = next(o for o in book.officers.values() if o)
        body = report(as_role("loan_officer"), "ageing", as_of=COB.isoformat(), officer=officer)
        assert body["count"] == sum(1 for o in book.officers.values() if o == officer) == 1

    def test_an_officer_filter_outside_the_schemas_pattern_is_400(self, as_role: Any) -> None:
        # Found by the fuzz tests: "ç" passed Python's \w but not the schema's ECMA-262 pattern.
        # And "3\xa0": DRF trimmed it to "3" before the pattern; "a,b": ":" after "-" had made a range "+-:".
        for officer in ("ç", "3\xa0", " mpho", "a,b", "a/b"):
            response = as_role("auditor").get("/api/v1/reports/ageing/", as_of=COB.isoformat(), officer=officer)
            assert response.status_code == 400, (officer, response.content)
            assert response.json()["details"]["field"] == "officer"
        ok = as_role("auditor").get("/api/v1/reports/ageing/", as_of=COB.isoformat(), officer="client:mpesa-gw.1@x+y")
        assert ok.status_code == 200, ok.content


class TestCsv:
    @pytest.mark.parametrize("name", ["portfolio", "par", "ageing", "collections"])
    def test_csv_parses_and_carries_the_json_figures(self, book: Book, as_role: Any, name: str) -> None:
        user = as_role("auditor")
        params = {**PERIOD} if name == "collections" else {"as_of": COB.isoformat()}
        params["product"] = book.product_id
        body = report(user, name, **params)
        response = user.get(f"/api/v1/reports/{name}/", format="csv", **params)
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        period = params.get("as_of") or f"{PERIOD['from']}_{PERIOD['to']}"
        assert response["Content-Disposition"] == f'attachment; filename="{name}-{period}.csv"'
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        if name == "par":
            assert {r["measure"]: (r["at_risk"], r["percent"]) for r in rows} == {
                m: (body[m]["at_risk"], body[m]["percent"]) for m in ("par30", "par90")
            }
        elif name == "ageing":
            assert [(r["bucket"], int(r["count"]), r["outstanding_principal"]) for r in rows] == [
                *((b["bucket"], b["count"], b["outstanding_principal"]) for b in body["buckets"]),
                ("total", body["count"], body["outstanding_principal"]),
            ]
        elif name == "portfolio":
            [total] = [r for r in rows if r["dimension"] == "total"]
            assert (int(total["active_loans"]), total["outstanding_principal"], total["disbursed_total"]) == (
                body["active_loans"],
                body["outstanding_principal"],
                body["disbursed_total"],
            )
            assert {r["key"] for r in rows if r["dimension"] == "officer"} == {r["key"] for r in body["by_officer"]}
        else:
            [total] = [r for r in rows if r["dimension"] == "total"]
            assert {k: total[k] for k in ("amount", "principal", "interest", "fees", "penalties")} == {
                k: body["total"][k] for k in ("amount", "principal", "interest", "fees", "penalties")
            }
            assert int(total["count"]) == body["total"]["count"]

    @pytest.mark.parametrize(
        ("cell", "written"),
        [
            ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("+27", "+27"),
            ("-945.60", "-945.60"),
            ("-officer", "'-officer"),
            ("Business 12", "Business 12"),
            (3, 3),
        ],
    )
    def test_a_cell_a_spreadsheet_would_run_is_defused(self, cell: Any, written: Any) -> None:
        from letsema_api.reporting.renderers import safe_cell

        assert safe_cell(cell) == written

    def test_accept_text_csv_negotiates_csv_too(self, as_role: Any) -> None:
        user = as_role("auditor")
        response = user.client.get("/api/v1/reports/ageing/", HTTP_ACCEPT="text/csv")
        assert response.status_code == 200
        assert response.content.decode().splitlines()[0] == "bucket,count,outstanding_principal"

    def test_an_unknown_format_is_a_400_naming_it(self, as_role: Any) -> None:
        body = error(as_role("auditor").get("/api/v1/reports/par/", format="xml"), 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == ("format", "invalid_choice")

    def test_an_accept_header_nothing_satisfies_is_406(self, as_role: Any) -> None:
        response = as_role("auditor").client.get("/api/v1/reports/par/", HTTP_ACCEPT="application/xml")
        error(response, 406, "not_acceptable")

    def test_an_error_asked_as_csv_is_json(self, as_role: Any) -> None:
        body = error(
            as_role("auditor").get("/api/v1/reports/par/", format="csv", as_of="someday"), 400, "validation_error"
        )
        assert body["details"]["field"] == "as_of"


class TestSchema:
    @pytest.mark.parametrize("name", ["portfolio", "par", "ageing", "collections"])
    def test_each_report_documents_json_csv_and_its_format_parameter(self, django_api: DjangoApi, name: str) -> None:
        import json

        from rest_framework.test import APIClient

        schema = json.loads(APIClient().get("/api/schema/", {"format": "json"}).content)
        operation = schema["paths"][f"/api/v1/reports/{name}/"]["get"]
        content = operation["responses"]["200"]["content"]
        assert content["text/csv"]["schema"] == {"type": "string"}
        assert content["application/json"]["schema"]["$ref"].startswith("#/components/schemas/")
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert parameters["format"]["schema"]["enum"] == ["json", "csv"]
        dates = {"from", "to"} if name == "collections" else {"as_of"}
        assert {n for n, p in parameters.items() if p["schema"].get("format") == "date"} == dates
        assert operation["security"] == [{"oauth2": ["reports"]}]
        assert set(schema["paths"][f"/api/v1/reports/{name}/"]) == {"get"}


class TestQueryValidation:
    @pytest.mark.parametrize("name", ["portfolio", "par", "ageing"])
    def test_a_bad_as_of_is_a_400_naming_it(self, as_role: Any, name: str) -> None:
        body = error(as_role("auditor").get(f"/api/v1/reports/{name}/", as_of="2026-02-30"), 400, "validation_error")
        assert body["details"]["field"] == "as_of"

    def test_a_period_ending_before_it_starts_is_a_400(self, as_role: Any) -> None:
        response = as_role("auditor").get("/api/v1/reports/collections/", **{"from": "2026-03-01", "to": "2026-02-01"})
        body = error(response, 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == ("from", "not_after_to")

    def test_a_bad_to_is_a_400_naming_it(self, as_role: Any) -> None:
        body = error(as_role("auditor").get("/api/v1/reports/collections/", to="31/01/2026"), 400, "validation_error")
        assert body["details"]["field"] == "to"

    def test_an_unknown_or_blank_parameter_is_refused(self, as_role: Any) -> None:
        user = as_role("auditor")
        unknown = error(user.get("/api/v1/reports/par/", asof="2026-01-01"), 400, "validation_error")
        assert (unknown["details"]["field"], unknown["details"]["rule"]) == ("asof", "unknown_field")
        blank = error(user.get("/api/v1/reports/par/", product=""), 400, "validation_error")
        assert (blank["details"]["field"], blank["details"]["rule"]) == ("product", "blank")

    def test_defaults_are_today_and_this_month(self, as_role: Any) -> None:
        from letsema_api.lending.services import today

        user = as_role("auditor")
        assert report(user, "par")["as_of"] == today().isoformat()
        body = report(user, "collections")
        assert (body["from"], body["to"]) == (today().replace(day=1).isoformat(), today().isoformat())


class TestRoles:
    @pytest.mark.parametrize("role", ["mfi_admin", "branch_manager", "loan_officer", "auditor"])
    def test_reporting_roles_read_every_report(self, as_role: Any, role: str) -> None:
        user = as_role(role)
        for name in ("portfolio", "par", "ageing", "collections"):
            assert user.get(f"/api/v1/reports/{name}/").status_code == 200, name

    def test_an_integration_client_reads_no_report(self, as_role: Any) -> None:
        user = as_role("integration")
        for name in ("portfolio", "par", "ageing", "collections"):
            error(user.get(f"/api/v1/reports/{name}/"), 403, "role_not_allowed")

    def test_a_token_without_the_reports_scope_is_refused(self, make_user: Any, bearer: Any) -> None:
        user = make_user("auditor")
        error(Http(user, bearer(user, "read audit")).get("/api/v1/reports/par/"), 403, "insufficient_scope")

    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    def test_reports_cannot_be_written(self, as_role: Any, method: str) -> None:
        user = as_role("mfi_admin")
        response = getattr(user.client, method)("/api/v1/reports/par/", {}, format="json")
        error(response, 405, "method_not_allowed")


class TestReplica:
    def test_a_report_reads_from_the_healthy_replica(self, book: Book, as_role: Any, fresh_health: Any) -> None:
        from django.db import connections
        from django.test.utils import CaptureQueriesContext

        user = as_role("auditor")
        with (
            CaptureQueriesContext(connections["replica"]) as replica,
            CaptureQueriesContext(connections["default"]) as primary,
        ):
            body = report(user, "par", as_of=COB.isoformat(), product=book.product_id)
        assert body["loans_counted"] == 8
        assert [q for q in replica.captured_queries if "lending_loan" in q["sql"]]
        assert not [q for q in primary.captured_queries if "lending_loan" in q["sql"]]

    def test_a_report_answers_from_the_primary_when_the_replica_is_down(
        self, book: Book, as_role: Any, fresh_health: Any
    ) -> None:
        from django.db import connections
        from django.test.utils import CaptureQueriesContext

        def unreachable() -> tuple[bool, float | None]:
            raise OSError("connection refused")

        user = as_role("auditor")
        healthy = report(user, "ageing", as_of=COB.isoformat(), product=book.product_id)
        fresh_health.probe = unreachable
        fresh_health._status = None
        with CaptureQueriesContext(connections["default"]) as primary:
            body = report(user, "ageing", as_of=COB.isoformat(), product=book.product_id)
        assert body == healthy
        assert [q for q in primary.captured_queries if "lending_loan" in q["sql"]]
        assert not fresh_health.status().healthy


class TestQueryPlans:
    """Every report query has an index to use (with sequential scans disabled the planner picks one; on a
    small table it would rightly prefer a scan)."""

    def plan(self, queryset_sql: tuple[str, tuple[Any, ...]]) -> str:
        from django.db import connection, transaction

        sql, params = queryset_sql
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())

    def test_collections_use_the_transaction_date_index(self) -> None:
        from letsema_api.lending.models import LoanTransaction

        rows = LoanTransaction.objects.filter(on__gte=date(2026, 2, 1), on__lte=date(2026, 2, 28))
        assert "lending_loantransaction_on" in self.plan(rows.values("id").query.sql_with_params())

    def test_loan_reports_use_a_loan_index(self, book: Book) -> None:
        from letsema_api.lending.models import Loan

        rows = Loan.objects.filter(status="active", product_id=book.product_id, disbursed_on__lte=COB)
        plan = self.plan(rows.values("id").query.sql_with_params())
        assert "Index" in plan, plan
        assert "lending_loan" in plan, plan
