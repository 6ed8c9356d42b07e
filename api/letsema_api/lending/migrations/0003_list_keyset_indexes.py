# ruff: noqa: RUF012 - migration lists
"""Indexes for the keyset (cursor) pages of the loan and application lists: each page is one range scan
of ``(disbursed_on, id)`` / ``(created_at, id)``, after ``status`` when the list is filtered by it. Built
CONCURRENTLY: a tenant with a million loans keeps taking repayments while they are built."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):  # type: ignore[misc]
    atomic = False

    dependencies = [
        ("lending", "0002_idempotency_key_per_caller"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="loan",
            index=models.Index(fields=["disbursed_on", "id"], name="lending_loan_list_idx"),
        ),
        AddIndexConcurrently(
            model_name="loan",
            index=models.Index(fields=["status", "disbursed_on", "id"], name="lending_loan_list_status_idx"),
        ),
        AddIndexConcurrently(
            model_name="loanapplication",
            index=models.Index(fields=["created_at", "id"], name="lending_application_list_idx"),
        ),
        AddIndexConcurrently(
            model_name="loanapplication",
            index=models.Index(fields=["status", "created_at", "id"], name="lending_app_list_status_idx"),
        ),
    ]
