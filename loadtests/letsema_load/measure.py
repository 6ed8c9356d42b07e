"""One measured Locust run, headless in a subprocess, and its totals.

``run_locust`` runs Locust for a fixed time with a fixed number of users that never wait between
tasks (saturation, not a paced load), then reads what Locust wrote:

- ``<out_dir>/<name>.json`` (``--json-file``): per request name, the counts, first/last timestamps
  and the response-time histogram. Locust writes it after the runners stopped, so it holds the
  final totals; counts, throughput **and percentiles** come from it (percentiles computed from the
  merged histogram the way Locust computes its own).
- ``<out_dir>/<name>_stats.csv`` (``--csv``): its "Aggregated" row is a cross-check and the fallback
  when the JSON is missing. Locust rewrites that file once a second while running and not again at
  the end, so its last second can be missing (loadtests/README.md, TOOL-NOTES).
- ``<out_dir>/<name>_stats_history.csv``: one row a second per request name and an Aggregated one
  (latencies over the last 10 s), for ``plots.plot_history``.

**Warm-up.** With ``warmup_seconds > 0`` (the default), a first Locust run of the same user classes
and users lasts that long and its output is thrown away: gunicorn workers import their lazily
loaded code, open their database connections (kept ``CONN_MAX_AGE`` seconds), PostgreSQL's caches
fill.

**The window measured.** Users take a while to be ready (spawned, then ``on_start``: an OAuth
password grant is slow on purpose). A locustfile that uses ``MeasuredWindow`` (bench_locustfile.py
does) empties its statistics when the last user is ready and stops ``seconds`` later, so every run
measures ``seconds`` with all its users busy. The time limit given to Locust is ``seconds +
RAMP_ALLOWANCE_SECONDS``, a bound for the ramp; a locustfile without ``MeasuredWindow`` runs that long,
with ``--reset-stats`` emptying its statistics once all users are spawned. Throughput is divided by
the window actually measured (first to last request counted), not by the run time.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: seconds of a warm-up run before each measured run (its statistics are discarded)
DEFAULT_WARMUP_SECONDS = 5
#: the longest a measured run may take to get every user ready (spawned and through its on_start)
RAMP_ALLOWANCE_SECONDS = 120
#: a measured window shorter than this share of the seconds asked is refused (users never all ready)
MIN_WINDOW_SHARE = 0.8
#: environment variable telling a locustfile how long to measure once its users are ready
WINDOW_ENV = "LETSEMA_MEASURE_SECONDS"
#: seconds Locust waits for running tasks at the end (``--stop-timeout``)
STOP_TIMEOUT_SECONDS = 5
#: added to the run time for the subprocess timeout (start-up, stop, writing files)
PROCESS_SLACK_SECONDS = 90
#: lines of Locust's stderr quoted when it fails
STDERR_TAIL_LINES = 40
PERCENTILES = (0.50, 0.95, 0.99)


class MeasuredWindow:
    """For a locustfile: start the measured window when every user is ready, stop ``seconds`` later.

    At the end of each user's ``on_start`` call ``user_ready(environment)`` then
    ``wait_until_all_ready()``: users get ready without competing with the load of the users
    already ready (an OAuth password grant is slow on purpose) and all start together. When the
    count reaches the run's target user count the statistics are emptied and, if
    ``LETSEMA_MEASURE_SECONDS`` is set (``run_locust`` sets it), the runner quits that many seconds
    later (as Locust's own ``--run-time`` does in a headless run).
    """

    def __init__(self) -> None:
        self.ready = 0
        self.started = False
        self._event: Any = None  # a gevent Event, made inside Locust processes only

    def user_ready(self, environment: Any) -> None:
        self.ready += 1
        runner = environment.runner
        if runner is None or self.started or self.ready < runner.target_user_count:
            return
        self.started = True
        environment.stats.reset_all()
        seconds = os.environ.get(WINDOW_ENV)
        if seconds:
            import gevent

            gevent.spawn_later(float(seconds), runner.quit)
        if self._event is not None:
            self._event.set()

    def wait_until_all_ready(self, timeout: float = RAMP_ALLOWANCE_SECONDS) -> None:
        """Block this user (not the process) until every user is ready, or ``timeout`` passed."""
        if self.started:
            return
        if self._event is None:
            from gevent.event import Event

            self._event = Event()
        self._event.wait(timeout)


class LocustRunFailed(RuntimeError):
    """Locust exited with an error, timed out, or wrote no statistics."""


@dataclass
class OpStats:
    """The totals of one measured run (all request names of the run together).

    ``seconds`` is the window measured: from the first to the last request counted.
    """

    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    seconds: float
    users: int
    csv_prefix: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


# -- parsing Locust's outputs ------------------------------------------------------------------


def histogram_percentile(response_times: Mapping[int, int], percent: float) -> int:
    """The response time (ms, Locust's rounded buckets) that ``percent`` of the requests finished within.

    Locust's own rule (``locust.stats.calculate_response_time_percentile``, not imported here: importing
    locust patches the process with gevent): walk the buckets from the slowest down and stop at the
    first bucket below which no more than ``int(total * percent)`` requests remain. 0 when empty.
    """
    total = sum(response_times.values())
    faster_allowed = int(total * percent)
    walked = 0
    for bucket in sorted(response_times, reverse=True):
        walked += response_times[bucket]
        if total - walked <= faster_allowed:
            return bucket
    return 0


@dataclass
class LocustTotals:
    """What one run's output says about all its requests together."""

    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    #: from the first to the last request counted
    seconds: float


def parse_stats_json(path: Path) -> LocustTotals:
    """Totals of a ``--json-file`` output: the entries merged into one, like Locust's "Aggregated".

    Throughput is the requests divided by the time from the earliest ``start_time`` (the run's
    start, or the ``--reset-stats`` reset) to the latest ``last_request_timestamp``.
    Raises ``LocustRunFailed`` when the file holds no request.
    """
    entries: list[dict[str, Any]] = json.loads(path.read_text())
    requests = sum(int(e["num_requests"]) for e in entries)
    if not entries or requests == 0:
        raise LocustRunFailed(f"{path}: Locust recorded no request")
    failures = sum(int(e["num_failures"]) for e in entries)
    merged: dict[int, int] = {}
    for entry in entries:
        # JSON object keys are strings: "12" -> 12 ms
        for bucket, count in entry["response_times"].items():
            merged[int(float(bucket))] = merged.get(int(float(bucket)), 0) + int(count)
    start = min(float(e["start_time"]) for e in entries)
    end = max(float(e["last_request_timestamp"] or e["start_time"]) for e in entries)
    elapsed = end - start
    total_time = sum(float(e["total_response_time"]) for e in entries)
    p50, p95, p99 = (float(histogram_percentile(merged, p)) for p in PERCENTILES)
    return LocustTotals(
        requests=requests,
        failures=failures,
        rps=requests / elapsed if elapsed > 0 else 0.0,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        mean_ms=total_time / requests,
        seconds=elapsed,
    )


def _number(text: str) -> float:
    """A CSV cell as a number; Locust writes "N/A" for percentiles of a name with no request."""
    try:
        return float(text)
    except ValueError:
        return 0.0


def parse_stats_csv(path: Path) -> LocustTotals:
    """The "Aggregated" row of a ``<prefix>_stats.csv``. Raises ``LocustRunFailed`` without one."""
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("Name") != "Aggregated":
                continue
            requests, rps = int(row["Request Count"]), _number(row["Requests/s"])
            return LocustTotals(
                requests=requests,
                failures=int(row["Failure Count"]),
                rps=rps,
                p50_ms=_number(row["50%"]),
                p95_ms=_number(row["95%"]),
                p99_ms=_number(row["99%"]),
                mean_ms=_number(row["Average Response Time"]),
                seconds=requests / rps if rps else 0.0,
            )
    raise LocustRunFailed(f"{path}: no Aggregated row")


def parse_exceptions_csv(path: Path) -> list[str]:
    """The messages of ``<prefix>_exceptions.csv`` (errors raised by user code, not failed requests)."""
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [f"{row['Count']}x {row['Message']}" for row in csv.DictReader(handle)]


@dataclass
class HistoryRow:
    """One second of ``<prefix>_stats_history.csv`` (the Aggregated row of that second)."""

    timestamp: int
    users: int
    rps: float
    failures_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    #: since the start, or since the last reset of the statistics
    total_requests: int
    total_failures: int


def parse_stats_history(path: Path) -> list[HistoryRow]:
    """The Aggregated rows of a stats-history CSV, in time order (rows of other names skipped)."""
    rows: list[HistoryRow] = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("Name") != "Aggregated":
                continue
            rows.append(
                HistoryRow(
                    timestamp=int(row["Timestamp"]),
                    users=int(row["User Count"]),
                    rps=_number(row["Requests/s"]),
                    failures_per_s=_number(row["Failures/s"]),
                    p50_ms=_number(row["50%"]),
                    p95_ms=_number(row["95%"]),
                    p99_ms=_number(row["99%"]),
                    total_requests=int(row["Total Request Count"]),
                    total_failures=int(row["Total Failure Count"]),
                )
            )
    return rows


# -- running Locust ----------------------------------------------------------------------------


def locust_argv(
    *,
    locustfile: Path,
    user_classes: Sequence[str],
    host: str,
    users: int,
    spawn_rate: float,
    seconds: int,
    prefix: Path | None,
    reset_stats: bool,
    extra_args: Iterable[str] = (),
) -> list[str]:
    """The command line of one headless run (``prefix``: where ``--csv``/``--json-file`` write)."""
    argv = [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
        "-u", str(users), "-r", str(spawn_rate), "-t", f"{seconds}s",
        "--host", host, "--only-summary", "--stop-timeout", str(STOP_TIMEOUT_SECONDS),
        "--loglevel", "WARNING",
    ]  # fmt: skip
    if prefix is not None:
        # --csv-full-history: the history's percentiles are then those of the last 10 s, not cumulative.
        argv += ["--csv", str(prefix), "--csv-full-history", "--json-file", str(prefix)]
    if reset_stats:
        argv.append("--reset-stats")
    argv += list(extra_args)
    # User classes come last: Locust reads trailing positional arguments as class names.
    argv += list(user_classes)
    return argv


def _run(argv: list[str], *, env: Mapping[str, str] | None, timeout: float, log: Path) -> None:
    """Run Locust; its output goes to ``log``. Exit code 1 only means some requests failed
    (the counts say how many); anything else, or a timeout, raises ``LocustRunFailed``."""
    with log.open("w") as err:
        try:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise LocustRunFailed(f"Locust ran past {timeout:.0f} s: {' '.join(argv)}\n{_tail(log)}") from None
    # Locust's exit code is 1 when any request failed (--exit-code-on-error): a result, not a crash.
    if proc.returncode not in (0, 1):
        raise LocustRunFailed(f"Locust exited {proc.returncode}: {' '.join(argv)}\n{_tail(log)}")


def _tail(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no stderr)"
    return "\n".join(lines[-STDERR_TAIL_LINES:])


def run_locust(
    *,
    locustfile: Path,
    user_classes: list[str],
    host: str,
    users: int,
    spawn_rate: float,
    seconds: int,
    out_dir: Path,
    name: str,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    warmup_seconds: int = DEFAULT_WARMUP_SECONDS,
) -> OpStats:
    """Run ``user_classes`` of ``locustfile`` against ``host`` headless and return the totals.

    Output files are ``out_dir/<name>.json``, ``<name>_stats.csv``, ``<name>_stats_history.csv``,
    ``<name>_failures.csv`` and ``<name>.stderr.log``. A warm-up run (``warmup_seconds``, output
    discarded, its window like the measured run's) comes first; then the measured run (see the module
    docstring for its window). Raises ``LocustRunFailed`` (with the tail of Locust's output) when
    Locust crashes, hangs, a user class raises, or nothing is recorded.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    common = {
        "locustfile": locustfile,
        "user_classes": user_classes,
        "host": host,
        "users": users,
        "spawn_rate": spawn_rate,
        "extra_args": extra_args,
    }
    # Each run: a time limit with room for the ramp; MeasuredWindow stops it earlier.
    if warmup_seconds > 0:
        _run(
            locust_argv(**common, seconds=warmup_seconds + RAMP_ALLOWANCE_SECONDS, prefix=None, reset_stats=False),
            env={**(env or {}), WINDOW_ENV: str(warmup_seconds)},
            timeout=warmup_seconds + RAMP_ALLOWANCE_SECONDS + PROCESS_SLACK_SECONDS,
            log=out_dir / f"{name}-warmup.stderr.log",
        )
    prefix = out_dir / name
    log = out_dir / f"{name}.stderr.log"
    _run(
        locust_argv(**common, seconds=seconds + RAMP_ALLOWANCE_SECONDS, prefix=prefix, reset_stats=True),
        env={**(env or {}), WINDOW_ENV: str(seconds)},
        timeout=seconds + RAMP_ALLOWANCE_SECONDS + PROCESS_SLACK_SECONDS,
        log=log,
    )
    errors = parse_exceptions_csv(prefix.with_name(prefix.name + "_exceptions.csv"))
    if errors:
        raise LocustRunFailed(f"{name}: the user classes raised:\n" + "\n".join(errors) + f"\n{_tail(log)}")
    json_file = prefix.with_name(prefix.name + ".json")
    csv_file = prefix.with_name(prefix.name + "_stats.csv")
    try:
        if json_file.exists():
            totals = parse_stats_json(json_file)
        elif csv_file.exists():
            totals = parse_stats_csv(csv_file)
        else:
            raise LocustRunFailed(f"Locust wrote neither {json_file} nor {csv_file}")
    except LocustRunFailed as exc:
        raise LocustRunFailed(f"{exc}\n{_tail(log)}") from None
    if totals.seconds < MIN_WINDOW_SHARE * seconds:
        raise LocustRunFailed(
            f"{name}: measured {totals.seconds:.1f} s of the {seconds} s asked: the users were not all ready"
            f" within {RAMP_ALLOWANCE_SECONDS} s, or stopped early\n{_tail(log)}"
        )
    return OpStats(
        name=name,
        requests=totals.requests,
        failures=totals.failures,
        rps=totals.rps,
        p50_ms=totals.p50_ms,
        p95_ms=totals.p95_ms,
        p99_ms=totals.p99_ms,
        mean_ms=totals.mean_ms,
        seconds=totals.seconds,
        users=users,
        csv_prefix=str(prefix),
    )
