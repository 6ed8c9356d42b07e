# ruff: noqa: RUF012 - migration lists
"""The loan row's close-of-business marks (``Loan.oldest_unpaid_due_on``, ``next_penalty_on``,
``last_transaction_on``), filled for the loans already there from their installments, penalty charges and
transactions exactly as ``repositories.close_of_business_marks`` computes them for every later write."""

from django.db import migrations, models

_FILL = """
WITH charged AS (
  SELECT l.id, ARRAY(SELECT (c ->> 0)::int FROM jsonb_array_elements(l.penalty_charges) c) AS numbers
  FROM lending_loan l
),
marks AS (
  SELECT l.id,
    (array_agg(i.due_date ORDER BY i.number) FILTER (
      WHERE i.principal_outstanding + i.interest_outstanding + i.fees_outstanding + i.penalties_outstanding > 0
    ))[1] AS oldest_unpaid_due_on,
    min(i.due_date + l.penalty_grace_days + 1) FILTER (
      WHERE l.late_penalty_percent > 0
        AND i.principal_outstanding + i.interest_outstanding + i.fees_outstanding > 0
        AND i.number <> ALL(c.numbers)
    ) AS next_penalty_on
  FROM lending_loan l
  JOIN charged c ON c.id = l.id
  JOIN lending_installment i ON i.loan_id = l.id
  GROUP BY l.id
),
last_transaction AS (
  SELECT loan_id, max("on") AS last_transaction_on FROM lending_loantransaction GROUP BY loan_id
)
UPDATE lending_loan l
SET oldest_unpaid_due_on = m.oldest_unpaid_due_on,
    next_penalty_on = m.next_penalty_on,
    last_transaction_on = t.last_transaction_on
FROM marks m LEFT JOIN last_transaction t ON t.loan_id = m.id
WHERE l.id = m.id
"""


class Migration(migrations.Migration):  # type: ignore[misc]
    dependencies = [
        ("lending", "0003_list_keyset_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="loan", name="oldest_unpaid_due_on", field=models.DateField(null=True, blank=True)
        ),
        migrations.AddField(model_name="loan", name="next_penalty_on", field=models.DateField(null=True, blank=True)),
        migrations.AddField(
            model_name="loan", name="last_transaction_on", field=models.DateField(null=True, blank=True)
        ),
        migrations.RunSQL(_FILL, reverse_sql=migrations.RunSQL.noop),
    ]
