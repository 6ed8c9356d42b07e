"""The CreditRegistry's defaults, example and roles agree with the tenant API's registry schema.

``letsema_api.registry.schema`` is the one definition the API's adapter and its bootstrap use; the
operator cannot import it at run time (its image has no Django app), so this test holds the two together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from letsema_api.registry import schema
from letsema_operator import crds
from letsema_operator.builders import build_registry_roles
from letsema_operator.spec import DEFAULT_COLLECTIONS, parse_registry_spec

pytestmark = pytest.mark.operator

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_KEY = tuple((field, "ascending") for field, direction in schema.SHARD_KEY if direction == 1)


def _collections(spec: Any) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    return [(c.name, tuple((f.field, f.kind) for f in c.key)) for c in spec.collections]


def _crd_spec_schema() -> dict[str, Any]:
    crd = crds.build_registry_crd()
    spec: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return spec


class TestRegistryDefaults:
    def test_default_collections_are_the_api_schemas_with_its_shard_key(self) -> None:
        assert len(SCHEMA_KEY) == len(schema.SHARD_KEY) == 2
        expected = [(name, SCHEMA_KEY) for name in schema.COLLECTIONS]
        assert _collections(parse_registry_spec({})) == expected
        assert [c.name for c in DEFAULT_COLLECTIONS] == ["credit_accounts", "inquiries", "disputes"]

    def test_default_database_is_the_api_schemas(self) -> None:
        assert parse_registry_spec({}).database == schema.DEFAULT_DATABASE
        assert _crd_spec_schema()["properties"]["database"]["default"] == schema.DEFAULT_DATABASE

    def test_crd_default_collections_parse_to_the_operator_defaults(self) -> None:
        default = _crd_spec_schema()["properties"]["collections"]["default"]
        assert _collections(parse_registry_spec({"collections": default})) == _collections(parse_registry_spec({}))

    def test_example_registry_shards_exactly_the_api_collections(self) -> None:
        example = yaml.safe_load((REPO_ROOT / "docs" / "examples" / "credit-registry.yaml").read_text())
        parsed = parse_registry_spec(example["spec"])
        assert parsed.database == schema.DEFAULT_DATABASE
        assert _collections(parsed) == [(name, SCHEMA_KEY) for name in schema.COLLECTIONS]


class TestRegistryRoles:
    def test_both_roles_cover_every_collection_of_the_api_schema_and_nothing_else(self) -> None:
        roles = build_registry_roles(spec=parse_registry_spec({}))
        assert set(roles) == {"letsema_registry_ro", "letsema_registry_rw"}
        for privileges in roles.values():
            resources = [p["resource"] for p in privileges]
            assert resources == [{"db": schema.DEFAULT_DATABASE, "collection": c} for c in schema.COLLECTIONS]

    def test_writers_find_insert_update_and_remove_in_every_collection(self) -> None:
        roles = build_registry_roles(spec=parse_registry_spec({}))
        for privilege in roles["letsema_registry_rw"]:
            assert sorted(privilege["actions"]) == ["find", "insert", "remove", "update"]

    def test_readers_only_find_and_record_their_inquiries(self) -> None:
        roles = build_registry_roles(spec=parse_registry_spec({}))
        actions = {p["resource"]["collection"]: sorted(p["actions"]) for p in roles["letsema_registry_ro"]}
        assert actions == {schema.ACCOUNTS: ["find"], schema.INQUIRIES: ["find", "insert"],
                           schema.DISPUTES: ["find"]}

    def test_roles_follow_a_custom_collection_list_and_database(self) -> None:
        spec = parse_registry_spec({"database": "reg", "collections": [
            {"name": "credit_accounts", "shardKey": [{"field": "country"}, {"field": "borrower_key"}]}]})
        roles = build_registry_roles(spec=spec)
        assert roles["letsema_registry_ro"] == [
            {"resource": {"db": "reg", "collection": "credit_accounts"}, "actions": ["find"]}]
