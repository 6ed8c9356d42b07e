"""Fault drills: a private local platform, the faults injected into it, and what its databases hold.

The platform is the one ``letsema dev up`` runs, in its own state folder (``.letsema-drills/`` by default)
on free loopback ports, so a drill never touches anybody's ``.letsema/``. Its services are driven through
``letsema_dev.stack`` (the same start/stop/health code the supervisor uses); the tenant databases are read
as the supervisor administers them, as the PostgreSQL superuser over the primary's private Unix socket.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from letsema_load.drills_verify import (
    ReceiptRow,
    RegistryAccount,
    TenantLoan,
    TenantRows,
    TxnRow,
    registry_differences,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

#: the environment variable of each port of the platform (``letsema_dev.stack.PORTS``)
PORT_VARIABLES = {
    "postgres-primary": "LETSEMA_PG_PORT",
    "postgres-replica": "LETSEMA_PG_REPLICA_PORT",
    "openbao": "LETSEMA_OPENBAO_PORT",
    "mongodb": "LETSEMA_MONGO_PORT",
    "api-khotso": "LETSEMA_API_KHOTSO_PORT",
    "api-tsepo": "LETSEMA_API_TSEPO_PORT",
}


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


# ----------------------------------------------------------------------------------------- platform


def platform_env(state_dir: Path, *, check_free: bool = True) -> dict[str, str]:
    """The environment of the private platform: its state folder and its ports.

    A platform started before keeps its ports (OpenBao's raft storage remembers its cluster address, and
    the replica its primary), so they are reused when all are free; a new platform gets free ports.
    Raises ``RuntimeError`` when a remembered port is taken by someone else.
    """
    from letsema_dev.procs import free_port, port_is_free
    from letsema_dev.testing import free_port_pair

    saved_file = state_dir / "ports.json"
    if saved_file.exists():
        saved = {name: int(port) for name, port in json.loads(saved_file.read_text()).items()}
        taken = [f"{name}={port}" for name, port in saved.items() if check_free and not port_is_free(port)]
        if taken:
            raise RuntimeError(
                f"ports of the drill platform in {state_dir} are in use ({', '.join(taken)}): "
                "is another drill running? Stop it, or start afresh with --fresh"
            )
        ports = saved
    else:
        ports = {name: free_port() for name in PORT_VARIABLES}
        ports["openbao"] = free_port_pair()  # its cluster port is the next one
    env = {**os.environ, "LETSEMA_STATE_DIR": str(state_dir)}
    env.update({PORT_VARIABLES[name]: str(port) for name, port in ports.items() if name in PORT_VARIABLES})
    env.pop("LETSEMA_MONGO_URL", None)  # the platform's own MongoDB-protocol server
    return env


def letsema(env: dict[str, str], *args: str, log_file: Path, timeout: float = 900) -> int:
    """Run the ``letsema`` CLI with ``env``, its output appended to ``log_file``; its exit status."""
    with open(log_file, "ab") as out:
        done = subprocess.run(
            [sys.executable, "-m", "letsema_dev.cli", *args],
            env=env,
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
    return done.returncode


@dataclass
class Platform:
    """The running drill platform: its environment and ``letsema_dev.stack`` services."""

    env: dict[str, str]
    ctx: Any = None  # letsema_dev.stack.Context, loaded with ``env``
    services: dict[str, Any] = field(default_factory=dict)

    def load(self) -> None:
        # ``Context.load`` and the services' start() read the environment of this process.
        os.environ.update(self.env)
        os.environ.pop("LETSEMA_MONGO_URL", None)
        from letsema_dev.stack import Context, services

        self.ctx = Context.load(Path(self.env["LETSEMA_STATE_DIR"]))
        self.services = {svc.name: svc for svc in services(self.ctx)}

    @property
    def root(self) -> Path:
        return Path(self.env["LETSEMA_STATE_DIR"])

    @property
    def credentials(self) -> Path:
        return self.root / "demo-credentials.json"

    def tenant_url(self, tenant: str) -> str:
        return str(json.loads(self.credentials.read_text())[tenant]["url"])

    def unhealthy(self) -> list[str]:
        bad = []
        for name, svc in self.services.items():
            try:
                ok = bool(svc.healthy())
            except Exception:
                ok = False
            if not ok:
                bad.append(name)
        return bad

    def wait_healthy(self, *, timeout: float, grace: float = 15.0) -> tuple[float, list[str]]:
        """Wait until every service is healthy; (seconds waited, services still unhealthy at the end).

        Stops waiting early when every unhealthy service has had no process for ``grace`` seconds:
        nothing in the local platform restarts a process that exited.
        """
        started = time.monotonic()
        bad = self.unhealthy()
        dead_since: float | None = None
        while bad and time.monotonic() - started < timeout:
            if all(not self.services[name].running() for name in bad):
                dead_since = dead_since or time.monotonic()
                if time.monotonic() - dead_since > grace:
                    break
            else:
                dead_since = None
            time.sleep(1.0)
            bad = self.unhealthy()
        return time.monotonic() - started, bad

    # -- the tenant databases, as the superuser over the primary's private socket --------------
    @contextlib.contextmanager
    def db(self, tenant: str) -> Iterator[Any]:
        conn = self.ctx.primary.connect(f"letsema_{tenant}")
        try:
            yield conn
        finally:
            conn.close()

    def query(self, tenant: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.db(tenant) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def mongo(self) -> Any:
        import pymongo
        from letsema_api.registry.schema import DEFAULT_DATABASE

        client: Any = pymongo.MongoClient(self.ctx.mongo_url, serverSelectionTimeoutMS=3000, tz_aware=True)
        return client, client[os.environ.get("LETSEMA_REGISTRY_DB", DEFAULT_DATABASE)]


# ------------------------------------------------------------------------------------------- faults


@dataclass
class FaultTimes:
    injected_at: float
    restored_at: float
    notes: list[str] = field(default_factory=list)


def children_of(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


def _established_inodes(port: int) -> set[str]:
    """Socket inodes of established TCP connections whose local port is ``port`` (accepted clients)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    found.add(target[8:-1])
    return found


def serving_worker(workers: list[int], port: int, *, within: float = 5.0) -> tuple[int, bool]:
    """A worker holding an accepted client connection (serving a request), else the first; (pid, serving).

    A sync worker serves one request at a time, so killing one that holds a connection tests what a
    client sees when its request dies half-way (rolled back, or committed and never answered).
    """
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        clients = _established_inodes(port)
        for pid in workers:
            if clients & _socket_inodes(pid):
                return pid, True
        time.sleep(0.005)
    return workers[0], False


def kill_api_worker(platform: Platform, tenant: str, *, timeout: float = 60) -> FaultTimes:
    """``kill -9`` one gunicorn worker of the tenant's API (never the master), preferably one serving a
    request, then wait until the master has forked a replacement and the API answers its health check."""
    from letsema_dev.procs import read_pid

    master = read_pid(platform.root / f"api-{tenant}.pid")
    if master is None:
        raise RuntimeError(f"no pid file for api-{tenant}")
    workers = children_of(master)
    if not workers:
        raise RuntimeError(f"gunicorn master {master} of api-{tenant} has no workers")
    victim, busy = serving_worker(workers, platform.ctx.ports[f"api-{tenant}"])
    injected = time.time()
    os.kill(victim, signal.SIGKILL)
    svc = platform.services[f"api-{tenant}"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = [pid for pid in children_of(master) if pid != victim]
        if len(now) >= len(workers) and svc.healthy():
            state = "serving a request" if busy else "no request seen in 5 s"
            return FaultTimes(
                injected, time.time(), [f"killed worker {victim} ({state}) of master {master}, {len(workers)} workers"]
            )
        time.sleep(0.1)
    raise TimeoutError(f"api-{tenant}: no replacement for worker {victim} within {timeout:.0f}s")


def restart_service(platform: Platform, name: str, *, down_for: float = 0.0) -> FaultTimes:
    """Stop a service with its own ``stop()`` (PostgreSQL: fast shutdown), keep it down ``down_for``
    seconds, start it again and wait until it is healthy."""
    svc = platform.services[name]
    injected = time.time()
    svc.stop()
    stopped = time.time()
    if down_for:
        time.sleep(max(0.0, down_for - (stopped - injected)))
    svc.start()
    deadline = time.monotonic() + 120
    while not svc.healthy():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} not healthy 120 s after its start")
        time.sleep(0.2)
    return FaultTimes(injected, time.time(), [f"stop took {stopped - injected:.1f}s"])


@dataclass(frozen=True)
class Drill:
    name: str
    title: str
    inject: Callable[[Platform], FaultTimes]


DRILLS = (
    Drill("kill-api-worker", "kill -9 a gunicorn worker of api-khotso", lambda p: kill_api_worker(p, "khotso")),
    Drill("restart-pg-replica", "restart the PostgreSQL replica", lambda p: restart_service(p, "postgres-replica")),
    Drill(
        "stop-ferretdb-30s",
        "stop FerretDB (MongoDB protocol) for 30 s, then start it",
        lambda p: restart_service(p, "mongodb", down_for=30.0),
    ),
    Drill("restart-openbao", "restart OpenBao (unsealed again on start)", lambda p: restart_service(p, "openbao")),
    Drill("restart-pg-primary", "restart the PostgreSQL primary", lambda p: restart_service(p, "postgres-primary")),
)


# --------------------------------------------------------------------------------------- DB checks


def tenant_rows(
    platform: Platform, tenant: str, *, keys: Iterable[str], receipts: Iterable[str], since: datetime
) -> TenantRows:
    """The tenant's rows for the acknowledged keys and receipts, plus every gateway transaction since
    ``since`` (to count those the client never saw acknowledged)."""
    keys, receipts = sorted(set(keys)), sorted(set(receipts))
    txns = [
        TxnRow(id=r[0], loan_id=r[1], kind=r[2], idempotency_key=r[3], amount=Decimal(r[4]), reversed_by=r[5])
        for r in platform.query(
            tenant,
            "SELECT id, loan_id, kind, idempotency_key, amount, reversed_by FROM lending_loantransaction "
            "WHERE idempotency_key = ANY(%s) "
            "OR ((idempotency_key LIKE 'pay-%%' OR idempotency_key LIKE 'mpesa:%%') AND created_at >= %s)",
            (keys, since),
        )
    ]
    receipt_rows = [
        ReceiptRow(receipt_number=r[0], outcome=r[1], loan_id=r[2], transaction_id=r[3], amount=Decimal(r[4]))
        for r in platform.query(
            tenant,
            "SELECT receipt_number, outcome, loan_id, transaction_id, amount FROM payments_mobilemoneyreceipt "
            "WHERE channel = 'mpesa' AND receipt_number = ANY(%s)",
            (receipts,),
        )
    ]
    entries = dict(
        platform.query(
            tenant,
            "SELECT entry_id, count(*) FROM ledger_journalentry WHERE entry_id = ANY(%s) GROUP BY entry_id",
            ([t.id for t in txns],),
        )
    )
    return TenantRows(transactions=txns, receipts=receipt_rows, journal_entries=entries)


def trial_balance(platform: Platform, tenant: str) -> tuple[Decimal, Decimal]:
    """(sum of debits, sum of credits) over every journal line of the tenant."""
    rows = platform.query(
        tenant, "SELECT coalesce(sum(debit), 0.00), coalesce(sum(credit), 0.00) FROM ledger_journalline"
    )
    return Decimal(rows[0][0]), Decimal(rows[0][1])


def outbox_high_water(platform: Platform, tenant: str) -> int:
    return int(platform.query(tenant, "SELECT coalesce(max(id), 0) FROM outbox_outboxevent")[0][0])


def outbox_pending(platform: Platform, tenant: str, *, up_to: int) -> list[tuple[int, str, str]]:
    """Events up to id ``up_to`` not yet published: (id, loan_ref, last_error)."""
    return [
        (int(r[0]), str(r[1]), str(r[2]))
        for r in platform.query(
            tenant,
            "SELECT id, loan_ref, last_error FROM outbox_outboxevent WHERE status = 'pending' AND id <= %s ORDER BY id",
            (up_to,),
        )
    ]


def touched_loans(platform: Platform, tenant: str, *, since: datetime) -> list[str]:
    """Loans with a registry event since ``since`` (a repayment, disbursement, closure ...)."""
    return [
        str(r[0])
        for r in platform.query(
            tenant, "SELECT DISTINCT loan_ref FROM outbox_outboxevent WHERE created_at >= %s", (since,)
        )
    ]


@dataclass(frozen=True)
class LoanSnapshot:
    loan: TenantLoan
    lender_mfi: str
    country: str
    borrower_key: str


_SNAPSHOT_SQL = """
SELECT l.id, l.status, l.outstanding_principal, l.days_past_due, l.arrears_bucket,
       o.sequence, o.unpublished, o.lender_mfi, o.payload
FROM lending_loan l
JOIN LATERAL (
    SELECT e.sequence, e.lender_mfi, e.payload,
           (SELECT count(*) FROM outbox_outboxevent p
             WHERE p.loan_ref = l.id AND p.status = 'pending') AS unpublished
    FROM outbox_outboxevent e WHERE e.loan_ref = l.id ORDER BY e.sequence DESC LIMIT 1
) o ON true
WHERE l.id = ANY(%s)
"""


def loan_snapshots(platform: Platform, tenant: str, loan_ids: Iterable[str]) -> dict[str, LoanSnapshot]:
    """Each loan with its newest outbox event, read in one statement (one snapshot)."""
    found = {}
    for r in platform.query(tenant, _SNAPSHOT_SQL, (sorted(set(loan_ids)),)):
        payload = r[8] if isinstance(r[8], dict) else json.loads(r[8])
        status = str(r[1])
        # The registry's balance: outstanding principal; for a written-off loan the principal written off,
        # which the loan row no longer carries (the event does).
        balance = Decimal(payload["outstanding_balance"]) if status == "written_off" else Decimal(r[2])
        found[str(r[0])] = LoanSnapshot(
            loan=TenantLoan(
                loan_id=str(r[0]),
                status=status,
                balance=balance,
                days_past_due=int(r[3]),
                arrears_bucket=str(r[4]),
                last_sequence=int(r[5]),
                all_published=int(r[6]) == 0,
            ),
            lender_mfi=str(r[7]),
            country=str(payload["country"]),
            borrower_key=str(payload["borrower_key"]),
        )
    return found


def registry_account(registry_db: Any, snap: LoanSnapshot) -> RegistryAccount | None:
    """The newest revision of the loan's account, read as ``MongoCreditRegistry`` reads it (the shard key
    and the loan, highest ``revision``)."""
    from letsema_api.registry.codec import account_from_document
    from letsema_api.registry.schema import ACCOUNTS

    document = registry_db[ACCOUNTS].find_one(
        {
            "country": snap.country,
            "borrower_key": snap.borrower_key,
            "lender_mfi": snap.lender_mfi,
            "loan_ref": snap.loan.loan_id,
        },
        sort=[("revision", -1)],
    )
    if document is None:
        return None
    account = account_from_document(document)
    return RegistryAccount(
        status=account.status.value,
        balance=account.outstanding_balance,
        days_past_due=account.days_past_due,
        last_sequence=account.last_sequence,
    )


@dataclass
class Convergence:
    converged: bool
    loans_checked: int
    outbox_undelivered: list[str]
    differences: dict[str, list[str]]
    waited_seconds: float


def wait_for_convergence(
    platform: Platform, tenant: str, *, since: datetime, timeout: float, tick: Callable[[], None] | None = None
) -> Convergence:
    """Wait (at most ``timeout`` seconds) until the relay has delivered every event appended before now,
    then until every loan touched since ``since`` has a registry account equal to the loan.

    Load keeps running meanwhile, so a loan can move on between the two reads: a loan whose newest event
    is not delivered yet, or whose registry account is behind, is read again until both agree.
    ``tick`` runs once a second while waiting (the drill restarts processes that exited).
    """
    from letsema_core.loans import arrears_bucket

    started = time.monotonic()
    deadline = started + timeout
    high_water = outbox_high_water(platform, tenant)
    pending = outbox_pending(platform, tenant, up_to=high_water)
    while pending and time.monotonic() < deadline:
        time.sleep(1.0)
        if tick is not None:
            tick()
        pending = outbox_pending(platform, tenant, up_to=high_water)
    undelivered = [f"event {i} of loan {loan}: {error or 'pending'}" for i, loan, error in pending]

    loans = set(touched_loans(platform, tenant, since=since))
    checked = len(loans)
    differences: dict[str, list[str]] = {}
    client, registry_db = platform.mongo()
    try:
        while loans:
            snapshots = loan_snapshots(platform, tenant, loans)
            differences = {}
            for loan_id in list(loans):
                snap = snapshots.get(loan_id)
                if snap is None:
                    differences[loan_id] = ["loan not found in the tenant database"]
                    continue
                if not snap.loan.all_published:
                    differences[loan_id] = ["newest event not delivered yet"]
                    continue
                diffs = registry_differences(
                    snap.loan,
                    registry_account(registry_db, snap),
                    bucket_of=lambda dpd: arrears_bucket(days_past_due=dpd).value,
                )
                if diffs:
                    differences[loan_id] = diffs
                else:
                    loans.discard(loan_id)
            if not loans or time.monotonic() > deadline:
                break
            time.sleep(1.0)
            if tick is not None:
                tick()
    finally:
        client.close()
    return Convergence(
        converged=not loans and not undelivered,
        loans_checked=checked,
        outbox_undelivered=undelivered,
        differences={k: v for k, v in differences.items() if k in loans},
        waited_seconds=time.monotonic() - started,
    )


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)
