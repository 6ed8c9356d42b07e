"""``manage.py relay_credit_events [--once] [--batch N]``: publish the outbox to the shared registry.

``--once`` publishes everything pending and exits (status 1 if the registry failed, leaving the rest
pending for the next run); without it the relay loops, sleeping when idle and backing off exponentially
while the registry is down. A progress bar and a summary line either way.

Without ``--mongo-url`` each pass takes the process's registry from ``get_registry()``, so a password the
operator rotated (the URL in Vault KV) or a dynamic user whose lease ended is picked up: a refused login
makes the next pass log in afresh.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connections
from django.db.utils import InterfaceError, OperationalError
from tqdm import tqdm

from letsema_api.credit.registry_client import RegistryUnavailable, get_registry, login_refused
from letsema_api.outbox import relay
from letsema_api.registry import MongoCreditRegistry
from letsema_core.credit import CreditRegistry

# Indirection so tests can count the waits without patching the time module for everyone.
_sleep = time.sleep


def _registry(url: str | None, database: str | None, timeout_seconds: float) -> CreditRegistry:
    if url is None:
        return get_registry()
    import pymongo
    from django.conf import settings

    timeout_ms = max(1, int(timeout_seconds * 1000))
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(
        url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, connect=False, tz_aware=True
    )
    return MongoCreditRegistry.from_client(client, database=database or settings.LETSEMA.registry_db)


class Command(BaseCommand):  # type: ignore[misc]
    help = "Publish pending credit-registry events from the outbox (idempotent; never loses or doubles one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="publish what is pending, then exit")
        parser.add_argument("--batch", type=int, default=100, help="events per transaction (default 100)")
        parser.add_argument("--idle-seconds", type=float, default=2.0, help="sleep when nothing is pending")
        parser.add_argument("--max-backoff-seconds", type=float, default=60.0, help="longest wait after failures")
        parser.add_argument("--mongo-url", default=None, help="registry URL (default: LETSEMA_MONGO_URL)")
        parser.add_argument("--registry-db", default=None, help="registry database (default: LETSEMA_REGISTRY_DB)")
        parser.add_argument(
            "--timeout-seconds", type=float, default=3.0, help="server selection timeout with --mongo-url (default 3)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        fixed = (None if options["mongo_url"] is None
                 else _registry(options["mongo_url"], options["registry_db"], options["timeout_seconds"]))
        registry: Callable[[], CreditRegistry] = get_registry if fixed is None else (lambda: fixed)
        published = failures = 0
        last_error: str | None = None
        backoff = 1.0
        try:
            while True:
                try:
                    done, error = self._pass(registry, options)
                except (OperationalError, InterfaceError) as exc:
                    # The tenant database went away (a restart, a failover): nothing was marked published
                    # that the registry did not take, so wait and start the pass again on a new connection.
                    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    done, error = 0, f"database unavailable: {first_line}"
                    for conn in connections.all():
                        conn.close_if_unusable_or_obsolete()
                        conn.close()
                published += done
                if error is None:
                    backoff = 1.0
                    if options["once"]:
                        break
                    _sleep(options["idle_seconds"])
                    continue
                failures += 1
                last_error = error
                if options["once"]:
                    break
                what = "database" if error.startswith("database unavailable") else "registry"
                self.stderr.write(f"{what} unavailable, retrying in {backoff:.0f}s: {error}")
                _sleep(backoff)
                backoff = min(backoff * 2, options["max_backoff_seconds"])
        except KeyboardInterrupt:
            pass
        pending = relay.pending_count()
        summary = f"relay_credit_events: {published} events published, {pending} pending, {failures} failed passes"
        if last_error is not None and options["once"]:
            self.stdout.write(summary)
            raise CommandError(f"the registry failed; {pending} events left pending for the next run: {last_error}")
        self.stdout.write(summary)

    def _pass(self, registry_of: Callable[[], CreditRegistry], options: Any) -> tuple[int, str | None]:
        """Publish batches until nothing is pending or the registry fails."""
        # A long-running relay must not keep a connection past CONN_MAX_AGE: its Vault-issued login
        # expires with its lease, and a new connection fetches a fresh one.
        close_old_connections()
        published = 0
        total = relay.pending_count()
        if total == 0:
            return 0, None
        try:
            registry = registry_of()
        except RegistryUnavailable as exc:
            return 0, f"RegistryUnavailable: {exc.message}"
        with tqdm(total=total, unit="event", desc="relay", file=sys.stderr, disable=options["no_progress"]) as bar:
            while True:
                result = relay.relay_batch(registry=registry, batch_size=options["batch"])
                published += result.published
                bar.update(result.published)
                if result.failed:
                    if result.login_refused and options["mongo_url"] is None:
                        login_refused()  # the next pass logs in with the new password or a new user
                    return published, result.error
                if result.published == 0:
                    return published, None
