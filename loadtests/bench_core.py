"""Core benchmark (not a test): schedules generated and repayments allocated per second, one core.

    python loadtests/bench_core.py [--seconds 2.0]

Prints machine information (CPU model, Python version, load average), the date
and time (UTC) and, for each workload, the best rate of several timed rounds by
the wall clock and by the process's CPU time. Key fact statements (a quote:
schedule + IRR) are measured too, without a target. Targets
(issue 3): at least 20 000 schedules/s for a 12-period declining-balance loan
and at least 50 000 repayment allocations/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from letsema_core.loans import allocate_repayment
from letsema_core.loans.allocation import InstallmentBalance
from letsema_core.schedules import LoanTerms, generate_schedule, key_fact_statement

TARGET_SCHEDULES = 20_000
TARGET_ALLOCATIONS = 50_000


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def rate(work: Callable[[], object], *, seconds: float, rounds: int = 5) -> tuple[float, float]:
    """Best calls per second over ``rounds`` rounds of about ``seconds / rounds`` each: by the wall
    clock, and by this process's CPU time (which leaves out the time other processes held the core,
    so it moves much less with the machine's load)."""
    best_wall = best_cpu = 0.0
    batch = 200
    for _ in range(rounds):
        calls = 0
        start, cpu_start = time.perf_counter(), time.process_time()
        deadline = start + seconds / rounds
        while True:
            for _ in range(batch):
                work()
            calls += batch
            now = time.perf_counter()
            if now >= deadline:
                break
        cpu = time.process_time() - cpu_start
        best_wall = max(best_wall, calls / (now - start))
        best_cpu = max(best_cpu, calls / cpu) if cpu > 0 else best_cpu
    return best_wall, best_cpu


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[0]})
        return f"pinned to core {cores[0]}"
    return "not pinned"  # pragma: no cover - non-Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per workload (default 2.0)")
    args = parser.parse_args(argv)

    pinning = pin_to_one_core()
    terms = LoanTerms(
        principal="10000.00",
        annual_interest_rate_percent="24",
        term_in_periods=12,
        repayment_frequency="monthly",
        interest_method="declining_balance",
        amortization="equal_installments",
        disbursement_date=date(2026, 1, 15),
    )
    schedule = generate_schedule(terms)
    balances = tuple(
        InstallmentBalance(i.number, i.due_date, i.penalties_due, i.fees_due, i.interest_due, i.principal_due)
        for i in schedule.installments
    )
    # Three months late with a partial payment: walks the overdue installments, the current one and one ahead.
    on = date(2026, 5, 20)
    amount = Decimal("3100.00")

    schedules_per_s = rate(lambda: generate_schedule(terms), seconds=args.seconds)
    allocations_per_s = rate(lambda: allocate_repayment(balances=balances, amount=amount, on=on), seconds=args.seconds)
    # A quote: the schedule plus the effective rate from the IRR (no target; informational).
    statements_per_s = rate(lambda: key_fact_statement(terms), seconds=args.seconds)

    print("Letsema core benchmark")
    print(f"date (UTC):  {datetime.now(UTC).strftime('%Y-%m-%d %H:%M')}")
    print(f"load avg:    {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
    print(f"cpu:         {cpu_model()} ({os.cpu_count()} logical cores; {pinning})")
    print(f"python:      {sys.version.split()[0]} ({platform.python_implementation()}) on {platform.system()}")
    print(
        f"schedules/s: {schedules_per_s[0]:,.0f} wall, {schedules_per_s[1]:,.0f} CPU time"
        f"  (12-period declining balance; target {TARGET_SCHEDULES:,})"
    )
    print(
        f"allocations/s: {allocations_per_s[0]:,.0f} wall, {allocations_per_s[1]:,.0f} CPU time"
        f"  (12 installments, 3 overdue; target {TARGET_ALLOCATIONS:,})"
    )
    print(f"key fact statements/s: {statements_per_s[0]:,.0f} wall, {statements_per_s[1]:,.0f} CPU time  (same loan)")
    met = schedules_per_s[0] >= TARGET_SCHEDULES and allocations_per_s[0] >= TARGET_ALLOCATIONS
    print("targets met (wall clock)" if met else "targets NOT met (wall clock)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
