"""The operator against a real Kubernetes API server (envtest style): etcd and kube-apiserver built from
their Go modules (``letsema_dev.services.kube``), our CRDs and the upstream CNPG and Percona CRDs
installed with ``kubectl``, the examples applied with ``kubectl``, kopf's real loop in-process and a real
OpenBao and PostgreSQL behind it.

No kubelet and no controllers run: the tests play CNPG, Percona and the Deployment controller by writing
the status those controllers would write (through the status subresource), as the kmock tests do. What
this tier adds to the kmock tier is the API server's own behaviour: structural schemas, defaults, CEL
rules, real resourceVersion/generation, finalizers, printer columns and ``kubectl explain``.

Behind the ``envtest`` marker, not part of ``make test`` (the first build of kube-apiserver takes long):
``make test-envtest`` builds the binaries once into .tools/bin and runs this file.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import kopf
import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes.config import kube_config
from letsema_operator.builders.vault import VaultMounts
from letsema_operator.clients.kube import KubeClient
from letsema_operator.clients.mongo import InMemoryRegistryAdmin
from letsema_operator.clients.vault import VaultClient
from letsema_operator.config import OperatorConfig
from operator_support import REPO_ROOT, SHARED_CRDS, EmbeddedOperator, apply_cnpg_roles

from letsema_dev.services.kube import ControlPlane, envtest_missing
from letsema_dev.testing import service_dir

pytestmark = pytest.mark.envtest

NAMESPACE = "letsema-khotso"
CNPG = "postgresql.cnpg.io/v1"
UPSTREAM_CRDS = ("postgresql.cnpg.io_clusters.yaml", "postgresql.cnpg.io_scheduledbackups.yaml",
                 "psmdb.percona.com_perconaservermongodbs.yaml")


@pytest.fixture
def control_plane() -> Iterator[ControlPlane]:
    """A fresh API server per test: without a namespace controller a deleted namespace never goes away."""
    missing = envtest_missing()
    if missing:
        pytest.fail(f"the envtest binaries {missing} are not built: run `make envtest-tools` (or `make test-envtest`)")
    with service_dir("envtest") as base:
        plane = ControlPlane(base_dir=base)
        try:
            plane.start()
            plane.kubectl("apply", "-f", str(REPO_ROOT / "charts" / "letsema-crds" / "templates"))
            for name in UPSTREAM_CRDS:  # too large for the last-applied annotation: server-side apply
                plane.kubectl("apply", "--server-side", "-f", str(SHARED_CRDS / name))
            wait_established(plane)
            yield plane
        finally:
            plane.stop()


def wait_established(plane: ControlPlane, timeout: float = 60) -> None:
    """Every CRD reports Established (``kubectl wait`` fails on a CRD that has no conditions yet)."""
    deadline = time.monotonic() + timeout
    while True:
        crds = kubectl_json(plane, "get", "crd")["items"]
        if len(crds) == 5 and all(any(c["type"] == "Established" and c["status"] == "True"
                                      for c in (crd.get("status") or {}).get("conditions") or [])
                                  for crd in crds):
            return
        assert time.monotonic() < deadline, "the CRDs did not become Established"
        time.sleep(0.2)


def kubectl_json(plane: ControlPlane, *args: str) -> Any:
    return json.loads(plane.kubectl(*args, "-o", "json").stdout)


async def eventually(check: Callable[[], Any], *, timeout: float = 60, what: str = "condition") -> Any:
    """Like test_operator_loop's, but ``check`` runs in a thread: here it makes blocking HTTP calls to a real
    API server (there it must run on the loop that serves kmock)."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        result = await asyncio.to_thread(check)
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.3)


@dataclass
class Envtest:
    plane: ControlPlane
    kube: KubeClient
    vault: VaultClient
    pg: Any
    registry_admin: InMemoryRegistryAdmin
    operator: EmbeddedOperator

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return self.kube.get(api_version, kind, name, namespace)

    def condition(self, name: str, type_: str) -> str | None:
        from test_operator_loop import condition

        return condition(self.get("letsema.io/v1alpha1", "MicrofinanceTenant", name), type_)

    def play_percona(self) -> bool:
        if self.get("psmdb.percona.com/v1", "PerconaServerMongoDB", "letsema-registry", "letsema-registry") is None:
            return False
        self.kube.patch("psmdb.percona.com/v1", "PerconaServerMongoDB", "letsema-registry",
                        {"status": {"state": "ready", "ready": 9, "size": 9}}, "letsema-registry",
                        subresource="status")
        return True

    def play_cnpg(self) -> bool:
        cluster = self.get(CNPG, "Cluster", "khotso-db", NAMESPACE)
        if cluster is None:
            return False
        apply_cnpg_roles(self.pg, cluster, lambda secret: self.get("v1", "Secret", secret, NAMESPACE))
        instances = cluster["spec"]["instances"]
        self.kube.patch(CNPG, "Cluster", "khotso-db", {"status": {
            "instances": instances, "readyInstances": instances, "phase": "Cluster in healthy state",
            "conditions": [{"type": "Ready", "status": "True", "reason": "ClusterIsReady", "message": "played",
                            "lastTransitionTime": "2026-11-27T00:00:00Z"}]}}, NAMESPACE, subresource="status")
        return True

    def play_deployment(self) -> bool:
        if self.get("apps/v1", "Deployment", "letsema-api", NAMESPACE) is None:
            return False
        self.kube.patch("apps/v1", "Deployment", "letsema-api", {"status": {"conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "played"}]}},
            NAMESPACE, subresource="status")
        return True

    def resource_versions(self) -> dict[str, str]:
        """resourceVersion of every object in the tenant's namespace (events aside), by kind/name."""
        kinds = "resourcequotas,limitranges,serviceaccounts,networkpolicies,services,deployments,jobs,cronjobs," \
                "poddisruptionbudgets,horizontalpodautoscalers,ingresses,clusters.postgresql.cnpg.io"
        listing = kubectl_json(self.plane, "get", kinds, "-n", NAMESPACE)
        return {f"{item['kind']}/{item['metadata']['name']}": item["metadata"]["resourceVersion"]
                for item in listing["items"]}


@pytest.fixture
async def envtest(control_plane: ControlPlane, openbao: Any, operator_pg: Any,
                  monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Envtest]:
    from test_operator_loop import _cleanup_postgres, _cleanup_vault

    # kopf logs in through the kubernetes client, which read $KUBECONFIG when it was imported.
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(control_plane.kubeconfig))
    configuration = k8s_client.Configuration()
    kube_config.load_kube_config(config_file=str(control_plane.kubeconfig), client_configuration=configuration)
    kube = KubeClient(k8s_client.ApiClient(configuration))
    vault = VaultClient(openbao.client(), VaultMounts())
    admin = InMemoryRegistryAdmin()
    config = OperatorConfig(
        vault_addr=openbao.url, vault_token=None, vault_kubernetes_role=None, pod_vault_addr=openbao.url,
        db_endpoint_override=f"127.0.0.1:{operator_pg.port}:disable", retry_delay_seconds=0.5,
        ingress_namespace="ingress-nginx", vault_namespace="openbao", cnpg_namespace="cnpg-system",
        observe_interval_seconds=1.0)
    memo = kopf.Memo(config=config, kube=kube, vault=vault, registry_admin_factory=lambda spec, creds: admin)
    operator = EmbeddedOperator(memo=memo)
    await operator.start()
    env = Envtest(plane=control_plane, kube=kube, vault=vault, pg=operator_pg, registry_admin=admin,
                  operator=operator)
    try:
        yield env
    finally:
        try:
            if operator.threads:
                await operator.stop()
        finally:
            for kind in ("microfinancetenants", "creditregistries"):  # nothing left for the next test
                control_plane.kubectl("delete", kind, "--all", "--wait=false", check=False)
                control_plane.kubectl("patch", kind, "khotso" if kind == "microfinancetenants" else "letsema",
                                      "--type=merge", "-p", '{"metadata":{"finalizers":null}}', check=False)
            _cleanup_vault(vault)
            _cleanup_postgres(operator_pg)
            kube.close()


async def provision(env: Envtest) -> None:
    env.plane.kubectl("apply", "-f", str(REPO_ROOT / "docs" / "examples" / "credit-registry.yaml"))
    await eventually(env.play_percona, what="the PerconaServerMongoDB")
    await eventually(lambda: (env.get("letsema.io/v1alpha1", "CreditRegistry", "letsema") or {}).get(
        "status", {}).get("phase") == "Ready", what="the CreditRegistry Ready")
    env.plane.kubectl("apply", "-f", str(REPO_ROOT / "docs" / "examples" / "tenant.yaml"))
    await eventually(env.play_cnpg, what="the CNPG Cluster")
    await eventually(env.play_deployment, what="the API Deployment")
    await eventually(lambda: env.condition("khotso", "Ready") == "True", timeout=90, what="the tenant Ready")


class TestAgainstARealApiServer:
    async def test_the_example_tenant_becomes_ready_and_kubectl_shows_it(self, envtest: Envtest) -> None:
        await provision(envtest)
        table = envtest.plane.kubectl("get", "mfi").stdout.splitlines()
        header = table[0].split()
        row = dict(zip(header, table[1].split(), strict=False))
        assert header[:5] == ["NAME", "TENANT", "PHASE", "READY", "INSTANCES"]
        assert (row["NAME"], row["TENANT"], row["PHASE"], row["READY"]) == ("khotso", "khotso", "Ready", "True")
        for kind, name in [("resourcequota", "letsema-quota"), ("limitrange", "letsema-limits"),
                           ("serviceaccount", "letsema-api"), ("networkpolicy", "default-deny"),
                           ("clusters.postgresql.cnpg.io", "khotso-db"), ("deployment", "letsema-api"),
                           ("deployment", "letsema-relay"), ("service", "letsema-api"),
                           ("poddisruptionbudget", "letsema-api"), ("horizontalpodautoscaler", "letsema-api"),
                           ("ingress", "letsema-api"), ("cronjob", "letsema-close-of-business")]:
            envtest.plane.kubectl("get", kind, name, "-n", NAMESPACE)  # raises if it does not exist
        assert kubectl_json(envtest.plane, "get", "jobs", "-n", NAMESPACE)["items"]
        tenant = kubectl_json(envtest.plane, "get", "mfi", "khotso")
        assert tenant["metadata"]["finalizers"] == ["letsema.io/finalizer"]
        assert tenant["status"]["observedGeneration"] == tenant["metadata"]["generation"]
        registry_table = envtest.plane.kubectl("get", "creditregistries").stdout
        assert "Ready" in registry_table

    async def test_changing_instances_updates_the_cnpg_cluster_and_nothing_else(self, envtest: Envtest) -> None:
        await provision(envtest)
        await eventually(lambda: envtest.get(CNPG, "Cluster", "khotso-db", NAMESPACE), what="the cluster")
        before = envtest.resource_versions()
        envtest.plane.kubectl("patch", "mfi", "khotso", "--type=merge", "-p", '{"spec":{"postgres":{"instances":5}}}')
        cluster = await eventually(
            lambda: (c := envtest.get(CNPG, "Cluster", "khotso-db", NAMESPACE)) and c["spec"]["instances"] == 5 and c,
            what="the CNPG Cluster with 5 instances")
        assert cluster["spec"]["instances"] == 5
        await eventually(lambda: (kubectl_json(envtest.plane, "get", "mfi", "khotso").get("status") or {}).get(
            "observedGeneration") == 2, what="the tenant to observe generation 2")
        after = envtest.resource_versions()
        changed = sorted(key for key in after if after[key] != before.get(key))
        assert changed == ["Cluster/khotso-db"]
        assert set(after) == set(before)

    async def test_deletion_revokes_vault_and_releases_the_finalizer(self, envtest: Envtest) -> None:
        import hvac.exceptions

        await provision(envtest)
        envtest.plane.kubectl("delete", "mfi", "khotso", "--wait=false")
        await eventually(lambda: envtest.get("letsema.io/v1alpha1", "MicrofinanceTenant", "khotso") is None,
                         what="the finalizer to be released")
        with pytest.raises(hvac.exceptions.InvalidPath):
            envtest.vault.hvac.secrets.database.read_role(name="letsema-khotso-app")
        namespace = envtest.get("v1", "Namespace", NAMESPACE)
        # deletionPolicy Delete: the namespace is being deleted (no namespace controller runs to finish it)
        assert namespace is not None
        assert namespace["metadata"].get("deletionTimestamp")


class TestTheApiServerEnforcesOurSchemas:
    """Validation by the real API server: structural schema, defaults and CEL rules (no operator needed)."""

    @staticmethod
    def _tenant(**spec: Any) -> str:
        body = yaml.safe_load((REPO_ROOT / "docs" / "examples" / "tenant.yaml").read_text())
        body["metadata"]["name"] = "schema-check"
        body["spec"].update(tenantId="schemacheck", **spec)
        return yaml.safe_dump(body)

    def test_a_cel_rule_refuses_max_replicas_below_replicas(self, control_plane: ControlPlane) -> None:
        result = control_plane.kubectl("apply", "--dry-run=server", "-f", "-", check=False,
                                       input_text=self._tenant(api={"image": "api:1", "replicas": 4,
                                                                    "maxReplicas": 2}))
        assert result.returncode != 0
        assert "maxReplicas must be at least replicas" in result.stderr

    def test_an_unknown_field_is_refused_and_defaults_are_filled_in(self, control_plane: ControlPlane) -> None:
        refused = control_plane.kubectl("apply", "--dry-run=server", "--validate=strict", "-f", "-", check=False,
                                        input_text=self._tenant(colour="blue"))
        assert refused.returncode != 0
        assert 'unknown field "spec.colour"' in refused.stderr
        accepted = control_plane.kubectl("apply", "--dry-run=server", "-o", "json", "-f", "-",
                                         input_text=self._tenant())
        spec = json.loads(accepted.stdout)["spec"]
        assert spec["secrets"]["provider"] in ("openbao", "vault")
        assert spec["suspend"] is False  # a default the API server filled in

    def test_a_single_instance_tenant_is_accepted(self, control_plane: ControlPlane) -> None:
        """A schema default of 1 synchronous replica once made the API server refuse ``instances: 1``."""
        accepted = control_plane.kubectl("apply", "--dry-run=server", "-o", "json", "-f", "-",
                                         input_text=self._tenant(postgres={"instances": 1}))
        postgres = json.loads(accepted.stdout)["spec"]["postgres"]
        assert postgres["instances"] == 1
        assert "synchronousReplicas" not in postgres  # the operator picks 0 for one instance
        refused = control_plane.kubectl("apply", "--dry-run=server", "-f", "-", check=False,
                                        input_text=self._tenant(postgres={"instances": 2, "synchronousReplicas": 2}))
        assert "synchronousReplicas must be less than instances" in refused.stderr

    def test_tenant_id_is_immutable(self, control_plane: ControlPlane) -> None:
        control_plane.kubectl("apply", "-f", "-", input_text=self._tenant())
        try:
            result = control_plane.kubectl("patch", "mfi", "schema-check", "--type=merge",
                                           "-p", '{"spec":{"tenantId":"other"}}', check=False)
            assert result.returncode != 0
            assert "tenantId is immutable" in result.stderr
        finally:
            control_plane.kubectl("delete", "mfi", "schema-check", "--wait=false", check=False)

    def test_kubectl_explain_reads_our_descriptions(self, control_plane: ControlPlane) -> None:
        out = control_plane.kubectl("explain", "microfinancetenant.spec.postgres.instances").stdout
        assert "instances" in out.lower()
        assert "DESCRIPTION" in out
