# ruff: noqa: RUF012 - migration lists
"""Loan rows keep half of each page free (``fillfactor = 50``).

Close of business rewrites every active loan row once a day (DPD, date stamp) and repayments rewrite one
each: with room on the row's own page and no indexed column changed, PostgreSQL writes the new version
there as a HOT update, without a new entry in each of the table's 18 indexes. Full pages made every such
update insert into all of them (about 115 of the 125 ms of a 1 000-loan stamp at 1M loans). The setting
applies to pages written from now on; a tenant's existing table is rewritten once with ``VACUUM FULL
lending_loan`` (or pg_repack, online) in a maintenance window (docs/performance.md).
"""

from django.db import migrations


class Migration(migrations.Migration):  # type: ignore[misc]
    dependencies = [
        ("lending", "0004_loan_close_of_business_marks"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE lending_loan SET (fillfactor = 50)",
            reverse_sql="ALTER TABLE lending_loan RESET (fillfactor)",
        ),
    ]
