"""Our CRDs: generated files in the chart, Kubernetes validity, samples for and against the schema,
CEL rules and the operator's own spec checks agreeing with the schema."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from letsema_operator.crds import build_registry_crd, build_tenant_crd, render_crd_files
from letsema_operator.spec import SpecError, parse_registry_spec, parse_tenant_spec
from operator_support import BASE_TENANT, FULL_TENANT, MINIMAL_TENANT, REGISTRY, REPO_ROOT, strict

pytestmark = pytest.mark.operator

CRD_DIR = REPO_ROOT / "charts" / "letsema-crds" / "templates"


def schema_of(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def errors(crd: dict[str, Any], spec: dict[str, Any], kind: str) -> list[str]:
    body = {"apiVersion": "letsema.io/v1alpha1", "kind": kind, "metadata": {"name": "x"}, "spec": spec}
    validator = jsonschema.Draft202012Validator(strict(schema_of(crd)))
    return [f"{'.'.join(str(p) for p in e.path)}: {e.message}" for e in validator.iter_errors(body)]


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docs" / "examples" / name).read_text(encoding="utf-8"))
    return loaded


def with_change(spec: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(spec)
    *parents, last = dotted.split(".")
    node = changed
    for part in parents:
        node = node.setdefault(part, {})
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return changed


DELETE = object()


class TestGeneratedFiles:
    def test_chart_holds_exactly_what_the_generator_renders(self) -> None:
        rendered = render_crd_files()
        on_disk = {path.name: path.read_text(encoding="utf-8") for path in CRD_DIR.glob("*.yaml")}
        assert on_disk == rendered, "run: python -m letsema_operator.crds charts/letsema-crds/templates"

    @pytest.mark.parametrize("crd", [build_tenant_crd(), build_registry_crd()], ids=["tenant", "registry"])
    def test_crd_is_a_valid_kubernetes_object_in_strict_mode(self, crd: dict[str, Any]) -> None:
        assert kubernetes_validate.validate(crd, "1.33.0", strict=True) == "1.33"

    @pytest.mark.parametrize("crd", [build_tenant_crd(), build_registry_crd()], ids=["tenant", "registry"])
    def test_crd_is_cluster_scoped_with_status_and_kept_on_uninstall(self, crd: dict[str, Any]) -> None:
        assert crd["spec"]["scope"] == "Cluster"
        assert crd["spec"]["versions"][0]["subresources"] == {"status": {}}
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"

    def test_tenant_has_short_name_and_printer_columns_for_phase_and_readiness(self) -> None:
        crd = build_tenant_crd()
        assert crd["spec"]["names"]["shortNames"] == ["mfi"]
        columns = {c["name"]: c["jsonPath"] for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]}
        assert columns["Phase"] == ".status.phase"
        assert columns["Ready"] == '.status.conditions[?(@.type=="Ready")].status'
        assert columns["Age"] == ".metadata.creationTimestamp"

    def test_every_spec_field_has_a_description_for_kubectl_explain(self) -> None:
        missing: list[str] = []

        def walk(node: dict[str, Any], path: str) -> None:
            for name, child in (node.get("properties") or {}).items():
                if "description" not in child:
                    missing.append(f"{path}.{name}")
                walk(child, f"{path}.{name}")
            if "items" in node:
                walk(node["items"], f"{path}[]")

        for crd in (build_tenant_crd(), build_registry_crd()):
            walk(schema_of(crd)["properties"]["spec"], crd["spec"]["names"]["kind"])
        assert missing == []


class TestCelRules:
    def test_tenant_id_is_immutable(self) -> None:
        tenant_id = schema_of(build_tenant_crd())["properties"]["spec"]["properties"]["tenantId"]
        rule = {"rule": "self == oldSelf", "message": "tenantId is immutable"}
        assert tenant_id["x-kubernetes-validations"] == [rule]

    def test_synchronous_replicas_rule_is_mirrored_by_the_operator(self) -> None:
        postgres = schema_of(build_tenant_crd())["properties"]["spec"]["properties"]["postgres"]
        assert postgres["x-kubernetes-validations"][0]["rule"] == (
            "!has(self.synchronousReplicas) || !has(self.instances) || self.synchronousReplicas < self.instances")
        bad = with_change(BASE_TENANT, "postgres.synchronousReplicas", 3)
        with pytest.raises(SpecError, match=r"synchronousReplicas: must be less than postgres\.instances"):
            parse_tenant_spec(bad)

    def test_max_replicas_rule_is_mirrored_by_the_operator(self) -> None:
        api = schema_of(build_tenant_crd())["properties"]["spec"]["properties"]["api"]
        assert api["x-kubernetes-validations"][0]["rule"] == "self.maxReplicas >= self.replicas"
        with pytest.raises(SpecError, match=r"api\.maxReplicas: must be at least api\.replicas"):
            parse_tenant_spec(with_change(BASE_TENANT, "api.maxReplicas", 1))

    def test_external_registry_needs_a_host(self) -> None:
        with pytest.raises(SpecError, match="externalHost: is required"):
            parse_registry_spec({"mongodb": {"mode": "External"}})


class TestTenantSamples:
    @pytest.mark.parametrize("spec", [BASE_TENANT, FULL_TENANT, MINIMAL_TENANT, example("tenant.yaml")["spec"]],
                             ids=["base", "full", "minimal", "docs-example"])
    def test_good_tenant_passes_the_schema_and_the_operator(self, spec: dict[str, Any]) -> None:
        assert errors(build_tenant_crd(), spec, "MicrofinanceTenant") == []
        assert parse_tenant_spec(spec).tenant_id == spec["tenantId"]

    @pytest.mark.parametrize(("field", "value", "message"), [
        ("tenantId", "Khotso_1", "spec.tenantId: 'Khotso_1' does not match"),
        ("tenantId", "a" * 33, "is too long"),
        ("country", "Lesotho", "spec.country: 'Lesotho' does not match '^[A-Z]{2}$'"),
        ("deletionPolicy", "Maybe", "spec.deletionPolicy: 'Maybe' is not one of ['Retain', 'Delete']"),
        ("postgres.instances", 0, "spec.postgres.instances: 0 is less than the minimum of 1"),
        ("postgres.instances", 10, "spec.postgres.instances: 10 is greater than the maximum of 9"),
        ("postgres.version", "12", "spec.postgres.version: '12' is not one of ['15', '16', '17']"),
        ("postgres.storage.size", "lots", "spec.postgres.storage.size: 'lots' does not match"),
        ("api.image", DELETE, "spec.api: 'image' is a required property"),
        ("api.host", "Not A Host", "spec.api.host: 'Not A Host' does not match"),
        ("registryAccess.access", "write", "spec.registryAccess.access: 'write' is not one of ['read', 'readWrite']"),
        ("secrets.provider", "aws", "spec.secrets.provider: 'aws' is not one of ['openbao', 'vault']"),
        ("secrets.credentialTTL", "1 hour", "spec.secrets.credentialTTL: '1 hour' does not match"),
        ("replicas", 3, "spec: Additional properties are not allowed ('replicas' was unexpected)"),
    ])
    def test_bad_tenant_fails_the_schema_with_the_right_message(self, field: str, value: Any, message: str) -> None:
        found = errors(build_tenant_crd(), with_change(BASE_TENANT, field, value), "MicrofinanceTenant")
        assert any(message in error for error in found), found

    @pytest.mark.parametrize(("field", "value", "message"), [
        ("tenantId", "Khotso_1", "spec.tenantId: must match"),
        ("deletionPolicy", "Maybe", "spec.deletionPolicy: must be one of Retain, Delete"),
        ("postgres.instances", 0, "spec.postgres.instances: must be between 1 and 9"),
        ("api.image", DELETE, "spec.api.image: is required"),
        ("registryAccess.access", "write", "spec.registryAccess.access: must be one of read, readWrite"),
        ("api.resources", {"requests": {"cpu": 0.5}}, "spec.api.resources.requests.cpu: must be a Kubernetes quantity"),
    ])
    def test_operator_rejects_the_same_bad_specs(self, field: str, value: Any, message: str) -> None:
        with pytest.raises(SpecError) as raised:
            parse_tenant_spec(with_change(BASE_TENANT, field, value))
        assert message in str(raised.value)


class TestDefaults:
    def test_operator_defaults_equal_the_crd_defaults(self) -> None:
        spec = schema_of(build_tenant_crd())["properties"]["spec"]["properties"]
        parsed = parse_tenant_spec(MINIMAL_TENANT | {"postgres": {}})
        assert parsed.country == spec["country"]["default"]
        assert parsed.deletion_policy == spec["deletionPolicy"]["default"]
        assert parsed.postgres.instances == spec["postgres"]["properties"]["instances"]["default"]
        # No schema default: the operator picks 1, or 0 for a single instance (a static 1 refused instances: 1).
        assert "default" not in spec["postgres"]["properties"]["synchronousReplicas"]
        assert parsed.postgres.synchronous_replicas == 1  # three instances by default
        assert parse_tenant_spec(MINIMAL_TENANT | {"postgres": {"instances": 1}}).postgres.synchronous_replicas == 0
        assert parsed.postgres.version == spec["postgres"]["properties"]["version"]["default"]
        storage = spec["postgres"]["properties"]["storage"]["properties"]
        assert parsed.postgres.storage_size == storage["size"]["default"]
        assert parsed.api.replicas == spec["api"]["properties"]["replicas"]["default"]
        assert parsed.api.max_replicas == spec["api"]["properties"]["maxReplicas"]["default"]
        assert parsed.registry.access == spec["registryAccess"]["properties"]["access"]["default"]
        assert parsed.secrets.provider == spec["secrets"]["properties"]["provider"]["default"]
        assert parsed.secrets.credential_ttl == spec["secrets"]["properties"]["credentialTTL"]["default"]
        assert parsed.close_of_business_schedule == spec["closeOfBusinessSchedule"]["default"]


class TestRegistrySamples:
    @pytest.mark.parametrize("spec", [REGISTRY, example("credit-registry.yaml")["spec"], {}],
                             ids=["sample", "docs-example", "empty"])
    def test_good_registry_passes_the_schema_and_the_operator(self, spec: dict[str, Any]) -> None:
        assert errors(build_registry_crd(), spec, "CreditRegistry") == []
        assert parse_registry_spec(spec).mongodb.shards >= 1

    @pytest.mark.parametrize(("field", "value", "message"), [
        ("mongodb.shards", 0, "spec.mongodb.shards: 0 is less than the minimum of 1"),
        ("mongodb.replicasPerShard", 1, "spec.mongodb.replicasPerShard: 1 is less than the minimum of 3"),
        ("mongodb.mode", "Shared", "spec.mongodb.mode: 'Shared' is not one of ['Managed', 'External']"),
        ("zones", [{"name": "ls", "country": "ls", "shards": ["rs0"]}], "spec.zones.0.country: 'ls' does not match"),
    ])
    def test_bad_registry_fails_the_schema_with_the_right_message(self, field: str, value: Any, message: str) -> None:
        found = errors(build_registry_crd(), with_change(REGISTRY, field, value), "CreditRegistry")
        assert any(message in error for error in found), found

    def test_zone_on_an_unknown_shard_is_rejected_by_the_operator(self) -> None:
        with pytest.raises(SpecError, match=r"zones\[0\]\.shards: unknown shard\(s\) rs9"):
            parse_registry_spec(with_change(REGISTRY, "zones", [{"name": "x", "country": "LS", "shards": ["rs9"]}]))
