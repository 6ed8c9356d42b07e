"""Builders: golden output, Kubernetes schemas (strict), upstream CNPG/Percona CRD schemas (strict)."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from letsema_operator import builders
from letsema_operator.builders.vault import build_registry_plan, build_vault_plan
from letsema_operator.spec import parse_registry_spec, parse_tenant_spec
from operator_support import BASE_TENANT, FULL_TENANT, MINIMAL_TENANT, REGISTRY, strict, upstream_schema

pytestmark = pytest.mark.operator

GOLDEN_DIR = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("LETSEMA_REGENERATE_GOLDEN") == "1"
KUBERNETES_VERSION = "1.33.0"
VAULT_ADDR = "http://openbao.openbao.svc:8200"
REGISTRY_DATABASE = "letsema_registry"
SAMPLES = {"base": BASE_TENANT, "full": FULL_TENANT, "minimal": MINIMAL_TENANT}


def workload_arguments(spec: Any) -> dict[str, Any]:
    return {"spec": spec, "vault_addr": VAULT_ADDR, "vault_plan": build_vault_plan(spec=spec),
            "registry_database": REGISTRY_DATABASE}


def tenant_objects(raw: dict[str, Any], *, rotated: bool = False) -> list[dict[str, Any]]:
    spec = parse_tenant_spec(raw)
    workload_args = workload_arguments(spec)
    objects: list[dict[str, Any] | None] = [
        builders.build_namespace(spec=spec),
        builders.build_resource_quota(spec=spec),
        builders.build_limit_range(spec=spec),
        builders.build_service_account(spec=spec),
        *builders.build_network_policies(spec=spec),
        builders.build_vault_bootstrap_secret(spec=spec, password="not-a-real-password"),
        builders.build_cnpg_cluster(spec=spec, vault_password_secret=not rotated),
        builders.build_scheduled_backup(spec=spec),
        builders.build_migration_job(**workload_args),
        builders.build_api_deployment(**workload_args),
        builders.build_api_service(spec=spec),
        builders.build_api_pdb(spec=spec),
        builders.build_api_hpa(spec=spec),
        builders.build_api_ingress(spec=spec),
        builders.build_relay_deployment(**workload_args),
        builders.build_close_of_business_cronjob(**workload_args),
    ]
    return [obj for obj in objects if obj is not None]


def registry_objects() -> list[dict[str, Any]]:
    spec = parse_registry_spec(REGISTRY)
    return [builders.build_registry_namespace(registry_name="letsema", spec=spec),
            builders.build_psmdb(registry_name="letsema", spec=spec)]


def all_objects() -> list[dict[str, Any]]:
    objects = [obj for raw in SAMPLES.values() for obj in tenant_objects(raw)]
    objects += tenant_objects(BASE_TENANT, rotated=True)
    return objects + registry_objects()


def _id(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata'].get('namespace', '-')}/{obj['metadata']['name']}"


BUILT_IN = [obj for obj in all_objects() if "cnpg.io" not in obj["apiVersion"] and "percona" not in obj["apiVersion"]]
CNPG = [obj for obj in all_objects() if "cnpg.io" in obj["apiVersion"]]
PERCONA = [obj for obj in all_objects() if "percona" in obj["apiVersion"]]


class TestGoldenOutput:
    @pytest.mark.parametrize("sample", sorted(SAMPLES))
    def test_tenant_objects_match_the_golden_file(self, sample: str) -> None:
        rendered = yaml.safe_dump_all(tenant_objects(SAMPLES[sample]), sort_keys=True, width=120)
        plan = build_vault_plan(spec=parse_tenant_spec(SAMPLES[sample]))
        rendered += "---\n" + yaml.safe_dump({"vaultPlan": plan.__dict__ | {"mounts": plan.mounts.__dict__}},
                                             sort_keys=True, width=120)
        self._compare(f"tenant-{sample}.yaml", rendered)

    def test_registry_objects_match_the_golden_file(self) -> None:
        self._compare("registry.yaml", yaml.safe_dump_all(registry_objects(), sort_keys=True, width=120))

    @staticmethod
    def _compare(name: str, rendered: str) -> None:
        path = GOLDEN_DIR / name
        if REGENERATE:
            path.write_text(rendered, encoding="utf-8")
        assert path.is_file(), f"{path} is missing; run with LETSEMA_REGENERATE_GOLDEN=1 to create it"
        assert rendered == path.read_text(encoding="utf-8")


class TestBuiltInObjects:
    @pytest.mark.parametrize("obj", BUILT_IN, ids=_id)
    def test_object_is_valid_for_kubernetes_in_strict_mode(self, obj: dict[str, Any]) -> None:
        assert kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True) == "1.33"

    def test_strict_validation_rejects_an_unknown_field(self) -> None:
        deployment = next(obj for obj in BUILT_IN if obj["kind"] == "Deployment")
        broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
        with pytest.raises(kubernetes_validate.ValidationError, match="replica"):
            kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)

    def test_every_kind_the_operator_creates_is_covered(self) -> None:
        assert {obj["kind"] for obj in BUILT_IN} == {
            "Namespace", "ResourceQuota", "LimitRange", "ServiceAccount", "NetworkPolicy", "Secret", "Job",
            "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Ingress", "CronJob"}


@functools.cache
def _validator(filename: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(strict(upstream_schema(filename)))


def _validate(obj: dict[str, Any], filename: str) -> None:
    errors = sorted(_validator(filename).iter_errors(obj), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


class TestUpstreamCustomResources:
    @pytest.mark.parametrize("obj", CNPG, ids=_id)
    def test_cnpg_resource_is_valid_against_the_upstream_crd(self, obj: dict[str, Any]) -> None:
        filename = {"Cluster": "postgresql.cnpg.io_clusters.yaml",
                    "ScheduledBackup": "postgresql.cnpg.io_scheduledbackups.yaml"}[obj["kind"]]
        _validate(obj, filename)

    @pytest.mark.parametrize("obj", PERCONA, ids=_id)
    def test_percona_resource_is_valid_against_the_upstream_crd(self, obj: dict[str, Any]) -> None:
        _validate(obj, "psmdb.percona.com_perconaservermongodbs.yaml")

    def test_unknown_cnpg_field_is_rejected(self) -> None:
        cluster = next(obj for obj in CNPG if obj["kind"] == "Cluster")
        broken = {**cluster, "spec": {**cluster["spec"], "replicas": 3}}
        with pytest.raises(AssertionError, match="'replicas' was unexpected"):
            _validate(broken, "postgresql.cnpg.io_clusters.yaml")

    def test_both_kinds_of_cnpg_resource_are_covered(self) -> None:
        assert {obj["kind"] for obj in CNPG} == {"Cluster", "ScheduledBackup"}
        assert len(PERCONA) == 1


class TestCnpgCluster:
    def test_instances_and_synchronous_replicas_come_from_the_spec(self) -> None:
        cluster = builders.build_cnpg_cluster(spec=parse_tenant_spec(FULL_TENANT), vault_password_secret=True)
        assert cluster["spec"]["instances"] == 5
        assert cluster["spec"]["postgresql"]["synchronous"] == {"method": "any", "number": 2,
                                                                "dataDurability": "required"}
        assert cluster["spec"]["backup"] == {"volumeSnapshot": {"className": "csi-snapshots"}}

    def test_single_instance_has_no_synchronous_replication(self) -> None:
        cluster = builders.build_cnpg_cluster(spec=parse_tenant_spec(MINIMAL_TENANT), vault_password_secret=True)
        assert "synchronous" not in cluster["spec"]["postgresql"]
        assert "backup" not in cluster["spec"]

    def test_vault_role_loses_its_password_secret_after_rotation(self) -> None:
        spec = parse_tenant_spec(BASE_TENANT)
        before = builders.build_cnpg_cluster(spec=spec, vault_password_secret=True)["spec"]["managed"]["roles"]
        after = builders.build_cnpg_cluster(spec=spec, vault_password_secret=False)["spec"]["managed"]["roles"]
        assert before[1]["passwordSecret"] == {"name": "khotso-db-vault-bootstrap"}
        assert "passwordSecret" not in after[1]
        assert after[1]["name"] == "vault"
        assert after[1]["inRoles"] == ["letsema_app"]


class TestWorkloads:
    def test_suspended_tenant_runs_no_api_or_relay_and_pauses_close_of_business(self) -> None:
        spec = parse_tenant_spec({**BASE_TENANT, "suspend": True})
        args = workload_arguments(spec)
        assert builders.build_api_deployment(**args)["spec"]["replicas"] == 0
        assert builders.build_relay_deployment(**args)["spec"]["replicas"] == 0
        assert builders.build_close_of_business_cronjob(**args)["spec"]["suspend"] is True

    def test_migration_job_name_changes_with_the_image_only(self) -> None:
        def job_name(raw: dict[str, Any]) -> str:
            name: str = builders.build_migration_job(**workload_arguments(parse_tenant_spec(raw)))["metadata"]["name"]
            return name

        first = job_name(BASE_TENANT)
        same = job_name({**BASE_TENANT, "displayName": "X"})
        other = job_name({**BASE_TENANT, "api": {**BASE_TENANT["api"], "image": "ghcr.io/letsema/api:0.3.0"}})
        assert first == same
        assert first != other

    def test_no_host_means_no_ingress(self) -> None:
        assert builders.build_api_ingress(spec=parse_tenant_spec(BASE_TENANT)) is None
        ingress = builders.build_api_ingress(spec=parse_tenant_spec(FULL_TENANT))
        assert ingress is not None
        assert ingress["spec"]["rules"][0]["host"] == "lesedi.letsema.example"

    def test_no_workload_carries_a_secret_value(self) -> None:
        for obj in tenant_objects(BASE_TENANT):
            if obj["kind"] in ("Deployment", "Job", "CronJob"):
                text = yaml.safe_dump(obj).lower()
                assert "password" not in text
                assert "token" not in text


class TestNetworkPolicies:
    def test_default_deny_selects_every_pod_in_both_directions(self) -> None:
        policies = builders.build_network_policies(spec=parse_tenant_spec(BASE_TENANT))
        deny = next(p for p in policies if p["metadata"]["name"] == "default-deny")
        assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}

    def test_only_app_pods_and_vault_may_reach_postgres(self) -> None:
        policies = builders.build_network_policies(spec=parse_tenant_spec(BASE_TENANT), vault_namespace="vault")
        database = next(p for p in policies if p["metadata"]["name"] == "allow-database")
        sources = database["spec"]["ingress"][0]["from"]
        assert {"podSelector": {"matchLabels": {"letsema.io/component-group": "app"}}} in sources
        assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "vault"}}} in sources
        assert database["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 5432}]


class TestVaultPlan:
    def test_policy_grants_only_the_tenants_own_paths(self) -> None:
        plan = build_vault_plan(spec=parse_tenant_spec(BASE_TENANT))
        assert 'path "database/creds/letsema-khotso-app"' in plan.policy_hcl
        assert 'path "transit/hmac/letsema-borrower-key"' in plan.policy_hcl
        assert "lesedi" not in plan.policy_hcl
        assert "*" not in plan.policy_hcl.replace("khotso/*", "")

    def test_only_the_vault_provider_may_read_registry_users(self) -> None:
        openbao = build_vault_plan(spec=parse_tenant_spec(BASE_TENANT))
        vault = build_vault_plan(spec=parse_tenant_spec(BASE_TENANT | {
            "secrets": BASE_TENANT["secrets"] | {"provider": "vault"}}))
        assert "letsema-khotso-registry" not in openbao.policy_hcl
        assert not openbao.dynamic_registry_users
        assert 'path "database/creds/letsema-khotso-registry" {\n  capabilities = ["read"]\n}' in vault.policy_hcl
        assert vault.status()["registryRole"] == "letsema-khotso-registry"

    def test_registry_users_plan_matches_the_golden_file(self) -> None:
        """The MongoDB plugin's connection and role as Vault's HTTP API takes them (statements are JSON)."""
        spec = parse_tenant_spec(FULL_TENANT | {"secrets": {"provider": "vault", "credentialTTL": "15m",
                                                            "maxCredentialTTL": "2h"}})
        plan = build_registry_plan(spec=spec, host="letsema-registry-mongos.letsema-registry.svc:27017",
                                   database=REGISTRY_DATABASE, admin_user="userAdmin")
        rendered = yaml.safe_dump(plan.__dict__ | {"mounts": plan.mounts.__dict__,
                                                   "credentials_path": plan.credentials_path},
                                  sort_keys=True, width=120)
        TestGoldenOutput._compare("registry-users-plan.yaml", rendered)
        assert json.loads(plan.role["creation_statements"][0])["roles"][0]["role"] in (
            "letsema_registry_rw", "letsema_registry_ro")
        assert json.loads(plan.role["revocation_statements"][0]) == {"db": REGISTRY_DATABASE}
        assert "password" not in plan.connection  # sent when written, never part of the plan

    def test_read_access_gets_the_read_only_registry_role(self) -> None:
        raw = BASE_TENANT | {"secrets": BASE_TENANT["secrets"] | {"provider": "vault"},
                             "registryAccess": BASE_TENANT["registryAccess"] | {"access": "read"}}
        plan = build_registry_plan(spec=parse_tenant_spec(raw), host="h:27017", database="db", admin_user="u")
        assert json.loads(plan.role["creation_statements"][0]) == {
            "db": "db", "roles": [{"role": "letsema_registry_ro", "db": "db"}]}
        assert plan.kv_record["role"] == "letsema_registry_ro"

    def test_kubernetes_role_is_bound_to_the_tenant_service_account(self) -> None:
        plan = build_vault_plan(spec=parse_tenant_spec(BASE_TENANT))
        assert plan.kubernetes_role["bound_service_account_names"] == ["letsema-api"]
        assert plan.kubernetes_role["bound_service_account_namespaces"] == ["letsema-khotso"]
        assert plan.connection["connection_url"].startswith(
            "postgresql://{{username}}:{{password}}@khotso-db-rw.letsema-khotso.svc:5432/app")
