"""Registry bootstrap: indexes everywhere; behind a mongos, sharding on ``{country, borrower_key}`` and
zones by country. Idempotent: run it at every deployment.

On a plain server (a replica set, a standalone ``mongod``, FerretDB) it only runs ``createIndexes`` (a
no-op for indexes that exist). Connected to a mongos (``hello`` answers ``msg: "isdbgrid"``) it also:

1. reads ``config.collections``, ``config.shards`` and ``config.tags`` to see what is already done;
2. creates the indexes (each unique index starts with the shard key, see ``schema.py``);
3. ``enableSharding`` on the registry database (idempotent on the server side);
4. ``shardCollection`` with key ``{country: 1, borrower_key: 1}`` for each collection not yet sharded
   (one sharded on another key is an error: resharding is a decision for a person, not a bootstrap);
5. ``addShardToZone`` for each configured ``shard -> zones`` pair the shard does not have yet;
6. ``updateZoneKeyRange`` ``{country: C, borrower_key: MinKey}`` .. ``{country: C, borrower_key: MaxKey}``
   to zone ``C`` for each country and collection, unless that range exists. Zones are named by country
   code. A country whose zone has no shard gets no range (MongoDB refuses it) and the summary says so.

CLI: ``python -m letsema_api.registry.bootstrap --mongo-url URL [--database NAME] [--country LS]
[--zone rs0=LS] [--dry-run]``. ``--dry-run`` still reads the server's state (read-only) and prints the
commands it would send instead of sending them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from bson import json_util
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.son import SON
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError

from letsema_api.registry.schema import COLLECTIONS, DEFAULT_DATABASE, SHARD_KEY, indexes_of

MONGOS_MSG: Final = "isdbgrid"
NAMESPACE_NOT_FOUND: Final = 26


class CommandRunner(Protocol):
    """Runs one database command and returns the server's reply (``PymongoCommandRunner`` or a fake)."""

    def command(self, database: str, body: Mapping[str, Any]) -> Mapping[str, Any]: ...


class PymongoCommandRunner:
    """``CommandRunner`` on a pymongo client."""

    def __init__(self, client: MongoClient[Any]) -> None:
        self._client = client

    def command(self, database: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        return self._client[database].command(SON(list(body.items())))


class BootstrapError(RuntimeError):
    """The cluster is in a state the bootstrap must not change on its own (e.g. another shard key)."""


@dataclass(frozen=True)
class Command:
    """One command the bootstrap sends (or, in a dry run, would send)."""

    database: str
    body: dict[str, Any]

    @property
    def name(self) -> str:
        return next(iter(self.body))

    def to_json(self) -> str:
        return json_util.dumps({"db": self.database, **self.body})


@dataclass
class BootstrapReport:
    """What ``ensure_registry`` found and did."""

    mode: str  # "sharded" (mongos) or "plain"
    database: str
    dry_run: bool
    commands: list[Command] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would send" if self.dry_run else "sent"
        server = "mongos (sharded cluster)" if self.mode == "sharded" else "plain server (indexes only)"
        lines = [f"registry bootstrap of {self.database!r} on a {server}: {verb} {len(self.commands)} command(s)"]
        lines += [f"  {verb}: {command.to_json()}" for command in self.commands]
        lines += [f"  already done: {item}" for item in self.skipped]
        lines += [f"  WARNING: {item}" for item in self.warnings]
        return "\n".join(lines)


def _runner_of(target: MongoClient[Any] | Database[Any] | CommandRunner) -> CommandRunner:
    if isinstance(target, MongoClient):
        return PymongoCommandRunner(target)
    if isinstance(target, Database):
        return PymongoCommandRunner(target.client)
    return target


def _first_batch(runner: CommandRunner, database: str, body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    # Indexes and the config documents read here are a few per registry collection: one batch is all.
    reply = runner.command(database, body)
    return list(reply.get("cursor", {}).get("firstBatch", []))


def _find(collection: str, query: Mapping[str, Any]) -> dict[str, Any]:
    return {"find": collection, "filter": dict(query), "batchSize": 10_000, "singleBatch": True}


def _existing_indexes(runner: CommandRunner, database: str, collection: str) -> dict[str, dict[str, Any]]:
    try:
        batch = _first_batch(runner, database, {"listIndexes": collection})
    except OperationFailure as exc:
        if exc.code == NAMESPACE_NOT_FOUND:
            return {}
        raise
    return {doc["name"]: dict(doc["key"]) for doc in batch}


def _index_commands(runner: CommandRunner, report: BootstrapReport, database: str) -> list[Command]:
    # Only the missing indexes are sent: besides a clearer summary, FerretDB 1.24 drops the connection on a
    # createIndexes that names two or more indexes which all exist already (seen here).
    commands = []
    for name in COLLECTIONS:
        existing = _existing_indexes(runner, database, name)
        missing = []
        for index in indexes_of(name):
            key = existing.get(index.name)
            if key is None:
                missing.append(index.as_command_entry())
            elif list(key.items()) != list(index.keys):
                raise BootstrapError(f"index {database}.{name}.{index.name} exists with key {key}; drop it by hand")
            else:
                report.skipped.append(f"index {name}.{index.name} exists")
        if missing:
            commands.append(Command(database, {"createIndexes": name, "indexes": missing}))
    return commands


def _zone_range(country: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        {"country": country, "borrower_key": MinKey()},
        {"country": country, "borrower_key": MaxKey()},
    )


def ensure_registry(
    target: MongoClient[Any] | Database[Any] | CommandRunner,
    *,
    database: str = DEFAULT_DATABASE,
    countries: Sequence[str] = ("LS",),
    zones: Mapping[str, Sequence[str]] | None = None,
    dry_run: bool = False,
) -> BootstrapReport:
    """Create the registry's indexes and, on a mongos, shard it and set zones by country (idempotent).

    ``target``: a ``MongoClient``, a ``Database`` (its client is used) or any ``CommandRunner``.
    ``zones``: shard name -> zone names (country codes) to add it to, e.g. ``{"rs0": ["LS"]}``.
    With ``dry_run`` only the read-only ``hello`` and ``config`` queries are sent.
    Raises ``BootstrapError`` for a collection sharded on another key, ``ValueError`` for a zone that is
    not one of ``countries``.
    """
    runner = _runner_of(target)
    shard_zones = {shard: tuple(names) for shard, names in (zones or {}).items()}
    unknown = sorted({zone for names in shard_zones.values() for zone in names} - set(countries))
    if unknown:
        raise ValueError(f"zones {', '.join(unknown)} are not among the countries {', '.join(countries)}")
    hello = runner.command("admin", {"hello": 1})
    sharded = hello.get("msg") == MONGOS_MSG
    report = BootstrapReport(mode="sharded" if sharded else "plain", database=database, dry_run=dry_run)
    planned = _index_commands(runner, report, database)
    if sharded:
        planned += _sharding_commands(runner, report, database=database, countries=countries, shard_zones=shard_zones)
    elif shard_zones:
        report.warnings.append("zones are ignored: the server is not a mongos")
    for command in planned:
        if not dry_run:
            runner.command(command.database, command.body)
        report.commands.append(command)
    return report


def _sharding_commands(
    runner: CommandRunner,
    report: BootstrapReport,
    *,
    database: str,
    countries: Sequence[str],
    shard_zones: Mapping[str, tuple[str, ...]],
) -> list[Command]:
    namespaces = [f"{database}.{name}" for name in COLLECTIONS]
    shard_key = dict(SHARD_KEY)
    existing_keys = {
        doc["_id"]: dict(doc.get("key", {}))
        for doc in _first_batch(runner, "config", _find("collections", {"_id": {"$in": namespaces}}))
        if not doc.get("dropped", False)
    }
    shard_tags = {doc["_id"]: set(doc.get("tags", [])) for doc in _first_batch(runner, "config", _find("shards", {}))}
    existing_ranges = {
        (doc["ns"], doc["tag"], json_util.dumps(doc["min"]), json_util.dumps(doc["max"]))
        for doc in _first_batch(runner, "config", _find("tags", {"ns": {"$in": namespaces}}))
    }
    commands = [Command("admin", {"enableSharding": database})]
    for namespace in namespaces:
        key = existing_keys.get(namespace)
        if key is None:
            commands.append(Command("admin", {"shardCollection": namespace, "key": shard_key}))
        elif list(key.items()) != list(shard_key.items()):
            raise BootstrapError(f"{namespace} is sharded on {key}, not on {shard_key}; reshard it by hand")
        else:
            report.skipped.append(f"{namespace} is sharded on {shard_key}")
    for shard, names in sorted(shard_zones.items()):
        if shard not in shard_tags:
            raise BootstrapError(f"shard {shard!r} is not in the cluster (known: {', '.join(sorted(shard_tags))})")
        for zone in names:
            if zone in shard_tags[shard]:
                report.skipped.append(f"shard {shard} is in zone {zone}")
            else:
                commands.append(Command("admin", {"addShardToZone": shard, "zone": zone}))
                shard_tags[shard].add(zone)
    for country in countries:
        if not any(country in tags for tags in shard_tags.values()):
            report.warnings.append(f"zone {country} has no shard: no range set (pass --zone <shard>={country})")
            continue
        low, high = _zone_range(country)
        for namespace in namespaces:
            if (namespace, country, json_util.dumps(low), json_util.dumps(high)) in existing_ranges:
                report.skipped.append(f"{namespace} range of {country} is in zone {country}")
                continue
            commands.append(
                Command("admin", {"updateZoneKeyRange": namespace, "min": low, "max": high, "zone": country})
            )
    return commands


def _parse_zones(pairs: Sequence[str]) -> dict[str, list[str]]:
    zones: dict[str, list[str]] = {}
    for pair in pairs:
        shard, sep, zone = pair.partition("=")
        if not sep or not shard or not zone:
            raise argparse.ArgumentTypeError(f"--zone takes SHARD=ZONE, got {pair!r}")
        zones.setdefault(shard, []).append(zone)
    return zones


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m letsema_api.registry.bootstrap",
        description="Create the credit registry's indexes; on a mongos, shard it and set zones by country.",
    )
    parser.add_argument("--mongo-url", required=True, help="mongodb:// URL of the server or of a mongos")
    parser.add_argument("--database", default=DEFAULT_DATABASE, help=f"registry database (default {DEFAULT_DATABASE})")
    parser.add_argument("--country", action="append", dest="countries", help="country code (repeat; default LS)")
    parser.add_argument("--zone", action="append", default=[], metavar="SHARD=ZONE", help="add a shard to a zone")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the server (default 10)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands instead of sending them")
    args = parser.parse_args(argv)
    try:
        zones = _parse_zones(args.zone)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    client: MongoClient[Any] = MongoClient(args.mongo_url, serverSelectionTimeoutMS=int(args.timeout * 1000))
    try:
        report = ensure_registry(
            client,
            database=args.database,
            countries=tuple(args.countries or ("LS",)),
            zones=zones,
            dry_run=args.dry_run,
        )
    except (BootstrapError, ValueError) as exc:
        print(f"registry bootstrap refused: {exc}", file=sys.stderr)
        return 2
    except PyMongoError as exc:
        print(f"registry bootstrap failed talking to {args.mongo_url}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
