"""``letsema dev up|status|down|reset`` — the local platform's supervisor (no Docker)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from letsema_dev.procs import PortInUse
from letsema_dev.stack import TENANTS, Context, services, tenant_env


def _status_rows(ctx: Context) -> list[tuple[str, str, str, str]]:
    rows = []
    for svc in services(ctx):
        state = ("healthy" if svc.healthy() else "UNHEALTHY") if svc.running() or svc.healthy() else "stopped"
        log = svc.log()
        rows.append((svc.name, state, svc.address(), str(log) if log else "-"))
    return rows


def _print_table(rows: list[tuple[str, str, str, str]]) -> None:
    header = ("SERVICE", "STATE", "ADDRESS", "LOG")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for r in [header, *rows]:
        print("  ".join(col.ljust(widths[i]) for i, col in enumerate(r)).rstrip())


def _write_platform_file(ctx: Context) -> Path:
    """Addresses (never secrets) for tools and tests: ``.letsema/platform.json``."""
    info = {
        "postgres": {
            "primary": {"host": "127.0.0.1", "port": ctx.primary.port, "socket_dir": str(ctx.primary.socket_dir)},
            "replica": {"host": "127.0.0.1", "port": ctx.replica.port, "socket_dir": str(ctx.replica.socket_dir)},
        },
        "openbao": {"url": ctx.openbao.url, "init_file": str(ctx.openbao.init_file)},
        "mongodb": {"url": ctx.mongo_url},
        "tenants": [
            {
                "tenant_id": t.tenant_id,
                "display_name": t.display_name,
                "database": t.database,
                "db_role": t.db_role,
                "transit_key": t.transit_key,
            }
            for t in TENANTS
        ],
    }
    path = ctx.root / "platform.json"
    path.write_text(json.dumps(info, indent=2) + "\n")
    return path


def cmd_up(ctx: Context) -> int:
    ctx.root.mkdir(parents=True, exist_ok=True)
    for svc in services(ctx):
        print(f"starting {svc.name} …", flush=True)
        svc.start()
    ctx.save_ports()
    path = _write_platform_file(ctx)
    print()
    _print_table(_status_rows(ctx))
    print(f"\nstate: {ctx.root}\naddresses: {path}")
    print(f"OpenBao root token and unseal key (development only): {ctx.openbao.init_file}")
    creds = ctx.root / "demo-credentials.json"
    if creds.exists():
        print(f"demo users, passwords and OAuth clients per tenant (development only): {creds}")
        for tenant in TENANTS:
            port = ctx.ports["api-" + tenant.tenant_id]
            print(f"  {tenant.display_name}: API docs at http://127.0.0.1:{port}/api/docs/")
    print(f"PostgreSQL administration: psql 'host={ctx.primary.socket_dir} port={ctx.primary.port} user=postgres'")
    return 0


def cmd_status(ctx: Context) -> int:
    rows = _status_rows(ctx)
    _print_table(rows)
    return 0 if all(r[1] == "healthy" for r in rows) else 1


def cmd_down(ctx: Context) -> int:
    for svc in reversed(services(ctx)):
        if svc.running():
            print(f"stopping {svc.name} …", flush=True)
        svc.stop()
    print("stopped; data kept in", ctx.root)
    return 0


def cmd_manage(ctx: Context, tenant_id: str, args: list[str]) -> int:
    """Run ``django-admin <args>`` with the tenant's environment (its database, Vault login, registry)."""
    tenant = next(t for t in TENANTS if t.tenant_id == tenant_id)
    env = {**os.environ, **tenant_env(ctx, tenant)}
    return subprocess.call([sys.executable, "-m", "letsema_api", *(args or ["help"])], env=env)


def cmd_reset(ctx: Context, *, yes: bool) -> int:
    if not yes:
        print(
            f"this deletes every local database, secret and key under {ctx.root}; add --yes to confirm", file=sys.stderr
        )
        return 2
    cmd_down(ctx)
    shutil.rmtree(ctx.root, ignore_errors=True)
    print("removed", ctx.root)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="letsema", description="Letsema developer tools")
    sub = parser.add_subparsers(dest="group", required=True)
    dev = sub.add_parser("dev", help="the local platform (PostgreSQL primary + replica, OpenBao, MongoDB protocol)")
    dev_sub = dev.add_subparsers(dest="command", required=True)
    dev_sub.add_parser("up", help="start everything (initialising on first start); data survives restarts")
    dev_sub.add_parser("status", help="each process, its address, health and log file; exit 1 if any is unhealthy")
    dev_sub.add_parser("down", help="stop everything this supervisor started; data is kept")
    manage = dev_sub.add_parser(
        "manage", help="run a Django management command for one tenant, e.g. 'manage khotso close_of_business'"
    )
    manage.add_argument("tenant", choices=[t.tenant_id for t in TENANTS])
    manage.add_argument("args", nargs=argparse.REMAINDER, help="the command and its options")
    reset = dev_sub.add_parser("reset", help="stop and delete all local state")
    reset.add_argument("--yes", action="store_true", help="really delete")
    args = parser.parse_args(argv)
    ctx = Context.load()
    try:
        if args.command == "up":
            return cmd_up(ctx)
        if args.command == "status":
            return cmd_status(ctx)
        if args.command == "down":
            return cmd_down(ctx)
        if args.command == "manage":
            return cmd_manage(ctx, args.tenant, args.args)
        return cmd_reset(ctx, yes=args.yes)
    except PortInUse as exc:
        print(f"letsema: {exc}", file=sys.stderr)
        return 3
    except (TimeoutError, RuntimeError) as exc:
        print(f"letsema: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
