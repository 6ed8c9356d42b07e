"""``PlainOutputSerializer`` (the loan, loan-list and schedule outputs) renders the very bytes DRF's own
``Serializer.to_representation`` renders, for loans in each state the lending fixtures reach."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.test_api_lending_support import (
    approved_loan,
    as_role,  # noqa: F401 - a fixture
    borrower_id,  # noqa: F401 - a fixture
    ok,
    product_id,  # noqa: F401 - a fixture
)

pytestmark = [pytest.mark.integration]


def _render(data: Any) -> bytes:
    """``data`` as the API renders it (the project's first renderer)."""
    from rest_framework.settings import api_settings

    rendered: bytes = api_settings.DEFAULT_RENDERER_CLASSES[0]().render(data)
    return rendered


def _drf(serializer_class: Any, instance: Any) -> Any:
    """What DRF's own ``Serializer.to_representation`` gives for ``instance``."""
    from rest_framework import serializers

    return serializers.Serializer.to_representation(serializer_class(instance), instance)


def _both(serializer_class: Any, instance: Any) -> tuple[bytes, bytes]:
    """The JSON of ``instance`` by the fast path and by DRF's ``Serializer.to_representation``."""
    return _render(serializer_class(instance).data), _render(_drf(serializer_class, instance))


def _repay(officer: Any, loan_id: str, amount: str, on: str) -> None:
    ok(
        officer.post(
            f"/api/v1/loans/{loan_id}/repayments/",
            {"amount": amount, "on": on},
            **{"Idempotency-Key": str(uuid.uuid4())},
        ),
        201,
    )


@pytest.fixture
def loans_in_every_state(as_role: Any, borrower_id: str, product_id: str) -> tuple[Any, list[str]]:  # noqa: F811
    fresh_officer, _, fresh = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
    officer, _, repaid_once = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
    _repay(officer, repaid_once, "945.60", "2026-02-05")
    officer, manager, written_off = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
    _repay(officer, written_off, "945.60", "2026-02-05")
    ok(manager.post(f"/api/v1/loans/{written_off}/write-off/", {"on": "2026-09-30"}))
    officer, _, closed = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
    payoff = ok(officer.get(f"/api/v1/loans/{closed}/payoff/", as_of="2026-02-05"))["payoff_amount"]
    _repay(officer, closed, payoff, "2026-02-05")
    return fresh_officer, [fresh, repaid_once, written_off, closed]


class TestPlainOutputSerializer:
    def test_a_loan_and_its_schedule_render_as_drf_renders_them_in_every_state(
        self, loans_in_every_state: tuple[Any, list[str]]
    ) -> None:
        from letsema_api.common.serializers import _plain_plan
        from letsema_api.lending import selectors
        from letsema_api.lending.apis import LoanOutputSerializer, LoanScheduleApi

        # Both take the fast path: every field is a plain one.
        assert _plain_plan(LoanOutputSerializer) is not None
        assert _plain_plan(LoanScheduleApi.OutputSerializer) is not None
        _, loan_ids = loans_in_every_state
        statuses = set()
        for loan_id in loan_ids:
            loan = selectors.loan_get(loan_id)
            statuses.add(loan.status)
            fast, drf = _both(LoanOutputSerializer, loan)
            assert fast == drf
            for installment in selectors.loan_schedule(loan_id):
                fast, drf = _both(LoanScheduleApi.OutputSerializer, installment)
                assert fast == drf
        assert statuses >= {"active", "written_off", "closed"}

    def test_the_responses_are_drfs_bytes(self, loans_in_every_state: tuple[Any, list[str]]) -> None:
        from letsema_api.lending import selectors
        from letsema_api.lending.apis import LoanOutputSerializer, LoanScheduleApi

        officer, loan_ids = loans_in_every_state
        for loan_id in loan_ids:
            loan = selectors.loan_get(loan_id)
            response = officer.get(f"/api/v1/loans/{loan_id}/")
            assert response.content == _render(_drf(LoanOutputSerializer, loan))
            rows = selectors.loan_schedule(loan_id)
            response = officer.get(f"/api/v1/loans/{loan_id}/schedule/")
            assert response.content == _render([_drf(LoanScheduleApi.OutputSerializer, r) for r in rows])
        page = ok(officer.get("/api/v1/loans/", page_size="50"))
        listed = {row["id"]: row for row in page["results"]}
        for loan_id in loan_ids:
            loan = selectors.loan_get(loan_id)
            assert _render(listed[loan_id]) == _render(_drf(LoanOutputSerializer, loan))

    def test_nulls_and_unusual_instances_take_the_same_shape(self, django_api: Any) -> None:
        import datetime
        from decimal import Decimal

        from letsema_api.lending import models
        from letsema_api.lending.apis import LoanOutputSerializer

        loan = models.Loan(
            id="l-none",
            borrower_id="b-1",
            product_id="p-1",
            application_ref=None,
            officer="someone",
            disbursed_on=datetime.date(2026, 1, 5),
            principal=Decimal("100"),
            upfront_fee=Decimal("0.005"),
            status="active",
            outstanding_principal=Decimal("-0"),
            days_past_due=0,
            worst_days_past_due=3,
            arrears_bucket="current",
            closed_on=None,
            written_off_on=None,
            last_close_of_business=None,
        )
        fast, drf = _both(LoanOutputSerializer, loan)
        assert fast == drf

        class NoOfficer:  # a missing attribute: DRF's own path, and DRF's own error
            def __getattr__(self, name: str) -> Any:
                if name == "officer":
                    raise AttributeError(name)
                return getattr(loan, name)

        with pytest.raises(AttributeError):
            LoanOutputSerializer(NoOfficer()).data  # noqa: B018

    def test_the_published_schema_of_the_outputs_is_their_fields_only(self, django_api: Any) -> None:
        import json

        from rest_framework.test import APIClient

        schema = json.loads(APIClient().get("/api/schema/", {"format": "json"}).content)
        for name in ("LoanOutput", "LoanScheduleOutput"):
            component = schema["components"]["schemas"][name]
            assert "description" not in component, "the base class's comment is not a published description"
            assert "disbursed_on" in component["properties"] or "due_date" in component["properties"]
