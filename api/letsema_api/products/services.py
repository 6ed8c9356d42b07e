"""Loan product use cases for the API: the core's ``LoanProduct`` validates every field; each change is
audited in the same transaction. Quotes go through the core's ``quote`` use case and store nothing."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction

from letsema_api.common.audit import record_audit
from letsema_api.products import models
from letsema_api.products.repositories import DjangoProductRepository, product_from_row, product_values
from letsema_core.errors import DomainError, NotFound
from letsema_core.products import LoanProduct
from letsema_core.services.lending import Quote, quote


class DuplicateProductCode(DomainError):
    """Another product of the MFI already has this code."""

    code = "duplicate_product_code"
    http_status = 409


def _snapshot(product: LoanProduct) -> dict[str, Any]:
    return {
        name: str(value) if isinstance(value, Decimal) else value for name, value in product_values(product).items()
    }


def _refuse_taken_code(code: str, *, product_id: str | None) -> None:
    taken = models.LoanProduct.objects.filter(code=code).exclude(pk=product_id).values_list("pk", flat=True).first()
    if taken is not None:
        raise DuplicateProductCode(
            f"another product already has the code {code!r}",
            details={"field": "code", "rule": "unique", "existing_product_id": taken},
        )


@transaction.atomic  # type: ignore[untyped-decorator]
def create_product(*, fields: Mapping[str, Any], actor: str) -> str:
    """Validate (core ``LoanProduct``) and store a new product; returns its id. Raises ``ValidationError``
    and ``DuplicateProductCode`` (409)."""
    product = LoanProduct(**fields)
    _refuse_taken_code(product.code, product_id=None)
    product_id = str(uuid.uuid4())
    DjangoProductRepository().add(product_id, product)
    record_audit(
        actor=actor,
        action="loan_product.created",
        entity="loan_product",
        entity_id=product_id,
        after=_snapshot(product),
    )
    return product_id


@transaction.atomic  # type: ignore[untyped-decorator]
def update_product(*, product_id: str, changes: Mapping[str, Any], is_active: bool | None, actor: str) -> None:
    """Apply ``changes`` to a product; the whole product is validated again by the core. Raises
    ``NotFound``, ``ValidationError`` and ``DuplicateProductCode``. Loans already made keep their own terms."""
    row = models.LoanProduct.objects.select_for_update().filter(pk=product_id).first()
    if row is None:
        raise NotFound(entity="loan product", key=product_id)
    before = product_from_row(row)
    after = LoanProduct(**{**product_values(before), **changes})
    _refuse_taken_code(after.code, product_id=product_id)
    DjangoProductRepository().add(product_id, after)
    before_snapshot, after_snapshot = _snapshot(before), _snapshot(after)
    if is_active is not None and is_active != row.is_active:
        models.LoanProduct.objects.filter(pk=product_id).update(is_active=is_active)
        before_snapshot["is_active"], after_snapshot["is_active"] = row.is_active, is_active
    record_audit(
        actor=actor,
        action="loan_product.updated",
        entity="loan_product",
        entity_id=product_id,
        before=before_snapshot,
        after=after_snapshot,
    )


def quote_loan(
    *,
    product_id: str,
    principal: Decimal,
    term_in_periods: int,
    disbursement_date: date,
    first_repayment_date: date | None,
) -> Quote:
    """Schedule and Key Fact Statement (core ``quote``). Raises ``NotFound``, ``PrincipalOutOfRange`` /
    ``TermOutOfRange`` (422) and ``ValidationError``."""
    return quote(
        product_id=product_id,
        principal=principal,
        term_in_periods=term_in_periods,
        disbursement_date=disbursement_date,
        first_repayment_date=first_repayment_date,
        products=DjangoProductRepository(),
    )
