"""Charts of the benchmark: one run over time, and every operation next to its ceiling.

matplotlib with the Agg backend (files only, no display needed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # after choosing the backend

from letsema_load.ceilings import OPERATION_CEILINGS
from letsema_load.measure import HistoryRow, OpStats, parse_stats_history


def per_second_rates(rows: Sequence[HistoryRow]) -> list[tuple[float, float]]:
    """(requests/s, failures/s) of each history row, from the growth of the running totals.

    Locust's own "Requests/s" column lags (a moving average that starts over at a reset), so the
    rates come from the totals' differences. A total that went down was reset: what it holds now
    was counted since the reset. The first row has no predecessor: 0.
    """
    rates: list[tuple[float, float]] = []
    for previous, row in zip([None, *rows[:-1]], rows, strict=True):
        if previous is None:
            rates.append((0.0, 0.0))
            continue
        elapsed = max(1, row.timestamp - previous.timestamp)
        requests = row.total_requests - previous.total_requests
        failures = row.total_failures - previous.total_failures
        if requests < 0 or failures < 0:  # statistics reset in between
            requests, failures = row.total_requests, row.total_failures
        rates.append((requests / elapsed, failures / elapsed))
    return rates


def plot_history(csv_prefix: Path, png: Path, title: str) -> Path:
    """Two panels from ``<csv_prefix>_stats_history.csv``: requests/s and failures/s over time; p50,
    p95 and p99 latency (last 10 s) over time. Writes ``png`` and returns it.

    Raises ``ValueError`` when the history has no Aggregated row.
    """
    rows = parse_stats_history(Path(f"{csv_prefix}_stats_history.csv"))
    if not rows:
        raise ValueError(f"{csv_prefix}_stats_history.csv has no Aggregated row")
    start = rows[0].timestamp
    t = [row.timestamp - start for row in rows]
    rates = per_second_rates(rows)
    # Before the first request counted: spawning users and their on_start (not measured).
    ramp_end = next((t[i - 1] for i, (r, _) in enumerate(rates) if r > 0 and i > 0), 0)

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(9, 6))
    try:
        for ax in (top, bottom):
            if ramp_end > 0:
                ax.axvspan(0, ramp_end, color="0.9", label="ramp (not measured)" if ax is top else None)
        top.plot(t, [r for r, _ in rates], label="requests/s", color="tab:blue")
        top.plot(t, [f for _, f in rates], label="failures/s", color="tab:red")
        top.set_ylabel("per second")
        top.legend(loc="upper left")
        top.grid(alpha=0.3)
        top.set_title(title)
        for label, values, color in (
            ("p50", [row.p50_ms for row in rows], "tab:green"),
            ("p95", [row.p95_ms for row in rows], "tab:orange"),
            ("p99", [row.p99_ms for row in rows], "tab:purple"),
        ):
            bottom.plot(t, values, label=label, color=color)
        bottom.set_ylabel("latency, ms (last 10 s)")
        bottom.set_xlabel("seconds since the run started")
        bottom.legend(loc="upper left")
        bottom.grid(alpha=0.3)
        fig.tight_layout()
        png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(png, dpi=100)
    finally:
        plt.close(fig)
    return png


def _ceiling_rps(value: OpStats | Mapping[str, float] | None) -> float | None:
    if isinstance(value, OpStats):
        return value.rps
    if value is not None and "tps" in value:
        return float(value["tps"])
    return None


def plot_summary(
    stats: Sequence[OpStats],
    ceilings: Mapping[str, OpStats | Mapping[str, float]],
    png: Path,
    pairs: Mapping[str, str] | None = None,
) -> Path:
    """A bar chart: each operation's req/s next to the req/s of its ceiling, with the ratio.

    ``pairs`` maps an operation's ``OpStats.name`` to a key of ``ceilings``; by default
    ``ceilings.OPERATION_CEILINGS`` (by user-class name). An operation without a ceiling is drawn
    alone. Writes ``png`` and returns it; raises ``ValueError`` when ``stats`` is empty.
    """
    if not stats:
        raise ValueError("no operation to plot")
    chosen = dict(pairs) if pairs is not None else {op: key for op, (key, _) in OPERATION_CEILINGS.items()}
    names = [s.name for s in stats]
    ops = [s.rps for s in stats]
    bounds = [_ceiling_rps(ceilings.get(chosen.get(s.name, ""))) for s in stats]

    width = 0.38
    x = list(range(len(stats)))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(stats)), 4.8))
    try:
        ax.bar([i - width / 2 for i in x], ops, width, label="operation", color="tab:blue")
        ax.bar([i + width / 2 for i in x], [b or 0.0 for b in bounds], width, label="its ceiling", color="tab:gray")
        for i, (op, bound) in enumerate(zip(ops, bounds, strict=True)):
            if bound:
                ax.annotate(
                    f"{op / bound:.0%}", (i - width / 2, op), ha="center", va="bottom", fontsize=9, xytext=(0, 2),
                    textcoords="offset points",
                )  # fmt: skip
        ax.set_xticks(x)
        ax.set_xticklabels([f"{n}\nvs {chosen[n]}" if n in chosen else n for n in names], rotation=0, fontsize=8)
        ax.set_ylabel("requests/s")
        ax.set_title("Throughput of each operation next to its ceiling")
        ax.legend()
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(png, dpi=100)
    finally:
        plt.close(fig)
    return png
