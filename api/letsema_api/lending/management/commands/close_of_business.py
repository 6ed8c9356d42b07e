"""``manage.py close_of_business --as-of YYYY-MM-DD [--batch N]``: the daily arrears run.

Runs the core's close of business over the active loans not yet closed for the date, a batch per
transaction (a crash loses at most the batch in flight; a rerun finishes the rest), with a progress bar
and a summary line. Idempotent per date: a second run finds nothing to do and changes nothing.
"""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from letsema_api.lending import services
from letsema_api.outbox.models import OutboxEvent


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"--as-of must be a date YYYY-MM-DD, not {raw!r}") from None


class Command(BaseCommand):  # type: ignore[misc]
    help = "Close of business for a date: days past due, arrears buckets, penalties, registry events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", required=True, help="the business date to close (YYYY-MM-DD)")
        parser.add_argument("--batch", type=int, default=200, help="loans per transaction (default 200)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = _date(options["as_of"])
        if as_of > services.today():
            # Days past due and penalties of a day that has not ended would be charged too early.
            raise CommandError(f"--as-of {as_of.isoformat()} is in the future")
        batch = options["batch"]
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        due, active = services.loans_due_for_close_of_business(as_of=as_of)
        events_before = OutboxEvent.objects.count()
        processed = skipped = penalties = arrears = reallocations = 0
        penalty_total = Decimal("0.00")
        with tqdm(
            total=len(due),
            unit="loan",
            desc=f"close of business {as_of.isoformat()}",
            file=sys.stderr,
            disable=options["no_progress"],
        ) as bar:
            for start in range(0, len(due), batch):
                chunk = due[start : start + batch]
                result = services.close_business_batch(loan_ids=chunk, as_of=as_of)
                processed += len(result.processed)
                skipped += len(chunk) - len(result.processed)
                penalties += len(result.penalties_charged)
                penalty_total += sum((p.amount for p in result.penalties_charged), Decimal("0.00"))
                arrears += len(result.arrears_changes)
                reallocations += len(result.reallocations)
                bar.update(len(chunk))
        queued = OutboxEvent.objects.count() - events_before
        already = active - len(due)
        self.stdout.write(
            f"close_of_business {as_of.isoformat()}: {processed} loans processed, "
            f"{already + skipped} already closed for this date, {penalties} penalties charged "
            f"({penalty_total:.2f}), {arrears} arrears changes, {reallocations} repayments re-allocated, "
            f"{queued} registry events queued"
        )
