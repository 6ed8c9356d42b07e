"""The registry bootstrap's sharded path, checked by the exact commands it sends to a mongos.

``FakeMongos`` is a fake: no mongos (nor mongod) can run on this machine (see TOOL-NOTES.md), so it
records every command, answers ``hello`` as a mongos does (``msg: "isdbgrid"``), answers the ``config``
queries from its own state and applies the writes to that state, so a second run sees the first one's
work. The plain path runs against the real MongoDB-protocol server in
``tests/integration/test_mongo_registry.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest
from bson.max_key import MaxKey
from bson.min_key import MinKey
from letsema_api.registry.bootstrap import BootstrapError, ensure_registry, main
from letsema_api.registry.schema import INDEXES

pytestmark = pytest.mark.unit

DB = "letsema_registry"
NAMESPACES = [f"{DB}.credit_accounts", f"{DB}.inquiries", f"{DB}.disputes"]
SHARD_KEY = {"country": 1, "borrower_key": 1}
READS = {"hello", "find", "listIndexes"}


class FakeMongos:
    def __init__(self, *, mongos: bool = True, shards: tuple[str, ...] = ("rs0", "rs1")) -> None:
        self.mongos = mongos
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sharded: dict[str, dict[str, int]] = {}
        self.shard_tags: dict[str, list[str]] = {shard: [] for shard in shards}
        self.tags: list[dict[str, Any]] = []
        self.indexes: dict[str, dict[str, dict[str, int]]] = {}

    def command(self, database: str, sent: Mapping[str, Any]) -> Mapping[str, Any]:
        body = copy.deepcopy(dict(sent))
        self.calls.append((database, body))
        name = next(iter(body))
        if name == "hello":
            return {"isWritablePrimary": True, "ok": 1.0, **({"msg": "isdbgrid"} if self.mongos else {})}
        if name == "listIndexes":
            return self._cursor(
                [{"name": index, "key": key} for index, key in self.indexes.get(body["listIndexes"], {}).items()]
            )
        if name == "find":
            return self._cursor(self._find(database, body["find"], body["filter"]))
        if name == "createIndexes":
            for index in body["indexes"]:
                self.indexes.setdefault(body["createIndexes"], {})[index["name"]] = index["key"]
        elif name == "shardCollection":
            self.sharded[body["shardCollection"]] = body["key"]
        elif name == "addShardToZone":
            self.shard_tags[body["addShardToZone"]].append(body["zone"])
        elif name == "updateZoneKeyRange":
            self.tags.append(
                {"ns": body["updateZoneKeyRange"], "min": body["min"], "max": body["max"], "tag": body["zone"]}
            )
        return {"ok": 1.0}

    def _find(self, database: str, collection: str, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        assert database == "config"
        if collection == "collections":
            wanted = query["_id"]["$in"]
            return [{"_id": ns, "key": key} for ns, key in self.sharded.items() if ns in wanted]
        if collection == "shards":
            return [{"_id": shard, "host": f"{shard}/h:27018", "tags": tags} for shard, tags in self.shard_tags.items()]
        assert collection == "tags"
        return [tag for tag in self.tags if tag["ns"] in query["ns"]["$in"]]

    @staticmethod
    def _cursor(documents: list[dict[str, Any]]) -> dict[str, Any]:
        return {"cursor": {"id": 0, "firstBatch": copy.deepcopy(documents)}, "ok": 1.0}

    def writes(self) -> list[tuple[str, dict[str, Any]]]:
        return [(database, body) for database, body in self.calls if next(iter(body)) not in READS]


def zone_range(ns: str, country: str) -> tuple[str, dict[str, Any]]:
    return (
        "admin",
        {
            "updateZoneKeyRange": ns,
            "min": {"country": country, "borrower_key": MinKey()},
            "max": {"country": country, "borrower_key": MaxKey()},
            "zone": country,
        },
    )


INDEX_COMMANDS = [
    (
        DB,
        {
            "createIndexes": "credit_accounts",
            "indexes": [
                {
                    "key": {"country": 1, "borrower_key": 1, "lender_mfi": 1, "loan_ref": 1, "revision": -1},
                    "name": "borrower_accounts",
                    "unique": True,
                },
                {"key": {"lender_mfi": 1, "loan_ref": 1}, "name": "lender_loan"},
            ],
        },
    ),
    (
        DB,
        {
            "createIndexes": "inquiries",
            "indexes": [{"key": {"country": 1, "borrower_key": 1, "at": 1}, "name": "borrower_inquiries"}],
        },
    ),
    (
        DB,
        {
            "createIndexes": "disputes",
            "indexes": [{"key": {"country": 1, "borrower_key": 1, "opened_at": 1}, "name": "borrower_disputes"}],
        },
    ),
]


class TestEnsureRegistryOnAMongos:
    def test_first_run_sends_exactly_indexes_sharding_and_zones(self) -> None:
        mongos = FakeMongos()
        report = ensure_registry(mongos, zones={"rs0": ["LS"]})
        assert mongos.writes() == [
            *INDEX_COMMANDS,
            ("admin", {"enableSharding": DB}),
            *[("admin", {"shardCollection": ns, "key": SHARD_KEY}) for ns in NAMESPACES],
            ("admin", {"addShardToZone": "rs0", "zone": "LS"}),
            *[zone_range(ns, "LS") for ns in NAMESPACES],
        ]
        assert report.mode == "sharded"
        assert [(command.database, command.body) for command in report.commands] == mongos.writes()
        assert (report.skipped, report.warnings) == ([], [])

    def test_it_reads_the_cluster_state_before_writing(self) -> None:
        mongos = FakeMongos()
        ensure_registry(mongos, zones={"rs0": ["LS"]})
        reads = [(database, next(iter(body))) for database, body in mongos.calls[:7]]
        assert reads == [
            ("admin", "hello"),
            *[(DB, "listIndexes")] * 3,
            *[("config", "find")] * 3,
        ]
        assert all(next(iter(body)) not in READS for _, body in mongos.calls[7:])

    def test_shard_key_field_order_is_country_then_borrower_key(self) -> None:
        mongos = FakeMongos()
        ensure_registry(mongos)
        assert {ns: list(key) for ns, key in mongos.sharded.items()} == {
            ns: ["country", "borrower_key"] for ns in NAMESPACES
        }

    def test_second_run_only_repeats_the_idempotent_enable_sharding(self) -> None:
        mongos = FakeMongos()
        ensure_registry(mongos, zones={"rs0": ["LS"]})
        first_writes = len(mongos.writes())
        report = ensure_registry(mongos, zones={"rs0": ["LS"]})
        assert mongos.writes()[first_writes:] == [("admin", {"enableSharding": DB})]
        assert len(report.skipped) == len(INDEXES) + len(NAMESPACES) + 1 + len(NAMESPACES)
        assert f"{DB}.credit_accounts is sharded on {SHARD_KEY}" in report.skipped
        assert "shard rs0 is in zone LS" in report.skipped

    def test_dry_run_sends_only_reads_and_reports_what_it_would_send(self) -> None:
        mongos = FakeMongos()
        report = ensure_registry(mongos, zones={"rs0": ["LS"]}, dry_run=True)
        assert mongos.writes() == []
        assert len(report.commands) == len(INDEX_COMMANDS) + 1 + 3 + 1 + 3
        assert "would send 11 command(s)" in report.summary()
        assert '"updateZoneKeyRange": "letsema_registry.credit_accounts"' in report.summary()

    def test_each_country_gets_its_own_zone_ranges(self) -> None:
        mongos = FakeMongos()
        ensure_registry(mongos, countries=("LS", "ZA"), zones={"rs0": ["LS"], "rs1": ["ZA"]})
        zone_writes = [write for write in mongos.writes() if "updateZoneKeyRange" in write[1]]
        assert zone_writes == [zone_range(ns, "LS") for ns in NAMESPACES] + [zone_range(ns, "ZA") for ns in NAMESPACES]
        assert mongos.shard_tags == {"rs0": ["LS"], "rs1": ["ZA"]}

    def test_a_zone_already_on_a_shard_is_not_added_again_but_gets_its_ranges(self) -> None:
        mongos = FakeMongos()
        mongos.shard_tags["rs1"] = ["LS"]
        report = ensure_registry(mongos, zones={"rs1": ["LS"]})
        assert not any("addShardToZone" in body for _, body in mongos.writes())
        assert [w for w in mongos.writes() if "updateZoneKeyRange" in w[1]] == [
            zone_range(ns, "LS") for ns in NAMESPACES
        ]
        assert "shard rs1 is in zone LS" in report.skipped

    def test_a_country_whose_zone_has_no_shard_gets_no_range_and_a_warning(self) -> None:
        mongos = FakeMongos()
        report = ensure_registry(mongos)
        assert not any("updateZoneKeyRange" in body for _, body in mongos.writes())
        assert report.warnings == ["zone LS has no shard: no range set (pass --zone <shard>=LS)"]
        assert "WARNING: zone LS has no shard" in report.summary()

    def test_a_collection_sharded_on_another_key_is_refused_before_any_write(self) -> None:
        mongos = FakeMongos()
        mongos.sharded[f"{DB}.inquiries"] = {"borrower_key": "hashed"}  # type: ignore[dict-item]
        with pytest.raises(BootstrapError, match="reshard it by hand"):
            ensure_registry(mongos)
        assert mongos.writes() == []

    def test_an_unknown_shard_is_refused_before_any_write(self) -> None:
        mongos = FakeMongos()
        with pytest.raises(BootstrapError, match="shard 'rs9' is not in the cluster"):
            ensure_registry(mongos, zones={"rs9": ["LS"]})
        assert mongos.writes() == []

    def test_a_zone_that_is_not_a_country_is_refused_before_any_command(self) -> None:
        mongos = FakeMongos()
        with pytest.raises(ValueError, match="zones ZA are not among the countries LS"):
            ensure_registry(mongos, zones={"rs0": ["ZA"]})
        assert mongos.calls == []

    def test_an_index_with_the_same_name_and_another_key_is_refused(self) -> None:
        mongos = FakeMongos()
        mongos.indexes["inquiries"] = {"borrower_inquiries": {"borrower_key": 1}}
        with pytest.raises(BootstrapError, match="borrower_inquiries exists with key"):
            ensure_registry(mongos)
        assert mongos.writes() == []


class TestEnsureRegistryOnAPlainServer:
    def test_only_the_indexes_are_created_and_zones_are_ignored_with_a_warning(self) -> None:
        server = FakeMongos(mongos=False)
        report = ensure_registry(server, zones={"rs0": ["LS"]})
        assert server.writes() == INDEX_COMMANDS
        assert report.mode == "plain"
        assert report.warnings == ["zones are ignored: the server is not a mongos"]


class TestCommandLine:
    def test_a_zone_without_equals_sign_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exit_info:
            main(["--mongo-url", "mongodb://127.0.0.1:1/", "--zone", "rs0"])
        assert exit_info.value.code == 2
        assert "--zone takes SHARD=ZONE" in capsys.readouterr().err
