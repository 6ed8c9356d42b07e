"""Fault drills: the results (``drills.json``), the report (``drills.md``) and timelines (``drill-*.png``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from letsema_load.drills_metrics import QUIET_SECONDS, Second

#: the fault window is followed by this many seconds before requests and failures stop being counted
SETTLE_SECONDS = 10


@dataclass
class DrillResult:
    index: int
    name: str
    title: str
    injected_at: float = 0.0
    restored_at: float = 0.0
    #: the next drill's injection (or the end of the load): the recovery is looked for before it
    period_end: float = 0.0
    fault_notes: list[str] = field(default_factory=list)
    error: str | None = None
    requests: int = 0
    failures: int = 0
    recovery_seconds: float | None = None
    first_failure_seconds: float | None = None
    last_failure_seconds: float | None = None
    services_healthy_after_seconds: float | None = None
    unhealthy_after: list[str] = field(default_factory=list)
    restarted_by_drill: list[str] = field(default_factory=list)
    acks_checked: int = 0
    acks_in_period: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    unacknowledged_in_db: int = 0
    registry: dict[str, dict[str, Any]] = field(default_factory=dict)
    trial_balance: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def error_rate(self) -> float | None:
        return self.failures / self.requests if self.requests else None

    @property
    def registry_converged(self) -> bool:
        return bool(self.registry) and all(r["converged"] for r in self.registry.values())

    @property
    def balanced(self) -> bool:
        return all(tb["debits"] == tb["credits"] for tb in self.trial_balance.values())

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and not (self.lost or self.doubled or self.mismatched)
            and self.registry_converged
            and self.balanced
            and not self.restarted_by_drill
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(type(value).__name__)


def write_json(path: Path, *, run: dict[str, Any], drills: list[DrillResult], series: list[Second]) -> None:
    data = {
        "run": run,
        "definitions": DEFINITIONS,
        "drills": [
            {
                **asdict(d),
                "error_rate": d.error_rate,
                "registry_converged": d.registry_converged,
                "trial_balance_balanced": d.balanced,
                "ok": d.ok,
            }
            for d in drills
        ],
        "per_second": [[s.t, s.requests, s.failures] for s in series],
    }
    path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")


DEFINITIONS = {
    "fault_window": "from the injection (kill, or stop) until the component was healthy again as the drill saw it",
    "requests, failures": (
        f"requests completed (and failed) from the injection until {SETTLE_SECONDS} s after the fault window, "
        "from the per-second differences of Locust's cumulative totals in --csv _stats_history.csv"
    ),
    "recovery_time": (
        "from the injection to the start of the first run of "
        f"{QUIET_SECONDS} consecutive seconds, after the first failure, with no failure and requests still "
        f"completing (at least {QUIET_SECONDS} in those seconds); 0 when nothing failed; looked for until the "
        "next drill's injection"
    ),
    "acked repayments checked": (
        "every repayment acknowledged since the load started (POST repayments answered 201/200 with an "
        "Idempotency-Key; signed M-Pesa callbacks answered 200 applied or 202 suspense), deduped by key, "
        "checked after the drill against the primary; cumulative, `(+n)` acknowledged since the previous check"
    ),
    "lost": "an acknowledged key or receipt with no row in the tenant database",
    "doubled": "a key or receipt with more than one row, or answered with two transaction ids",
    "registry_converged": (
        "every outbox event appended before the check delivered, and every loan with an event since the "
        "previous check equal in the registry (newest revision: last event, status, outstanding, DPD, bucket)"
    ),
}


def failure_reasons(drills: list[DrillResult]) -> list[str]:
    """Why the run failed, one line per drill and kind of failure (empty when it passed)."""
    reasons = []
    for d in drills:
        where = f"drill {d.index} ({d.title})"
        if d.error:
            reasons.append(f"{where}: the drill itself failed: {d.error}")
        for label, items in (("lost", d.lost), ("doubled", d.doubled), ("wrong", d.mismatched)):
            if items:
                reasons.append(f"{where}: {len(items)} acknowledged repayments {label}")
        if not d.registry_converged:
            reasons.append(f"{where}: the registry did not converge")
        if not d.balanced:
            reasons.append(f"{where}: the trial balance does not balance")
        if d.restarted_by_drill:
            reasons.append(
                f"{where}: {', '.join(d.restarted_by_drill)} exited and had to be restarted by the drill "
                "(nothing in the local platform restarts a process)"
            )
    return reasons


def _fmt_time(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S")


def _fmt_seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.0f} s"


def write_markdown(path: Path, *, run: dict[str, Any], drills: list[DrillResult], images: dict[str, str]) -> None:
    lines = [
        "# Fault drills under load",
        "",
        f"Run of `{run['command']}` on {run['started']} ({run['machine']}). Locust: {run['users']} users "
        f"({run['mix']}), {run['steady_seconds']} s steady between drills, load for {run['load_seconds']:.0f} s "
        f"in all: {run['requests']} requests, {run['failures']} failures. Every drill is checked while the "
        "load keeps running.",
        "",
        f"**Result: {'PASS' if all(d.ok for d in drills) else 'FAIL'}** — "
        f"{sum(len(d.lost) for d in drills[-1:])} acknowledged repayments lost and "
        f"{sum(len(d.doubled) for d in drills[-1:])} doubled at the last check "
        f"({drills[-1].acks_checked if drills else 0} checked); registry converged after "
        f"{sum(d.registry_converged for d in drills)} of {len(drills)} drills.",
        "",
        *[f"- FAIL: {reason}" for reason in failure_reasons(drills)],
        *([""] if failure_reasons(drills) else []),
        "| drill | fault window | requests | failures | error rate | recovery time | acked repayments checked "
        "| lost | doubled | registry converged | notes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for d in drills:
        rate = "-" if d.error_rate is None else f"{d.error_rate:.1%}"
        window = f"{_fmt_time(d.injected_at)}–{_fmt_time(d.restored_at)} ({d.restored_at - d.injected_at:.1f} s)"
        notes = "; ".join(d.notes) or "-"
        lines.append(
            f"| {d.index}. {d.title} | {window} | {d.requests} | {d.failures} | {rate} | "
            f"{_fmt_seconds(d.recovery_seconds)} | {d.acks_checked} (+{d.acks_in_period}) | {len(d.lost)} | "
            f"{len(d.doubled)} | {'yes' if d.registry_converged else 'NO'} | {notes} |"
        )
    lines += ["", "## Definitions", ""]
    lines += [f"- **{name.replace('_', ' ')}**: {text}." for name, text in DEFINITIONS.items()]
    lines += [
        "",
        "## Each drill",
        "",
    ]
    for d in drills:
        lines.append(f"### {d.index}. {d.title}")
        lines.append("")
        if d.name in images:
            lines += [f"![{d.title}]({images[d.name]})", ""]
        lines.append(f"- fault: {'; '.join(d.fault_notes) or '-'}" + (f"; **error: {d.error}**" if d.error else ""))
        lines.append(
            f"- first failure {_fmt_seconds(d.first_failure_seconds)}, last failure "
            f"{_fmt_seconds(d.last_failure_seconds)} after the injection (before the next drill); every service "
            f"healthy {_fmt_seconds(d.services_healthy_after_seconds)} after the fault window"
            + (f"; still unhealthy: {', '.join(d.unhealthy_after)}" if d.unhealthy_after else "")
        )
        if d.restarted_by_drill:
            lines.append(f"- **restarted by the drill (had exited)**: {', '.join(d.restarted_by_drill)}")
        lines.append(
            f"- acknowledgements: {d.acks_checked} checked, {len(d.lost)} lost, {len(d.doubled)} doubled, "
            f"{len(d.mismatched)} wrong; {d.unacknowledged_in_db} gateway transactions in the database whose "
            "answer the client never saw (allowed: the reply was lost)"
        )
        for label, items in (("lost", d.lost), ("doubled", d.doubled), ("wrong", d.mismatched)):
            for item in items[:20]:
                lines.append(f"  - {label}: {item}")
        for tenant, reg in sorted(d.registry.items()):
            lines.append(
                f"- registry, {tenant}: {'converged' if reg['converged'] else 'NOT converged'} — "
                f"{reg['loans_checked']} loans compared, waited {reg['waited_seconds']:.0f} s"
                + (f"; undelivered: {'; '.join(reg['outbox_undelivered'][:5])}" if reg["outbox_undelivered"] else "")
            )
            for loan, diffs in list(reg["differences"].items())[:10]:
                lines.append(f"  - loan {loan}: {'; '.join(diffs)}")
        for tenant, tb in sorted(d.trial_balance.items()):
            state = "balances" if tb["debits"] == tb["credits"] else "**does not balance**"
            lines.append(f"- trial balance, {tenant}: debits {tb['debits']} = credits {tb['credits']}: {state}")
        lines.append("")
    if "timeline" in images:
        lines += ["## The whole run", "", f"![timeline]({images['timeline']})", ""]
    lines += [
        "## Reproduce",
        "",
        "```sh",
        "make drills                                   # all five, 8 users, 20 s steady",
        'make drills DRILLS_ARGS="--only restart-openbao --users 4"',
        "```",
        "",
        "Drill names: " + ", ".join(f"`{n}`" for n in run["drill_names"]) + ". Exit status 1 when an "
        "acknowledged repayment was lost, doubled or wrong, the registry did not converge, the books do "
        "not balance or a process had to be restarted by the drill. Timings on a shared 2-core machine are "
        "noisy; compare drills within one run.",
        "",
    ]
    path.write_text("\n".join(lines))


def plot(path: Path, series: list[Second], drills: list[DrillResult], *, start: float, end: float, title: str) -> None:
    """Requests/s and failures/s between ``start`` and ``end``, each drill's fault window shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = [s for s in series if start <= s.t < end]
    if not chosen:
        return
    t0 = chosen[0].t
    xs = [s.t - t0 for s in chosen]
    fig, ax = plt.subplots(figsize=(10, 3.6), dpi=100)
    ax.plot(xs, [s.requests for s in chosen], label="requests/s", color="#2b6cb0", linewidth=1.2)
    ax.plot(xs, [s.failures for s in chosen], label="failures/s", color="#c53030", linewidth=1.2)
    for d in drills:
        if d.injected_at and start <= d.injected_at < end:
            left = d.injected_at - t0
            ax.axvspan(left, max(d.restored_at - t0, left + 0.5), color="#ed8936", alpha=0.25)
            if d.recovery_seconds is not None and d.recovery_seconds > 0:
                ax.axvline(left + d.recovery_seconds, color="#2f855a", linestyle="--", linewidth=1)
            ax.annotate(str(d.index), (left, ax.get_ylim()[1] * 0.92), fontsize=9)
    ax.set_xlabel(f"seconds since {datetime.fromtimestamp(t0):%H:%M:%S}")
    ax.set_ylabel("per second")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
