"""``/api/v1/loan-products/`` and ``/api/v1/loan-quotes/`` through DRF's APIClient with real OAuth access
tokens, on the real PostgreSQL; the product repository against the core's rules, in rolled-back
transactions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from letsema_core.errors import NotFound
from letsema_core.products import LoanProduct
from letsema_core.schedules.kfs import key_fact_statement
from tests.integration.conftest import DjangoApi
from tests.integration.test_api_borrowers import Api, assert_error

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]


def product_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": f"SB-{uuid.uuid4().hex[:8]}",
        "name": "Small business loan",
        "principal_min": "1000.00",
        "principal_max": "50000.00",
        "term_min": 3,
        "term_max": 24,
        "repayment_frequency": "monthly",
        "annual_interest_rate_percent": "24",
        "interest_method": "declining_balance",
        "amortization": "equal_installments",
        "approval_limit": "20000.00",
        "max_debt_to_income_percent": "40",
    }
    body.update(overrides)
    return body


@pytest.fixture
def as_role(django_api: DjangoApi, make_user: Any, bearer: Any) -> Any:
    from rest_framework.test import APIClient

    def make(role: str) -> Api:
        user = make_user(role)
        return Api(APIClient(), bearer(user), user)

    return make


@pytest.fixture
def admin(as_role: Any) -> Api:
    api: Api = as_role("mfi_admin")
    return api


def create_product(admin: Api, **overrides: Any) -> dict[str, Any]:
    response = admin.post("/api/v1/loan-products/", product_body(**overrides))
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


class TestProductRepository:
    @pytest.fixture
    def products(self, django_api: DjangoApi) -> Iterator[Any]:
        from django.db import transaction
        from letsema_api.products.repositories import DjangoProductRepository

        with transaction.atomic():
            yield DjangoProductRepository()
            transaction.set_rollback(True)

    def test_added_product_is_returned_unchanged(self, products: Any) -> None:
        product = LoanProduct(
            code=f"P-{uuid.uuid4().hex[:8]}",
            name="Small business",
            principal_min="500.00",
            principal_max="50000.00",
            term_min=3,
            term_max=24,
            repayment_frequency="monthly",
            annual_interest_rate_percent="23.125",
            interest_method="declining_balance",
            grace_periods_principal=1,
            upfront_fee_percent="2.5",
            upfront_fee_amount="25.00",
            late_penalty_percent="5",
            penalty_grace_days=3,
            approval_limit="20000.00",
            max_debt_to_income_percent="40",
            credit_check_mandatory=False,
        )
        products.add("P-1", product)
        assert products.get("P-1") == product

    def test_adding_again_replaces_the_product(self, products: Any) -> None:
        product = LoanProduct(
            code=f"P-{uuid.uuid4().hex[:8]}",
            name="Salary advance",
            principal_min="100",
            principal_max="5000",
            term_min=1,
            term_max=6,
            repayment_frequency="weekly",
            annual_interest_rate_percent="30",
            interest_method="flat",
            approval_limit="3000",
            max_debt_to_income_percent="35",
        )
        products.add("P-1", product)
        products.add("P-1", replace(product, name="Salary advance II"))
        assert products.get("P-1").name == "Salary advance II"

    def test_unknown_product_is_not_found(self, products: Any) -> None:
        with pytest.raises(NotFound):
            products.get("P-404")


class TestCreateProduct:
    def test_admin_creates_a_product_with_every_field(self, admin: Api) -> None:
        body = create_product(
            admin,
            upfront_fee_percent="2.5",
            upfront_fee_amount="25.00",
            grace_periods_principal=1,
            penalty_grace_days=5,
        )
        uuid.UUID(body["id"])
        assert body["principal_min"] == "1000.00"
        assert body["annual_interest_rate_percent"] == "24"
        assert body["upfront_fee_percent"] == "2.5"
        assert body["upfront_fee_amount"] == "25.00"
        assert (body["grace_periods_principal"], body["penalty_grace_days"]) == (1, 5)
        assert (body["currency"], body["credit_check_mandatory"], body["is_active"]) == ("LSL", True, True)

    def test_flat_interest_forces_equal_principal(self, admin: Api) -> None:
        body = create_product(admin, interest_method="flat", amortization="equal_installments")
        assert body["amortization"] == "equal_principal"

    def test_creation_is_audited(self, admin: Api) -> None:
        from letsema_api.common.models import AuditEvent

        body = create_product(admin)
        event = AuditEvent.objects.get(entity="loan_product", entity_id=body["id"], action="loan_product.created")
        assert event.actor == admin.user.username
        assert event.after["principal_max"] == "50000.00"

    @pytest.mark.parametrize(
        ("change", "field", "rule"),
        [
            ({"principal_max": "500.00"}, "principal_max", "not_below_principal_min"),
            ({"term_max": 2}, "term_max", "not_below_term_min"),
            ({"repayment_frequency": "daily"}, "repayment_frequency", "choice"),
            ({"grace_periods_principal": 3}, "grace_periods_principal", "less_than_term_min"),
            ({"max_debt_to_income_percent": "0"}, "max_debt_to_income_percent", "min_value"),
            ({"annual_interest_rate_percent": 24.5}, "annual_interest_rate_percent", "percent_format"),
            ({"principal_min": "-5.00"}, "principal_min", "min_value"),
            ({"colour": "blue"}, "colour", "unknown_field"),
        ],
    )
    def test_an_invalid_product_names_the_field_and_rule(
        self, admin: Api, change: dict[str, Any], field: str, rule: str
    ) -> None:
        body = assert_error(admin.post("/api/v1/loan-products/", product_body(**change)), 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == (field, rule)

    def test_a_taken_code_is_409(self, admin: Api) -> None:
        first = create_product(admin)
        body = assert_error(
            admin.post("/api/v1/loan-products/", product_body(code=first["code"])), 409, "duplicate_product_code"
        )
        assert body["details"]["existing_product_id"] == first["id"]

    @pytest.mark.parametrize("role", ["branch_manager", "loan_officer", "auditor", "integration"])
    def test_only_an_admin_creates_products(self, as_role: Any, role: str) -> None:
        assert_error(as_role(role).post("/api/v1/loan-products/", product_body()), 403, "role_not_allowed")


class TestReadAndUpdateProducts:
    def test_other_roles_read_and_filter(self, admin: Api, as_role: Any) -> None:
        weekly = create_product(admin, repayment_frequency="weekly", term_max=52)
        reader = as_role("loan_officer")
        page = reader.get("/api/v1/loan-products/", code=weekly["code"]).json()
        assert [p["id"] for p in page["results"]] == [weekly["id"]]
        assert (
            reader.get("/api/v1/loan-products/", code=weekly["code"], repayment_frequency="monthly").json()["count"]
            == 0
        )
        assert as_role("auditor").get(f"/api/v1/loan-products/{weekly['id']}/").json()["code"] == weekly["code"]

    def test_integration_clients_cannot_read_products(self, as_role: Any) -> None:
        assert_error(as_role("integration").get("/api/v1/loan-products/"), 403, "role_not_allowed")

    def test_admin_changes_a_product_and_the_core_revalidates_it(self, admin: Api) -> None:
        from letsema_api.common.models import AuditEvent

        created = create_product(admin)
        response = admin.patch(
            f"/api/v1/loan-products/{created['id']}/", {"annual_interest_rate_percent": "22.5", "is_active": False}
        )
        assert response.status_code == 200, response.content
        assert (response.json()["annual_interest_rate_percent"], response.json()["is_active"]) == ("22.5", False)
        event = AuditEvent.objects.get(entity_id=created["id"], action="loan_product.updated")
        assert (event.before["annual_interest_rate_percent"], event.after["annual_interest_rate_percent"]) == (
            "24",
            "22.5",
        )
        body = assert_error(
            admin.patch(f"/api/v1/loan-products/{created['id']}/", {"principal_min": "60000.00"}),
            400,
            "validation_error",
        )
        assert body["details"]["rule"] == "not_below_principal_min"
        assert admin.get(f"/api/v1/loan-products/{created['id']}/").json()["principal_min"] == "1000.00"

    def test_branch_manager_cannot_change_a_product(self, admin: Api, as_role: Any) -> None:
        created = create_product(admin)
        response = as_role("branch_manager").patch(f"/api/v1/loan-products/{created['id']}/", {"name": "Mine"})
        assert_error(response, 403, "role_not_allowed")

    def test_unknown_product_is_404(self, admin: Api) -> None:
        assert_error(admin.get(f"/api/v1/loan-products/{uuid.uuid4()}/"), 404, "not_found")
        assert_error(admin.patch(f"/api/v1/loan-products/{uuid.uuid4()}/", {"name": "x"}), 404, "not_found")


class TestQuote:
    def quote(self, api: Api, product_id: str, **overrides: Any) -> Any:
        body: dict[str, Any] = {
            "product": product_id,
            "principal": "10000.00",
            "term_in_periods": 12,
            "disbursement_date": "2026-01-15",
        }
        body.update(overrides)
        return api.post("/api/v1/loan-quotes/", body)

    def test_domain_case_matches_the_core_to_the_cent(self, admin: Api, as_role: Any) -> None:
        product = create_product(admin)
        response = self.quote(as_role("loan_officer"), product["id"])
        assert response.status_code == 200, response.content
        body = response.json()
        facts = body["key_facts"]
        installments = body["installments"]
        assert [i["total_due"] for i in installments] == ["945.60"] * 11 + ["945.55"]
        assert facts["total_interest"] == "1347.15"
        assert facts["installment_amount"] == "945.60"
        assert facts["total_repayable"] == "11347.15"
        assert (installments[0]["due_date"], installments[-1]["due_date"]) == ("2026-02-15", "2027-01-15")
        assert installments[-1]["balance_after"] == "0.00"

        from letsema_core.products import LoanProduct as CoreProduct

        core = key_fact_statement(
            CoreProduct(**{k: v for k, v in product_body().items() if k != "code"}, code="X").terms_for(
                principal=Decimal("10000.00"), term_in_periods=12, disbursement_date=date(2026, 1, 15)
            )
        )
        assert facts["effective_annual_rate_percent"] == f"{core.effective_annual_rate_percent:.2f}"
        for name in ("principal", "net_disbursed", "total_fees", "total_cost_of_credit", "total_repayable"):
            assert facts[name] == f"{getattr(core, name):.2f}", name
        assert [(i["principal_due"], i["interest_due"]) for i in installments] == [
            (f"{i.principal_due:.2f}", f"{i.interest_due:.2f}") for i in core.installments
        ]

    def test_a_quote_stores_nothing(self, admin: Api, as_role: Any) -> None:
        from letsema_api.common.models import AuditEvent

        product = create_product(admin)
        manager = as_role("branch_manager")
        before = AuditEvent.objects.count()
        assert self.quote(manager, product["id"]).status_code == 200
        assert AuditEvent.objects.count() == before

    def test_first_repayment_date_and_fees_are_honoured(self, admin: Api, as_role: Any) -> None:
        product = create_product(admin, upfront_fee_percent="2", upfront_fee_amount="50.00")
        body = self.quote(as_role("loan_officer"), product["id"], first_repayment_date="2026-02-28").json()
        assert body["key_facts"]["net_disbursed"] == "9750.00"
        assert body["key_facts"]["total_fees"] == "250.00"
        assert body["installments"][0]["due_date"] == "2026-02-28"

    def test_principal_out_of_the_products_range_is_422(self, admin: Api, as_role: Any) -> None:
        product = create_product(admin)
        body = assert_error(
            self.quote(as_role("loan_officer"), product["id"], principal="60000.00"), 422, "principal_out_of_range"
        )
        assert (body["details"]["field"], body["details"]["rule"], body["details"]["max"]) == (
            "principal",
            "max_value",
            "50000.00",
        )
        body = assert_error(self.quote(admin, product["id"], term_in_periods=36), 422, "term_out_of_range")
        assert body["details"]["field"] == "term_in_periods"

    def test_bad_input_is_400(self, admin: Api) -> None:
        product = create_product(admin)
        body = assert_error(self.quote(admin, product["id"], principal=10000), 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == ("principal", "money_format")
        body = assert_error(
            self.quote(admin, product["id"], first_repayment_date="2026-01-01"), 400, "validation_error"
        )
        assert body["details"]["field"] == "first_repayment_date"

    def test_unknown_product_is_404(self, admin: Api) -> None:
        assert_error(self.quote(admin, str(uuid.uuid4())), 404, "not_found")

    @pytest.mark.parametrize("role", ["auditor", "integration"])
    def test_roles_that_do_not_lend_cannot_quote(self, admin: Api, as_role: Any, role: str) -> None:
        product = create_product(admin)
        assert_error(self.quote(as_role(role), product["id"]), 403, "role_not_allowed")
