"""``manage.py close_of_business --as-of YYYY-MM-DD [--batch N] [--workers N]``: the daily arrears run.

Runs the core's close of business over the active loans not yet closed for the date, a batch per
transaction (a crash loses at most the batch in flight; a rerun finishes the rest), with a progress bar
and a summary line. Idempotent per date: a second run finds nothing to do and changes nothing.
``--workers N`` closes disjoint batches in N processes (``cob_workers``; the database does most of the
work, so two workers use both cores of a two-core machine).

``--ahead-of-time`` lets ``--as-of`` be after today. It exists for the benchmark on synthetic data only
(``loadtests/bench.py --cob-date``): on real books a day that has not ended must never be closed (its DPD
and penalties would be charged too early), and without the flag such a date is refused.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from tqdm import tqdm

from letsema_api.lending import cob_workers, services
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
        parser.add_argument("--workers", type=int, default=1, help="processes over disjoint batches (default 1)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--ahead-of-time",
            action="store_true",
            help="allow an --as-of after today: benchmarks on synthetic data ONLY, never on real books",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = _date(options["as_of"])
        if as_of > services.today() and not options["ahead_of_time"]:
            # Days past due and penalties of a day that has not ended would be charged too early.
            raise CommandError(f"--as-of {as_of.isoformat()} is in the future")
        batch = options["batch"]
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        workers = options["workers"]
        if workers < 1:
            raise CommandError("--workers must be at least 1")
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
            chunks = [due[start : start + batch] for start in range(0, len(due), batch)]
            for counts in _close_batches(chunks, as_of, workers):
                processed += counts["processed"]
                skipped += counts["size"] - counts["processed"]
                penalties += counts["penalties"]
                penalty_total += counts["penalty_total"]
                arrears += counts["arrears"]
                reallocations += counts["reallocations"]
                bar.update(counts["size"])
        queued = OutboxEvent.objects.count() - events_before
        already = active - len(due)
        self.stdout.write(
            f"close_of_business {as_of.isoformat()}: {processed} loans processed, "
            f"{already + skipped} already closed for this date, {penalties} penalties charged "
            f"({penalty_total:.2f}), {arrears} arrears changes, {reallocations} repayments re-allocated, "
            f"{queued} registry events queued"
        )


def _close_batches(chunks: list[list[str]], as_of: date, workers: int) -> Iterator[dict[str, Any]]:
    """Each batch closed (``services.close_business_batch``), in this process or in ``workers`` processes."""
    if workers == 1 or len(chunks) < 2:
        for chunk in chunks:
            yield cob_workers.batch_counts(len(chunk), services.close_business_batch(loan_ids=chunk, as_of=as_of))
        return
    # The workers open their own connections; this one stays idle until they are done.
    connections.close_all()
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes=min(workers, len(chunks))) as pool:
        yield from pool.imap_unordered(cob_workers.close_batch, [(chunk, as_of.isoformat()) for chunk in chunks])
