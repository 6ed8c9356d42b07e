"""Fault drills under Locust load: break one component at a time and check nothing acknowledged was lost.

    .venv/bin/python loadtests/drills.py [--state-dir .letsema-drills] [--users 8] [--steady 20]
                                         [--only NAME ...] [--out docs/performance] [--fresh]

Starts a private local platform (``letsema dev up`` in its own state folder, on free loopback ports),
runs Locust headless against tenant khotso for the whole run (``loadtests/locustfile.py`` with every user
class, the payment gateway weighted up, ``--ack-log`` recording every acknowledged repayment and
``--retry-failed-payments`` retrying a payment that got no answer with the same key), and injects, one at
a time with a steady period between them:

1. ``kill-api-worker``     kill -9 a gunicorn worker of api-khotso (the master forks a new one)
2. ``restart-pg-replica``  restart the PostgreSQL hot standby
3. ``stop-ferretdb-30s``   stop the MongoDB-protocol server (FerretDB) for 30 s, then start it
4. ``restart-openbao``     restart OpenBao (unsealed again on start)
5. ``restart-pg-primary``  restart the PostgreSQL primary

After each: wait until every service is healthy, then check every acknowledged repayment is in the tenant
database exactly once, that the registry converged with the tenant databases and that the books balance.
Error rates and recovery times come from Locust's per-second history. Results: ``<out>/drills.json``,
``<out>/drills.md`` and ``<out>/drill-*.png``. Exit status 1 if any check failed. Everything started is
stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host_platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from letsema_load import drills_platform as dp
from letsema_load.drills_metrics import (
    failing_requests,
    failure_kinds,
    per_second,
    read_rows,
    recovery,
    window_counts,
)
from letsema_load.drills_report import SETTLE_SECONDS, DrillResult, plot, write_json, write_markdown
from letsema_load.drills_verify import MPESA, REPAYMENT, load_acks, verify_acks

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = REPO_ROOT / "loadtests" / "locustfile.py"
LOAD_TENANT = "khotso"
#: longest wait for every service to be healthy again after a fault
HEALTHY_TIMEOUT = 180.0
#: longest wait for the registry to converge (the relay backs off up to 60 s while the registry is down)
CONVERGE_TIMEOUT = 300.0
#: longest wait for an outbox backlog left by an earlier run before the load starts
BACKLOG_TIMEOUT = 900.0
#: a drill's own timeline shows this long after the fault window
PLOT_AFTER_SECONDS = 90.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    names = [d.name for d in dp.DRILLS]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", default=".letsema-drills", help="the private platform's state folder")
    parser.add_argument("--users", type=int, default=8, help="Locust users (default 8)")
    parser.add_argument("--steady", type=float, default=20.0, help="seconds of steady load before each drill")
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME", help=f"only these drills: {names}")
    parser.add_argument("--out", default="docs/performance", help="folder for drills.json, drills.md, drill-*.png")
    parser.add_argument("--fresh", action="store_true", help="delete the drill platform's state first")
    parser.add_argument("--warmup", type=float, default=120.0, help="at most this long for the first repayments")
    parser.add_argument("--gateway-weight", type=int, default=5, help="PaymentGateway weight (locustfile: 3)")
    return parser.parse_args(argv)


def resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else REPO_ROOT / p


class Load:
    """Locust headless in a subprocess for the whole run."""

    def __init__(self, work: Path, platform: dp.Platform, args: argparse.Namespace) -> None:
        self.work = work
        self.prefix = work / "locust"
        self.acks = work / "acks.jsonl"
        self.log = work / "locust.log"
        self.users = args.users
        self.mix = f"all user classes, PaymentGateway weight {args.gateway_weight}"
        self.argv = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "--host", platform.tenant_url(LOAD_TENANT), "--credentials", str(platform.credentials),
            "-u", str(args.users), "-r", "2", "--stop-timeout", "10",
            "--csv", str(self.prefix), "--csv-full-history", "--json-file", str(self.prefix),
            "--ack-log", str(self.acks), "--retry-failed-payments",
            "--config-users", json.dumps({"user_class_name": "PaymentGateway", "weight": args.gateway_weight}),
            "--only-summary", "--loglevel", "WARNING",
        ]  # fmt: skip
        self.env = platform.env
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.stopped_at = 0.0

    def start(self) -> None:
        self.acks.unlink(missing_ok=True)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.started_at = time.time()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ack_lines(self) -> list[str]:
        return self.acks.read_text().splitlines() if self.acks.exists() else []

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # Locust stops its users and writes its files
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.stopped_at = self.stopped_at or time.time()

    def totals(self) -> tuple[int, int]:
        path = Path(f"{self.prefix}.json")
        if not path.exists():
            return 0, 0
        rows = json.loads(path.read_text())
        return sum(r["num_requests"] for r in rows), sum(r["num_failures"] for r in rows)


def wait_for_first_acks(load: Load, *, timeout: float, minimum: int = 10) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not load.alive():
            raise RuntimeError(f"Locust exited early; see {load.log}")
        count = len(load_acks(load.ack_lines()))
        if count >= minimum:
            dp.log(f"load is paying: {count} repayments acknowledged")
            return
        time.sleep(2.0)
    dp.log(f"warning: only {len(load_acks(load.ack_lines()))} repayments acknowledged after {timeout:.0f} s")


def restart_exited(platform: dp.Platform, result: DrillResult) -> None:
    """Start again every process of the platform that exited, and report it: nothing in the local
    platform restarts a process (on Kubernetes its pod would be restarted, after a back-off)."""
    for name, svc in platform.services.items():
        if svc.running():
            continue
        log_file = svc.log()
        lines = Path(log_file).read_text(errors="replace").strip().splitlines() if log_file else []
        errors = [line.strip() for line in lines if "Error" in line and not line.startswith(" ")]
        cause = (errors or lines or ["no log"])[-1][:300]
        backlog = ""
        if name.startswith("relay-"):
            tenant = name.removeprefix("relay-")
            backlog = f"; outbox backlog {len(dp.outbox_pending(platform, tenant, up_to=2**62))} events"
        dp.log(f"  {name} has exited ({cause}){backlog}: starting it again")
        result.restarted_by_drill.append(name)
        result.notes.append(f"{name} exited and was restarted by the drill{backlog}")
        result.fault_notes.append(f"{name} exited: {cause}")
        svc.start()


def recover_services(platform: dp.Platform, result: DrillResult) -> None:
    """Wait until every service is healthy; a process that exited is started again and reported."""
    waited, bad = platform.wait_healthy(timeout=HEALTHY_TIMEOUT)
    result.services_healthy_after_seconds = waited
    if bad:
        restart_exited(platform, result)
        waited, bad = platform.wait_healthy(timeout=HEALTHY_TIMEOUT)
    result.unhealthy_after = bad
    if bad:
        result.notes.append("still unhealthy: " + ", ".join(bad))


def verify(platform: dp.Platform, load: Load, result: DrillResult, *, run_start: float, period_start: float) -> None:
    """The checks after a drill: acknowledgements, registry convergence, trial balance."""
    # Acknowledgements first, then the database: each acknowledged answer was sent after its commit.
    acks = load_acks(load.ack_lines())
    tenants = sorted({ack.tenant for ack in acks.values()} | {LOAD_TENANT})
    rows = {}
    for tenant in tenants:
        mine = [a for a in acks.values() if a.tenant == tenant]
        rows[tenant] = dp.tenant_rows(
            platform,
            tenant,
            keys=[a.key for a in mine if a.kind == REPAYMENT] + [f"{MPESA}:{a.key}" for a in mine if a.kind == MPESA],
            receipts=[a.key for a in mine if a.kind == MPESA],
            since=dp.utc(run_start),
        )
    # A repayment committed after the acknowledgements were read is acknowledged by now: read them
    # again before counting the database's gateway transactions nobody saw acknowledged.
    check = verify_acks(acks.values(), rows, later=load_acks(load.ack_lines()).values())
    result.acks_checked = check.checked
    result.acks_in_period = sum(1 for a in acks.values() if a.first_t >= period_start)
    result.lost, result.doubled, result.mismatched = check.lost, check.doubled, check.mismatched
    result.unacknowledged_in_db = check.unacknowledged_in_db
    dp.log(
        f"  acknowledgements: {check.checked} checked (+{result.acks_in_period}), {len(check.lost)} lost, "
        f"{len(check.doubled)} doubled, {len(check.mismatched)} wrong, {check.unacknowledged_in_db} unacknowledged"
    )
    for tenant in [t.tenant_id for t in _tenants()]:
        conv = dp.wait_for_convergence(
            platform,
            tenant,
            since=dp.utc(period_start),
            timeout=CONVERGE_TIMEOUT,
            # A relay can die late: it notices the database restart only when it next touches it.
            tick=lambda: restart_exited(platform, result),
        )
        result.registry[tenant] = {
            "converged": conv.converged,
            "loans_checked": conv.loans_checked,
            "outbox_undelivered": conv.outbox_undelivered,
            "differences": conv.differences,
            "waited_seconds": conv.waited_seconds,
        }
        dp.log(
            f"  registry {tenant}: {'converged' if conv.converged else 'NOT converged'} "
            f"({conv.loans_checked} loans, {conv.waited_seconds:.0f} s)"
        )
        debits, credits = dp.trial_balance(platform, tenant)
        result.trial_balance[tenant] = {"debits": str(debits), "credits": str(credits)}
        if debits != credits:
            dp.log(f"  trial balance {tenant} does NOT balance: {debits} != {credits}")


def _tenants() -> list[Any]:
    from letsema_dev.stack import TENANTS

    return list(TENANTS)


def run_drills(platform: dp.Platform, load: Load, args: argparse.Namespace, results: list[DrillResult]) -> None:
    chosen = [d for d in dp.DRILLS if not args.only or d.name in args.only]
    run_start = load.started_at
    period_start = run_start
    for index, drill in enumerate(chosen, 1):
        result = DrillResult(index=index, name=drill.name, title=drill.title)
        results.append(result)
        dp.log(f"drill {index}/{len(chosen)}: {drill.title}: {args.steady:.0f} s of steady load first")
        time.sleep(args.steady)
        if not load.alive():
            raise RuntimeError(f"Locust exited; see {load.log}")
        dp.log(f"drill {index}/{len(chosen)}: {drill.title} ...")
        try:
            times = drill.inject(platform)
            result.injected_at, result.restored_at = times.injected_at, times.restored_at
            result.fault_notes += times.notes
            dp.log(f"  fault window {times.restored_at - times.injected_at:.1f} s ({'; '.join(times.notes)})")
        except Exception as exc:  # the drill itself broke: record it, bring the platform back, go on
            result.error = f"{type(exc).__name__}: {exc}"
            result.injected_at = result.injected_at or time.time()
            result.restored_at = time.time()
            dp.log(f"  the drill failed: {result.error}")
        recover_services(platform, result)
        # Let the measurement window after the fault pass before the checks load the database.
        time.sleep(max(0.0, result.restored_at + SETTLE_SECONDS - time.time()))
        verify(platform, load, result, run_start=run_start, period_start=period_start)
        period_start = time.time()
        dp.log(f"drill {index}/{len(chosen)}: {'ok' if result.ok else 'FAILED'}")


def measure(results: list[DrillResult], load: Load) -> list[Any]:
    """Requests, failures and recovery of each drill, from Locust's per-second history; which requests
    failed and how, in the drill's notes."""
    history = read_rows(Path(f"{load.prefix}_stats_history.csv"))
    failures = read_rows(Path(f"{load.prefix}_failures.csv"))
    series = per_second(history)
    ends = [r.injected_at for r in results[1:]] + [load.stopped_at]
    for result, end in zip(results, ends, strict=True):
        if not result.injected_at:
            continue
        result.period_end = end
        window_end = result.restored_at + SETTLE_SECONDS
        result.requests, result.failures = window_counts(series, result.injected_at, window_end)
        rec = recovery(series, injected_at=result.injected_at, period_end=end, restored_at=result.restored_at)
        result.recovery_seconds = rec.seconds
        result.first_failure_seconds = rec.first_failure_seconds
        result.last_failure_seconds = rec.last_failure_seconds
        failing = failing_requests(history, result.injected_at, window_end)
        if failing:
            top = ", ".join(f"{name} ×{count}" for name, count in list(failing.items())[:4])
            more = f" and {len(failing) - 4} more" if len(failing) > 4 else ""
            kinds = failure_kinds(failures, result.injected_at, window_end)
            result.notes.insert(0, f"failed: {top}{more} ({'; '.join(kinds)})")
    return series


def report(out: Path, results: list[DrillResult], load: Load, series: list[Any], args: argparse.Namespace) -> None:
    out.mkdir(parents=True, exist_ok=True)
    requests, failures = load.totals()
    run = {
        "command": "loadtests/drills.py " + " ".join(sys.argv[1:]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(load.started_at)),
        "machine": f"{os.cpu_count()} CPUs, {host_platform.system()} {host_platform.release()}",
        "users": load.users,
        "mix": load.mix,
        "steady_seconds": args.steady,
        "load_seconds": load.stopped_at - load.started_at,
        "requests": requests,
        "failures": failures,
        "drill_names": [d.name for d in dp.DRILLS],
    }
    images: dict[str, str] = {}
    for old in out.glob("drill-*.png"):
        old.unlink()
    for result in results:
        if not result.injected_at:
            continue
        name = f"drill-{result.index}-{result.name}.png"
        plot(
            out / name,
            series,
            [result],
            start=result.injected_at - args.steady,
            end=min(result.period_end, result.restored_at + PLOT_AFTER_SECONDS),
            title=f"{result.index}. {result.title} (shaded: fault window; dashed: recovered)",
        )
        if (out / name).exists():
            images[result.name] = name
    if series:
        plot(out / "drill-timeline.png", series, results, start=series[0].t, end=series[-1].t + 1, title="whole run")
        images["timeline"] = "drill-timeline.png"
    write_json(out / "drills.json", run=run, drills=results, series=series)
    write_markdown(out / "drills.md", run=run, drills=results, images=images)
    dp.log(f"report: {out / 'drills.md'}")


def drain_backlog(platform: dp.Platform) -> None:
    """Wait until the relays have delivered what an earlier run left in the outboxes, so that every
    drill's convergence check measures its own fault."""
    started = time.monotonic()
    for tenant in [t.tenant_id for t in _tenants()]:
        high_water = dp.outbox_high_water(platform, tenant)
        pending = len(dp.outbox_pending(platform, tenant, up_to=high_water))
        if pending:
            dp.log(f"waiting for the relay of {tenant} to deliver {pending} events left by an earlier run ...")
        while pending and time.monotonic() - started < BACKLOG_TIMEOUT:
            time.sleep(5.0)
            pending = len(dp.outbox_pending(platform, tenant, up_to=high_water))
        if pending:
            raise RuntimeError(f"{pending} outbox events of {tenant} still undelivered; try --fresh")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C and a plain ``kill`` both stop the load and the platform (a background job starts with
    # SIGINT ignored, so install the handler rather than inherit it).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    state = resolve(args.state_dir)
    work = state / "drill-run"
    if state.exists() and (state / "ports.json").exists():
        # A run that was killed may have left the platform up: stop it before anything else.
        dp.letsema(dp.platform_env(state, check_free=False), "dev", "down", log_file=state / "drills-platform.log")
    if args.fresh and state.exists():
        dp.log(f"--fresh: deleting {state}")
        shutil.rmtree(state)
    state.mkdir(parents=True, exist_ok=True)
    platform = dp.Platform(env=dp.platform_env(state))
    work.mkdir(parents=True, exist_ok=True)
    platform_log = state / "drills-platform.log"
    results: list[DrillResult] = []
    load: Load | None = None
    try:
        dp.log(f"starting a private platform in {state} (log: {platform_log}) ...")
        if dp.letsema(platform.env, "dev", "up", log_file=platform_log) != 0:
            raise RuntimeError(f"letsema dev up failed; see {platform_log}")
        platform.load()
        drain_backlog(platform)
        load = Load(work, platform, args)
        dp.log(f"starting Locust: {args.users} users against {LOAD_TENANT} (log: {load.log})")
        load.start()
        wait_for_first_acks(load, timeout=args.warmup)
        run_drills(platform, load, args, results)
        dp.log(f"{args.steady:.0f} s of steady load after the last drill")
        time.sleep(args.steady)
    except KeyboardInterrupt:
        dp.log("interrupted: stopping the load and the platform")
        results.append(DrillResult(index=len(results) + 1, name="interrupted", title="interrupted", error="Ctrl-C"))
    finally:
        if load is not None:
            load.stop()
        dp.log("stopping the platform ...")
        dp.letsema(platform.env, "dev", "down", log_file=platform_log, timeout=300)
    if load is None or not results:
        return 1
    series = measure([r for r in results if r.name != "interrupted"], load)
    report(resolve(args.out), [r for r in results if r.name != "interrupted"], load, series, args)
    for r in results:
        dp.log(
            f"{r.index}. {r.title}: {r.requests} requests, {r.failures} failures, recovery "
            f"{'never' if r.recovery_seconds is None and r.injected_at else r.recovery_seconds}, "
            f"lost {len(r.lost)}, doubled {len(r.doubled)}, wrong {len(r.mismatched)}, "
            f"registry {'converged' if r.registry_converged else 'NOT converged'} -> {'ok' if r.ok else 'FAILED'}"
        )
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
