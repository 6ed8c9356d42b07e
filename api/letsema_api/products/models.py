"""The MFI's loan products: every field of ``letsema_core.products.LoanProduct``.

The core's ``LoanProduct`` validates; this table only stores what it accepted (the repository
builds a core product from each row, so a row can never hold a product the core refuses).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils import timezone

from letsema_core.products import Amortization, InterestMethod, RepaymentFrequency

FREQUENCY_CHOICES = [(f.value, f.value) for f in RepaymentFrequency]
INTEREST_METHOD_CHOICES = [(m.value, m.value) for m in InterestMethod]
AMORTIZATION_CHOICES = [(a.value, a.value) for a in Amortization]


def new_id() -> str:
    return str(uuid.uuid4())


def _money(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def _percent(**kwargs: Any) -> models.DecimalField:
    # The core accepts percentages with up to 6 decimals; they are rates, never rounded to the cent.
    return models.DecimalField(max_digits=12, decimal_places=6, **kwargs)


class LoanProduct(models.Model):  # type: ignore[misc]
    id = models.CharField(primary_key=True, max_length=64, default=new_id, editable=False)
    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="LSL")
    principal_min = _money()
    principal_max = _money()
    term_min = models.PositiveIntegerField()
    term_max = models.PositiveIntegerField()
    repayment_frequency = models.CharField(max_length=16, choices=FREQUENCY_CHOICES)
    annual_interest_rate_percent = _percent()
    interest_method = models.CharField(max_length=32, choices=INTEREST_METHOD_CHOICES)
    amortization = models.CharField(max_length=32, choices=AMORTIZATION_CHOICES)
    grace_periods_principal = models.PositiveIntegerField(default=0)
    upfront_fee_percent = _percent(default=0)
    upfront_fee_amount = _money(default=0)
    late_penalty_percent = _percent(default=0)
    penalty_grace_days = models.PositiveIntegerField(default=0)
    approval_limit = _money()
    max_debt_to_income_percent = _percent()
    credit_check_mandatory = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("code",)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
