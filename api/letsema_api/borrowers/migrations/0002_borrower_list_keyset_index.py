# ruff: noqa: RUF012 - migration lists
"""The index of the borrower list's keyset (cursor) pages, newest first; built CONCURRENTLY."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):  # type: ignore[misc]
    atomic = False

    dependencies = [
        ("borrowers", "0001_initial"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="borrower",
            index=models.Index(fields=["created_at", "id"], name="borrowers_borrower_list_idx"),
        ),
    ]
