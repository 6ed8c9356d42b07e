"""Fault drills: requests and failures per second from Locust's ``--csv`` history, and recovery times.

Locust appends a row to ``<prefix>_stats_history.csv`` about once a second (``CSV_STATS_INTERVAL_SEC``),
stamped with whole Unix seconds; the ``Aggregated`` row carries the run's cumulative ``Total Request
Count`` and ``Total Failure Count``. Per-second counts are the differences between consecutive rows
(the smoothed ``Requests/s`` column averages over several seconds and would blur a short fault). A
request is counted when it completes, so a request that hung through a fault lands when it ended.

Recovery time (the definition the report states): 0 when nothing failed between the fault's injection
and the next drill; otherwise the time from the injection to the start of the first run of
``QUIET_SECONDS`` consecutive seconds without a failure and with requests still completing (at least one
a second on average) that begins after the first failure and not before the fault was cleared (a
component stopped for 30 s fails requests now and then, so a quiet run in the middle of the outage is
not a recovery). The times of the first and last failure before the next drill are reported beside it,
so a relapse is visible.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

QUIET_SECONDS = 5
AGGREGATED = "Aggregated"


@dataclass(frozen=True)
class Second:
    t: int  # Unix second
    requests: int
    failures: int


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
    series: Sequence[Second],
    *,
    injected_at: float,
    period_end: float,
    restored_at: float | None = None,
    quiet: int = QUIET_SECONDS,
) -> Recovery:
    """The recovery of one drill from the seconds between its injection and ``period_end`` (the next
    drill's injection: its second belongs to the next drill); ``restored_at``: when the fault was cleared."""
    start, end = int(injected_at), int(period_end)
    period = [s for s in series if start <= s.t < end]
    failing = [s.t for s in period if s.failures]
    if not failing:
        return Recovery(seconds=0.0, last_failure_seconds=None, first_failure_seconds=None)
    by_t = {s.t: s for s in period}
    first_failure, last_failure = failing[0], failing[-1]
    earliest = max(first_failure + 1, math.ceil(restored_at) if restored_at is not None else start)
    for t in range(earliest, end - quiet + 1):
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


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a Locust CSV file (empty when it does not exist)."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def failing_requests(rows: Iterable[Mapping[str, str]], start: float, end: float) -> dict[str, int]:
    """Failures per request name completed from ``start`` up to ``end``, from the per-request rows of a
    ``--csv-full-history`` history (cumulative per name, like the ``Aggregated`` row)."""
    by_name: dict[str, list[tuple[int, int]]] = {}
    for row in rows:
        name = row.get("Name", "")
        if not name or name == AGGREGATED:
            continue
        try:
            point = (int(float(row["Timestamp"])), int(row["Total Failure Count"]))
        except (KeyError, ValueError):
            continue
        by_name.setdefault(f"{row.get('Type', '')} {name}".strip(), []).append(point)
    first, last = int(start), max(int(end), int(start) + 1)
    failing: dict[str, int] = {}
    for name, points in by_name.items():
        before = max((f for t, f in points if t < first), default=0)
        upto = max((f for t, f in points if t < last), default=0)
        if upto > before:
            failing[name] = upto - before
    return dict(sorted(failing.items(), key=lambda item: (-item[1], item[0])))


#: a request that got no HTTP answer at all is reported by Locust with status 0
_NO_ANSWER = re.compile(r": 0 ['\"]?\)?$")
_ERROR = re.compile(r": (\d{3}) \{\s*\"code\":\s*\"([a-z_]+)\"")


def failure_kinds(rows: Iterable[Mapping[str, str]], start: float, end: float) -> list[str]:
    """The kinds of failure (``"503 vault_unavailable"``) Locust's ``_failures.csv`` saw at some point
    between ``start`` and ``end`` (it keeps only the first and last time of each)."""
    kinds: set[str] = set()
    for row in rows:
        try:
            first = datetime.fromisoformat(row["First Seen"].replace("Z", "+00:00")).timestamp()
            last = datetime.fromisoformat(row["Last Seen"].replace("Z", "+00:00")).timestamp()
        except (KeyError, ValueError):
            continue
        if last < int(start) or first >= end:
            continue
        error = row.get("Error", "")
        match = _ERROR.search(error)
        if match:
            kinds.add(f"{match.group(1)} {match.group(2)}")
        elif _NO_ANSWER.search(error):
            kinds.add("no answer (connection closed)")
        else:
            kinds.add(error[:60])
    return sorted(kinds)
