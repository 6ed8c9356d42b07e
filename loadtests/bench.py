"""The benchmark at national scale: ``python loadtests/bench.py`` (``make bench``; not part of ``make test``).

In ONE run, on the benchmark platform (``.letsema-bench/``) and its generated dataset (``loadtests/generate.py``,
run first when the dataset is missing or incomplete; resumable):

1. the machine's ceilings with the tenant APIs' server settings: ``pgbench -N`` TPS and the req/s of a bare DRF
   GET of a constant, a bare DRF GET of one row and a bare DRF POST of one UPDATE + one INSERT
   (``letsema_load/ceilings.py``);
2. each Letsema operation alone at saturation (same users, warm-up and window as the ceilings): repayment
   posting, a loan, its schedule, a borrower, a page of the loan list, a credit report — throughput,
   p50/p95/p99 and the ratio to its ceiling (``bench_locustfile.py``);
3. credit-file lookups at the registry layer (``MongoCreditRegistry.credit_file``, sequential, random borrowers
   of the 3 000 000 accounts);
4. PAR and ageing over the 1 000 000 loans through the API (answered from the replica);
5. close of business over every active loan for the next business date (``manage.py close_of_business``), and
   the time the relay takes to publish the registry events it queued.

Writes ``<out>/bench.json`` (every figure, the settings and the machine), ``<out>/summary.md`` and PNG plots
(per-operation history from Locust's CSV, operations against ceilings), then copies them to
``docs/performance/bench/`` (``--no-publish`` to keep them out of the docs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "api"))  # the registry adapter (no Django)

from letsema_load.benchplatform import (
    ROOT,
    STATE_DIR,
    bench_env,
    ensure_up,
    ferretdb_pushdown_indexes,
    letsema,
)
from letsema_load.ceilings import OPERATION_CEILINGS, measure_ceilings
from letsema_load.measure import OpStats, run_locust
from letsema_load.plots import plot_history, plot_summary

LOADTESTS = Path(__file__).resolve().parent
BENCH_LOCUSTFILE = LOADTESTS / "bench_locustfile.py"
TENANT = "khotso"
OPERATIONS = ("GetLoan", "GetLoanSchedule", "GetBorrower", "ListLoans", "PostRepayment", "CreditReport")
#: targets of issue 6 (this 2-core machine)
TARGETS = {
    "registry_lookup_p99_ms": 20.0,
    "api_credit_report_p95_ms": 100.0,
    "close_of_business_seconds": 120.0,
    "par_seconds": 1.0,
}
SAMPLE_IDS = 20_000


def log(message: str) -> None:
    print(f"bench {datetime.now(UTC):%H:%M:%S}: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------- the machine


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    mem_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "cpu": model,
        "logical_cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": pg,
        "load_average_at_start": os.getloadavg(),
    }


# ------------------------------------------------------------------------------------------------- the data


def ensure_dataset(env: dict[str, str], state: Path, generate_args: list[str]) -> dict[str, Any]:
    manifest = state / "dataset.json"
    if not manifest.exists() or not json.loads(manifest.read_text()).get("complete"):
        log("the dataset is missing or incomplete: running loadtests/generate.py (resumable) …")
        done = subprocess.run(
            [sys.executable, str(LOADTESTS / "generate.py"), "--state-dir", str(state), *generate_args],
            env=env,
            cwd=ROOT,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit("bench: the data generator failed; run it again (it resumes) and then the bench")
    data: dict[str, Any] = json.loads(manifest.read_text())
    return data


def tenant_db(env: dict[str, str]) -> tuple[Any, str]:
    from letsema_dev.stack import TENANTS, Context

    ctx = Context.load(Path(env["LETSEMA_STATE_DIR"]))
    return ctx, next(t.database for t in TENANTS if t.tenant_id == TENANT)


def write_ids(env: dict[str, str], credentials: Path, path: Path) -> dict[str, Any]:
    """A random sample of active loans and of borrowers with a report consent (``LETSEMA_BENCH_IDS``)."""
    ctx, dbname = tenant_db(env)
    with ctx.primary.connect(dbname) as conn:
        loans = [r[0] for r in conn.execute(
            "SELECT id FROM lending_loan TABLESAMPLE SYSTEM (5) WHERE status = 'active' LIMIT %s", [SAMPLE_IDS]
        )]  # fmt: skip
        borrowers = [r[0] for r in conn.execute(
            "SELECT DISTINCT c.borrower_id FROM borrowers_consent c TABLESAMPLE SYSTEM (5) "
            "WHERE c.revoked_at IS NULL AND c.purpose IN ('credit_report', 'credit_sharing') LIMIT %s",
            [SAMPLE_IDS],
        )]  # fmt: skip
        keys = [r[0] for r in conn.execute(
            "SELECT lookup_key FROM borrowers_borroweridentifier TABLESAMPLE SYSTEM (2) LIMIT %s", [5000]
        )]  # fmt: skip
    ids = {
        "tenant": TENANT,
        "credentials": str(credentials),
        "loan_ids": loans,
        "borrower_ids": borrowers,
        "consented_borrower_ids": borrowers,
        "registry_keys": keys,
    }
    path.write_text(json.dumps(ids))
    return ids


# -------------------------------------------------------------------------------------------- measurements


def pending_events(env: dict[str, str]) -> int:
    """Outbox events the tenant's relay has not published yet."""
    ctx, dbname = tenant_db(env)
    with ctx.primary.connect(dbname) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox_outboxevent WHERE status = 'pending'").fetchone()[0])


def wait_for_relay(env: dict[str, str], *, timeout: float) -> dict[str, Any]:
    """Wait until the relay has published every pending event (or ``timeout`` seconds): the registry figures are
    taken with no relay publishing beside them, as on a platform whose registry is not catching up."""
    start = time.monotonic()
    pending = pending_events(env)
    first = pending
    while pending and time.monotonic() - start < timeout:
        time.sleep(2)
        pending = pending_events(env)
    return {
        "pending_at_start": first,
        "pending_after": pending,
        "seconds": round(time.monotonic() - start, 1),
    }


def registry_lookups(env: dict[str, str], keys: list[str], *, n: int) -> dict[str, Any]:
    """``credit_file`` for ``n`` random borrowers, one after another, timed each (milliseconds)."""
    import pymongo
    from letsema_api.registry.mongo import MongoCreditRegistry

    ctx, _ = tenant_db(env)
    client: Any = pymongo.MongoClient(ctx.mongo_url, tz_aware=True)
    registry = MongoCreditRegistry.from_client(client, database="letsema_registry")
    rng = random.Random(7)
    times: list[float] = []
    accounts = 0
    registry.credit_file(country="LS", borrower_key=keys[0])  # connect, warm the plan cache
    for _ in range(n):
        key = rng.choice(keys)
        start = time.perf_counter()
        found = registry.credit_file(country="LS", borrower_key=key)
        times.append((time.perf_counter() - start) * 1000)
        accounts += len(found.accounts)
    client.close()
    return {"lookups": n, "accounts_per_file": round(accounts / n, 2), **_percentiles(times)}


def _percentiles(times_ms: list[float]) -> dict[str, float]:
    ordered = sorted(times_ms)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))], 2)

    return {
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(ordered[-1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def _token(creds: dict[str, Any], username: str) -> str:
    import requests

    client = creds["oauth_clients"]["letsema-staff-app"]
    resp = requests.post(
        creds["token_url"],
        data={"grant_type": "password", "username": username, "password": creds["users"][username]["password"]},
        auth=(client["client_id"], client["client_secret"]),
        timeout=60,
    )
    resp.raise_for_status()
    return str(resp.json()["access_token"])


def reports(creds: dict[str, Any], *, as_of: date, repeat: int) -> dict[str, Any]:
    """PAR and ageing over every loan through the API (the replica answers), each ``repeat`` times."""
    import requests

    token = _token(creds, "auditor")
    out: dict[str, Any] = {}
    for name, path in (("par", "/api/v1/reports/par/"), ("ageing", "/api/v1/reports/ageing/")):
        seconds = []
        body: Any = None
        for _ in range(repeat):
            start = time.perf_counter()
            resp = requests.get(
                f"{creds['url']}{path}",
                params={"as_of": as_of.isoformat()},
                headers={"Authorization": f"Bearer {token}"},
                timeout=120,
            )
            seconds.append(time.perf_counter() - start)
            resp.raise_for_status()
            body = resp.json()
        out[name] = {
            "seconds_each": [round(s, 3) for s in seconds],
            "median_seconds": round(statistics.median(seconds), 3),
            "max_seconds": round(max(seconds), 3),
            "answer": body,
        }
    return out


def close_of_business(
    env: dict[str, str], *, dataset_as_of: date, cob_date: date | None = None, workers: int = 1
) -> dict[str, Any]:
    """``close_of_business`` for the day after the last one closed (or ``cob_date``), timed; then the relay's
    catch-up. A ``cob_date`` after today in Maseru is closed ahead of time (``--ahead-of-time``): the
    benchmark's data are synthetic, and this is the only way to measure before the day has ended."""
    ctx, dbname = tenant_db(env)
    with ctx.primary.connect(dbname) as conn:
        row = conn.execute("SELECT max(last_close_of_business), count(*) FROM lending_loan WHERE status = 'active'")
        last, active = row.fetchone()
        pending_before = conn.execute("SELECT count(*) FROM outbox_outboxevent WHERE status = 'pending'").fetchone()[0]
    business_date = cob_date or (last or dataset_as_of) + timedelta(days=1)
    today = datetime.now(ZoneInfo("Africa/Maseru")).date()
    if business_date > today and cob_date is None:
        return {
            "skipped": f"the dataset is closed through {last}; the next business date {business_date} has not "
            f"begun in Maseru (today {today}). Regenerate the dataset or run the bench tomorrow.",
        }
    log(f"close of business {business_date} over {active} active loans …")
    start = time.monotonic()
    command = ["close_of_business", "--as-of", business_date.isoformat(), "--batch", "1000", "--no-progress"]
    command += ["--workers", str(workers)]
    if business_date > today:
        log(f"{business_date} has not begun in Maseru (today {today}): closing it ahead of time (--cob-date)")
        command.append("--ahead-of-time")
    done = letsema(env, "dev", "manage", TENANT, *command, timeout=3600)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"bench: close_of_business failed:\n{done.stdout}\n{done.stderr}")
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    log(summary)
    # The relays run beside the APIs: wait for them to publish what close of business queued.
    log("waiting for the relay to publish the queued registry events …")
    drained = wait_for_relay(env, timeout=1800)
    pending = drained["pending_after"]
    return {
        "business_date": business_date.isoformat(),
        "ahead_of_time": business_date > today,
        "workers": workers,
        "active_loans": active,
        "seconds": round(seconds, 1),
        "loans_per_second": round(active / seconds, 1) if seconds else None,
        "summary": summary,
        "outbox_pending_before": pending_before,
        "relay_catch_up_seconds": drained["seconds"] if pending == 0 else None,
        "outbox_pending_after": pending,
        "note": "wall clock of `letsema dev manage khotso close_of_business` (a new process: Django start-up included)",
    }


# ------------------------------------------------------------------------------------------------- report


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}".replace(",", " ")


def summary_markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark run {result['started_at']}",
        "",
        f"Machine: {result['machine']['cpu']}, {result['machine']['logical_cores']} logical cores, "
        f"{result['machine']['memory_gib']} GiB; load average at start {result['machine']['load_average_at_start']}.",
        f"Dataset: {result['dataset']['borrowers']:,} borrowers and loans, {result['dataset']['registry_accounts']:,} "
        f"registry accounts (seed {result['dataset']['seed']}, as of {result['dataset']['as_of']}).",
        f"Load: {result['settings']['users']} Locust users, {result['settings']['seconds']} s measured after "
        f"{result['settings']['warmup_seconds']} s warm-up, per operation.",
        "",
        "## Ceilings",
        "",
        "| ceiling | req/s (TPS) | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    ceilings = result.get("ceilings", {})
    for name, c in ceilings.items():
        if "tps" in c:
            lines.append(f"| pgbench -N | {_fmt(c['tps'])} | | | |")
        else:
            lines.append(
                f"| {name} | {_fmt(c['rps'])} | {_fmt(c['p50_ms'], 0)} | {_fmt(c['p95_ms'], 0)} "
                f"| {_fmt(c['p99_ms'], 0)} |"
            )
    lines += [
        "",
        "## Operations",
        "",
        "| operation | req/s | p50 ms | p95 ms | p99 ms | failures | ceiling | ratio | target |",
        "|---|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for name, op in result.get("operations", {}).items():
        ratio = op.get("ratio")
        target = op.get("target_ratio")
        verdict = "" if target is None else ("met" if ratio is not None and ratio >= target else "NOT met")
        lines.append(
            f"| {name} | {_fmt(op['rps'])} | {_fmt(op['p50_ms'], 0)} | {_fmt(op['p95_ms'], 0)} "
            f"| {_fmt(op['p99_ms'], 0)} "
            f"| {op['failures']} | {op.get('ceiling', '')} | {_fmt(ratio * 100 if ratio is not None else None, 0)} % "
            f"| {'' if target is None else f'≥ {target * 100:.0f} % {verdict}'} |"
        )
    latency = result.get("credit_report_latency")
    if latency:
        lines += [
            "",
            f"Credit report latency run ({latency['users']} users, no wait, after the relay drained): "
            f"{_fmt(latency['rps'])} req/s, p50 / p95 / p99 {_fmt(latency['p50_ms'], 0)} / "
            f"{_fmt(latency['p95_ms'], 0)} / {_fmt(latency['p99_ms'], 0)} ms, {latency['failures']} failures; "
            "the target's p95 is taken from this run.",
        ]
    lines += ["", "## Targets", "", "| figure | measured | target | |", "|---|---:|---:|---|"]
    for name, (measured, target) in result.get("targets", {}).items():
        ok = measured is not None and measured <= target
        lines.append(f"| {name} | {_fmt(measured, 3)} | ≤ {target} | {'met' if ok else 'NOT met'} |")
    cob = result.get("close_of_business", {})
    if cob.get("summary"):
        lines += ["", f"Close of business: `{cob['summary']}`"]
    elif cob.get("skipped"):
        lines += ["", f"Close of business: skipped — {cob['skipped']}"]
    lines += ["", "Plots: `operations.png` (each operation next to its ceiling) and `<run>.png` per Locust run."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help="the benchmark platform (.letsema-bench)")
    parser.add_argument("--users", type=int, default=16, help="Locust users per run (default 16)")
    parser.add_argument("--seconds", type=int, default=30, help="measured window per run (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up seconds per run (default 5)")
    parser.add_argument("--lookups", type=int, default=2000, help="registry lookups timed (default 2000)")
    parser.add_argument("--only", nargs="*", default=None, help="operations to run (default all)")
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["ceilings", "operations", "registry", "reports", "cob"]
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="results folder (default loadtests/results/bench-<time>)"
    )
    parser.add_argument("--no-publish", action="store_true", help="do not copy the results to docs/performance/bench")
    parser.add_argument("--generate-args", default="", help="arguments for generate.py when it must run")
    parser.add_argument(
        "--cob-date",
        type=date.fromisoformat,
        default=None,
        help="close of business for this date (default: the day after the last one closed); a date that has not "
        "begun in Maseru is closed ahead of time — the benchmark's synthetic data only (the command's "
        "--ahead-of-time); the production guard against future dates is unchanged",
    )
    parser.add_argument("--cob-workers", type=int, default=2, help="close_of_business --workers (default 2)")
    parser.add_argument(
        "--latency-users",
        type=int,
        default=os.cpu_count() or 2,
        help="users of the credit-report latency run, the target's p95 (default: one per core; 0 skips it)",
    )
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    out = args.out or LOADTESTS / "results" / f"bench-{started:%Y%m%dT%H%M%SZ}"
    out.mkdir(parents=True, exist_ok=True)
    env = bench_env(args.state_dir)
    state = args.state_dir
    result: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"users": args.users, "seconds": args.seconds, "warmup_seconds": args.warmup},
    }
    log(f"starting the benchmark platform in {state} …")
    ensure_up(env)
    dataset = ensure_dataset(env, state, args.generate_args.split())
    ferretdb_pushdown_indexes(env)
    result["dataset"] = dataset
    credentials = state / "demo-credentials.json"
    creds = json.loads(credentials.read_text())[TENANT]
    ids_path = out / "ids.json"
    ids = write_ids(env, credentials, ids_path)
    log(f"{len(ids['loan_ids'])} loans, {len(ids['borrower_ids'])} borrowers, {len(ids['registry_keys'])} keys sampled")
    locust_env = {**env, "LETSEMA_BENCH_IDS": str(ids_path)}

    if "ceilings" not in args.skip:
        ctx, _ = tenant_db(env)
        log("ceilings: pgbench -N and the bare DRF app …")
        ceilings = measure_ceilings(
            pg_host=str(ctx.primary.socket_dir),
            pg_port=ctx.primary.port,
            pg_user="postgres",
            pg_password=None,
            bin_dir=ctx.primary.bin_dir,
            seconds=args.seconds,
            users=args.users,
            out_dir=out,
            warmup_seconds=args.warmup,
        )
        result["ceilings"] = {k: (v.to_dict() if isinstance(v, OpStats) else v) for k, v in ceilings.items()}
        for name, value in ceilings.items():
            if isinstance(value, OpStats):
                plot_history(Path(value.csv_prefix), out / f"ceiling-{name}.png", f"ceiling {name}")
    ceilings_now: dict[str, Any] = result.get("ceilings", {})

    def operation(name: str, users: int, run_name: str) -> OpStats:
        log(f"operation {name}: {users} users, {args.seconds} s …")
        return run_locust(
            locustfile=BENCH_LOCUSTFILE,
            user_classes=[name],
            host=creds["url"],
            users=users,
            spawn_rate=users,
            seconds=args.seconds,
            out_dir=out,
            name=run_name,
            env=locust_env,
            warmup_seconds=args.warmup,
        )

    def settle(before: str) -> None:
        """Let the relay publish what the runs before queued, so the registry is measured on its own."""
        drained = wait_for_relay(env, timeout=900)
        result.setdefault("relay_drained", {})[before] = drained
        log(f"  relay drained before {before}: {drained}")

    op_stats: list[OpStats] = []
    if "operations" not in args.skip:
        result["operations"] = {}
        for name in args.only or OPERATIONS:
            if name == "CreditReport":
                settle("CreditReport")
            stats = operation(name, args.users, name)
            op_stats.append(stats)
            plot_history(Path(stats.csv_prefix), out / f"{name}.png", f"{name} ({args.users} users)")
            ceiling_key, target = OPERATION_CEILINGS.get(name, (None, None))
            ceiling = ceilings_now.get(ceiling_key or "")
            ratio = round(stats.rps / ceiling["rps"], 3) if ceiling and ceiling.get("rps") else None
            result["operations"][name] = {
                **stats.to_dict(),
                "ceiling": ceiling_key,
                "ratio": ratio,
                "target_ratio": target,
            }
            log(f"  {stats.rps:.1f} req/s, p95 {stats.p95_ms:.0f} ms, {stats.failures} failures, ratio {ratio}")
        if op_stats and ceilings_now:
            rebuilt = {k: (OpStats(**v) if "rps" in v else v) for k, v in ceilings_now.items()}
            plot_summary(op_stats, rebuilt, out / "operations.png")
        if "CreditReport" in (args.only or OPERATIONS) and args.latency_users:
            # The saturation run above queues every report behind 15 others; the latency of one report is taken
            # with as many users as the machine has cores, back to back (still no wait time).
            settle("CreditReportLatency")
            run = f"CreditReport-{args.latency_users}users"
            stats = operation("CreditReport", args.latency_users, run)
            plot_history(Path(stats.csv_prefix), out / f"{run}.png", f"CreditReport ({args.latency_users} users)")
            result["credit_report_latency"] = {**stats.to_dict(), "users": args.latency_users}
            log(f"  {stats.rps:.1f} req/s, p95 {stats.p95_ms:.0f} ms, {stats.failures} failures")

    if "registry" not in args.skip:
        settle("registry")
        log(f"registry: {args.lookups} credit-file lookups …")
        result["registry_lookups"] = registry_lookups(env, ids["registry_keys"], n=args.lookups)
        log(f"  {result['registry_lookups']}")

    as_of = date.fromisoformat(dataset["as_of"])
    if "reports" not in args.skip:
        log("PAR and ageing through the API …")
        result["reports"] = reports(creds, as_of=datetime.now(ZoneInfo("Africa/Maseru")).date(), repeat=5)
        log(
            f"  PAR median {result['reports']['par']['median_seconds']} s, "
            f"ageing {result['reports']['ageing']['median_seconds']} s"
        )

    if "cob" not in args.skip:
        result["close_of_business"] = close_of_business(
            env, dataset_as_of=as_of, cob_date=args.cob_date, workers=args.cob_workers
        )

    credit = result.get("credit_report_latency") or result.get("operations", {}).get("CreditReport")
    result["targets"] = {
        "registry_lookup_p99_ms": (result.get("registry_lookups", {}).get("p99_ms"), TARGETS["registry_lookup_p99_ms"]),
        "api_credit_report_p95_ms": (credit["p95_ms"] if credit else None, TARGETS["api_credit_report_p95_ms"]),
        "close_of_business_seconds": (
            result.get("close_of_business", {}).get("seconds"),
            TARGETS["close_of_business_seconds"],
        ),
        "par_seconds": (result.get("reports", {}).get("par", {}).get("median_seconds"), TARGETS["par_seconds"]),
    }
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["machine"]["load_average_at_end"] = os.getloadavg()
    (out / "bench.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (out / "summary.md").write_text(summary_markdown(result))
    log(f"results in {out}")
    if not args.no_publish:
        docs = ROOT / "docs" / "performance" / "bench"
        docs.mkdir(parents=True, exist_ok=True)
        for old in docs.glob("*"):
            old.unlink()
        for path in [out / "bench.json", out / "summary.md", *sorted(out.glob("*.png"))]:
            shutil.copy2(path, docs / path.name)
        log(f"published to {docs.relative_to(ROOT)}")
    print((out / "summary.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
