"""Fault drills: requests and failures per second from Locust's ``--csv`` history, and recovery times.

Locust appends a row to ``<prefix>_stats_history.csv`` about once a second (``CSV_STATS_INTERVAL_SEC``),
stamped with whole Unix seconds; the ``Aggregated`` row carries the run's cumulative ``Total Request
Count`` and ``Total Failure Count``. Per-second counts are the differences between consecutive rows
(the smoothed ``Requests/s`` column averages over several seconds and would blur a short fault). A
request is counted when it completes, so a request that hung through a fault lands when it ended.

Recovery time (the definition the report states): the time from the fault's injection to the start of
the first run of ``QUIET_SECONDS`` consecutive seconds, after the first failure, without a failure and
with requests still completing (at least one a second on average) — 0 when nothing failed. The time
of the last failure before the next drill is reported beside it, so a relapse is visible.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

QUIET_SECONDS = 5
AGGREGATED = "Aggregated"


@dataclass(frozen=True)
class Second:
    t: int  # Unix second
    requests: int
    failures: int


def read_history(path: Path) -> list[Second]:
    """The per-second series of a ``_stats_history.csv`` file (empty when it does not exist yet)."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return per_second(csv.DictReader(fh))


def per_second(rows: Iterable[Mapping[str, str]]) -> list[Second]:
    """Requests and failures completed in each second, from the cumulative ``Aggregated`` rows.

    Seconds with no row (the writer was late) get zero; the next row's difference covers them. Rows whose
    totals go down (a stats reset) start counting again from zero.
    """
    totals: dict[int, tuple[int, int]] = {}
    for row in rows:
        if row.get("Name") != AGGREGATED:
            continue
        try:
            t = int(float(row["Timestamp"]))
            requests = int(row["Total Request Count"])
            failures = int(row["Total Failure Count"])
        except (KeyError, ValueError):
            continue
        totals[t] = (requests, failures)  # the last row of a second is the newest
    series: list[Second] = []
    previous = (0, 0)
    for t in range(min(totals), max(totals) + 1) if totals else ():
        current = totals.get(t, previous)
        if current[0] < previous[0] or current[1] < previous[1]:
            previous = (0, 0)
        series.append(Second(t=t, requests=current[0] - previous[0], failures=current[1] - previous[1]))
        previous = current
    return series


def window_counts(series: Sequence[Second], start: float, end: float) -> tuple[int, int]:
    """(requests, failures) completed in the seconds from ``start`` up to, not including, ``end``."""
    first, last = int(start), int(end)
    chosen = [s for s in series if first <= s.t < max(last, first + 1)]
    return sum(s.requests for s in chosen), sum(s.failures for s in chosen)


@dataclass(frozen=True)
class Recovery:
    #: seconds from injection to recovery (see the module docstring); None if it never recovered
    seconds: float | None
    #: seconds from injection to the last failure in the period; None if nothing failed
    last_failure_seconds: float | None
    first_failure_seconds: float | None


def recovery(
    series: Sequence[Second], *, injected_at: float, period_end: float, quiet: int = QUIET_SECONDS
) -> Recovery:
    """The recovery of one drill from the seconds between its injection and ``period_end``."""
    start = int(injected_at)
    period = [s for s in series if start <= s.t < period_end]
    failing = [s.t for s in period if s.failures]
    if not failing:
        return Recovery(seconds=0.0, last_failure_seconds=None, first_failure_seconds=None)
    by_t = {s.t: s for s in period}
    first_failure, last_failure = failing[0], failing[-1]
    for t in range(first_failure + 1, int(period_end) - quiet + 1):
        window = [by_t.get(t + i, Second(t + i, 0, 0)) for i in range(quiet)]
        if all(s.failures == 0 for s in window) and sum(s.requests for s in window) >= quiet:
            return Recovery(
                seconds=max(0.0, t - injected_at),
                last_failure_seconds=last_failure + 1 - injected_at,
                first_failure_seconds=max(0.0, first_failure - injected_at),
            )
    return Recovery(
        seconds=None,
        last_failure_seconds=last_failure + 1 - injected_at,
        first_failure_seconds=max(0.0, first_failure - injected_at),
    )
