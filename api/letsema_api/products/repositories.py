"""Django ORM adapter of the core's ``ProductRepository`` port.

A row holds exactly the fields of ``letsema_core.products.LoanProduct``; reading one builds the
core product again, so the core's validation stands between the table and every use case.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from letsema_api.products import models
from letsema_core.errors import NotFound
from letsema_core.products import LoanProduct

PRODUCT_FIELDS: tuple[str, ...] = tuple(LoanProduct.__dataclass_fields__)
PERCENT_FIELDS = (
    "annual_interest_rate_percent",
    "upfront_fee_percent",
    "late_penalty_percent",
    "max_debt_to_income_percent",
)


def product_values(product: LoanProduct) -> dict[str, Any]:
    """The column values of a core product (enums as their string values)."""
    values: dict[str, Any] = {}
    for name in PRODUCT_FIELDS:
        value = getattr(product, name)
        values[name] = getattr(value, "value", value)
    return values


def product_from_row(row: models.LoanProduct) -> LoanProduct:
    values = {name: getattr(row, name) for name in PRODUCT_FIELDS}
    # Percent columns keep 6 decimals ("24.000000"); give the core the value without trailing zeros.
    for name in PERCENT_FIELDS:
        values[name] = values[name].normalize()
    return LoanProduct(**values)


class DjangoProductRepository:
    """``ProductRepository`` on the tenant's PostgreSQL. ``add`` inserts or replaces by id."""

    def add(self, product_id: str, product: LoanProduct) -> None:
        now = timezone.now()
        values = product_values(product)
        models.LoanProduct.objects.update_or_create(
            id=product_id,
            defaults={**values, "updated_at": now},
            create_defaults={**values, "created_at": now, "updated_at": now},
        )

    def get(self, product_id: str) -> LoanProduct:
        row = models.LoanProduct.objects.filter(pk=product_id).first()
        if row is None:
            raise NotFound(entity="loan product", key=product_id)
        return product_from_row(row)
