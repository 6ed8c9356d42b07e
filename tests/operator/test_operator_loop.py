"""kopf's real loop, in-process, against kmock (Kubernetes emulator) and a real OpenBao + PostgreSQL.

kmock runs no controllers, so the tests play CloudNativePG and Percona: they create the roles a CNPG
Cluster declares in the real PostgreSQL and mark the Cluster Ready, mark the PerconaServerMongoDB ready,
and mark the API Deployment Available. MongoDB users go to the in-memory RegistryAdmin fake (there is no
mongod here); everything Vault-side runs against the real OpenBao server.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import hvac.exceptions
import kmock
import kopf
import psycopg
import pytest
import yaml
from kmock._internal import parsing as kmock_parsing
from kubernetes import client as k8s_client
from kubernetes.config import kube_config
from letsema_operator.builders.vault import VaultMounts
from letsema_operator.clients.kube import KubeClient
from letsema_operator.clients.mongo import InMemoryRegistryAdmin
from letsema_operator.clients.vault import VaultClient
from letsema_operator.config import OperatorConfig
from letsema_operator.handlers.tenant import ROOT_ROTATED_ANNOTATION
from operator_support import REPO_ROOT, EmbeddedOperator, apply_cnpg_roles

pytestmark = [pytest.mark.operator, pytest.mark.timeout(120)]

VERBS = {"get", "list", "watch", "create", "update", "patch", "delete"}
TENANTS = "letsema.io/v1alpha1/microfinancetenants"
REGISTRIES = "letsema.io/v1alpha1/creditregistries"
CLUSTERS = "postgresql.cnpg.io/v1/clusters"
PSMDBS = "psmdb.percona.com/v1/perconaservermongodbs"
CUSTOM_RESOURCES = {
    TENANTS: ("MicrofinanceTenant", False, {"status"}),
    REGISTRIES: ("CreditRegistry", False, {"status"}),
    CLUSTERS: ("Cluster", True, {"status"}),
    "postgresql.cnpg.io/v1/scheduledbackups": ("ScheduledBackup", True, {"status"}),
    PSMDBS: ("PerconaServerMongoDB", True, {"status"}),
}
NAMESPACE = "letsema-khotso"
OBSERVE_INTERVAL = 0.5  # seconds; the operator reads it from its config at startup


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docs" / "examples" / name).read_text(encoding="utf-8"))
    return loaded


def stored(server: kmock.KubernetesEmulator, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
    key = (kmock.resource(resource), namespace, name)
    if key not in server.objects or server.objects[key].deleted:
        return None
    raw: dict[str, Any] = server.objects[key].raw
    return raw


def live_keys(server: kmock.KubernetesEmulator) -> list[tuple[str, str | None, str]]:
    return sorted((f"{res.group}/{res.version}/{res.plural}".lstrip("/"), ns, name)
                  for (res, ns, name), obj in server.objects.items() if not obj.deleted)


def versions(server: kmock.KubernetesEmulator) -> dict[tuple[str, str | None, str], int]:
    return {(f"{res.group}/{res.version}/{res.plural}".lstrip("/"), ns, name): len(obj.history)
            for (res, ns, name), obj in server.objects.items() if not obj.deleted}


async def eventually(check: Callable[[], Any], *, timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def condition(body: Mapping[str, Any] | None, type_: str) -> str | None:
    for item in ((body or {}).get("status") or {}).get("conditions") or []:
        if item["type"] == type_:
            return str(item["status"])
    return None


def posted_events(server: kmock.KubernetesEmulator) -> list[dict[str, Any]]:
    """Every Event the operator posted. Read from the requests: kopf names events by generateName, which
    kmock does not implement, so all but the first collide when stored."""
    return [request.data for request in list(server)  # iterating kmock yields the requests it served
            if request.resource is not None and request.resource.plural == "events"
            and request.method == "POST" and isinstance(request.data, dict)]


def vault_password_hash(pg: Any) -> str | None:
    rows = pg.execute("SELECT rolpassword FROM pg_authid WHERE rolname = 'vault'")
    return rows[0][0] if rows else None


@dataclass
class Platform:
    """The emulated cluster, the real services and the running operator."""

    server: kmock.KubernetesEmulator
    kube: KubeClient
    vault: VaultClient
    pg: Any
    registry_admin: InMemoryRegistryAdmin
    memo: kopf.Memo
    embedded: EmbeddedOperator | None = None

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # The Kubernetes client is synchronous; the emulator lives on this event loop.
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def start_operator(self) -> None:
        """kopf's real loop in its own thread (``operator_support.EmbeddedOperator``); kmock does not bump
        resourceVersion, so kopf's consistency wait is off."""
        if self.embedded is None:
            def settings(value: kopf.OperatorSettings) -> None:
                value.persistence.consistency_timeout = 0

            self.embedded = EmbeddedOperator(memo=self.memo, customize=settings)
        await self.embedded.start()

    async def stop_operator(self) -> None:
        assert self.embedded is not None
        await self.embedded.stop()

    @property
    def threads(self) -> list[threading.Thread]:
        return self.embedded.threads if self.embedded is not None else []

    def play_cnpg(self, namespace: str, name: str) -> bool:
        """What CNPG would do: create the declared roles and the database, then report Ready."""
        cluster = stored(self.server, CLUSTERS, namespace, name)
        if cluster is None:
            return False
        apply_cnpg_roles(self.pg, cluster, lambda name: stored(self.server, "v1/secrets", namespace, name))
        key = (kmock.resource(CLUSTERS), namespace, name)
        instances = cluster["spec"]["instances"]
        self.server.objects[key].patch({"status": {"instances": instances, "readyInstances": instances,
                                                   "phase": "Cluster in healthy state",
                                                   "conditions": [{"type": "Ready", "status": "True"}]}})
        return True

    def play_percona(self, namespace: str, name: str) -> bool:
        psmdb = stored(self.server, PSMDBS, namespace, name)
        if psmdb is None:
            return False
        self.server.objects[(kmock.resource(PSMDBS), namespace, name)].patch({"status": {"state": "ready"}})
        return True

    def play_deployment_controller(self, namespace: str, name: str) -> bool:
        key = (kmock.resource("apps/v1/deployments"), namespace, name)
        if stored(self.server, "apps/v1/deployments", namespace, name) is None:
            return False
        self.server.objects[key].patch({"status": {"conditions": [{"type": "Available", "status": "True"}]}})
        return True

    async def apply(self, body: dict[str, Any]) -> None:
        """Create through the API; kmock stores objects as given and sets none of what a real API server
        does, so the body carries a resourceVersion (kopf's JSON patches test it), a generation and a uid.

        The uid is what kopf keys its per-object memory on: without one every object shared the memory
        of the empty key, and a CreditRegistry event could swap the live body under a running tenant
        handler, which then failed permanently on "spec.tenantId: is required" (test_operator_harness.py)."""
        body = copy.deepcopy(body)
        body["metadata"]["resourceVersion"] = "1"
        body["metadata"]["generation"] = 1
        body["metadata"]["uid"] = str(uuid.uuid4())
        await self.call(self.kube.create, body)

    async def provision(self, tenant: dict[str, Any] | None = None) -> dict[str, Any]:
        """Apply both examples (or ``tenant``) and play the other controllers until the tenant is Ready."""
        await self.apply(example("credit-registry.yaml"))
        await eventually(lambda: self.play_percona("letsema-registry", "letsema-registry"), what="the PSMDB")
        await eventually(lambda: condition(stored(self.server, REGISTRIES, None, "letsema"), "Ready") == "True",
                         what="the registry Ready")
        await self.apply(tenant or example("tenant.yaml"))
        await eventually(lambda: self.play_cnpg(NAMESPACE, "khotso-db"), what="the CNPG Cluster")
        await eventually(lambda: self.play_deployment_controller(NAMESPACE, "letsema-api"), what="the API Deployment")
        return await eventually(lambda: self._ready_tenant(), timeout=45, what="the tenant Ready")

    def _ready_tenant(self) -> dict[str, Any] | None:
        """Ready, and kopf done with the handler: the observing timer can report Ready while the handler
        is still finishing, and a deletion then waits for it (slow on a loaded CI machine)."""
        tenant = stored(self.server, TENANTS, None, "khotso")
        if condition(tenant, "Ready") != "True":
            return None
        annotations = (tenant or {}).get("metadata", {}).get("annotations") or {}
        in_progress = [key for key in annotations if key.startswith("letsema.io/reconcile_tenant")]
        return None if in_progress else tenant


def _parse_path_with_namespace_objects(original: Callable[[str], Any]) -> Callable[[str], Any]:
    """kmock 0.8 reads /api/v1/namespaces[/NAME] as "inside namespace NAME" with no resource, so Namespace
    objects cannot be created or read. Route those paths to the ``namespaces`` resource itself."""

    def parse_path(path: str) -> Any:
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "namespaces"] and (
                len(parts) <= 4 or (len(parts) == 5 and parts[4] in ("status", "finalize"))):
            return kmock_parsing.ParsedPath("", "v1", "namespaces", None,
                                            parts[3] if len(parts) > 3 else None,
                                            parts[4] if len(parts) > 4 else None)
        return original(path)

    return parse_path


@pytest.fixture
async def platform(kmock: kmock.KubernetesEmulator, openbao: Any, operator_pg: Any,
                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Platform]:
    monkeypatch.setattr(kmock_parsing, "parse_path", _parse_path_with_namespace_objects(kmock_parsing.parse_path))
    kmock.resources.load_bundled()
    for resource, (kind, namespaced, subresources) in CUSTOM_RESOURCES.items():
        kmock.resources[resource] = kmock.ResourceInfo(kind=kind, namespaced=namespaced, verbs=VERBS,
                                                       subresources=subresources)
    server_url = str(kmock.url).rstrip("/")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kmock",
        "clusters": [{"name": "kmock", "cluster": {"server": server_url}}],
        "users": [{"name": "tester", "user": {"token": "kmock-does-not-check"}}],
        "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "tester"}}],
    }))
    # kopf logs in through the kubernetes client, which read $KUBECONFIG when it was imported.
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
    kube = KubeClient(k8s_client.ApiClient(k8s_client.Configuration(host=server_url)))
    vault = VaultClient(openbao.client(), VaultMounts())
    primary = operator_pg
    admin = InMemoryRegistryAdmin()
    config = OperatorConfig(
        vault_addr=openbao.url, vault_token=None, vault_kubernetes_role=None, pod_vault_addr=openbao.url,
        db_endpoint_override=f"127.0.0.1:{primary.port}:disable", retry_delay_seconds=0.5,
        ingress_namespace="ingress-nginx", vault_namespace="openbao", cnpg_namespace="cnpg-system",
        observe_interval_seconds=OBSERVE_INTERVAL)
    memo = kopf.Memo(config=config, kube=kube, vault=vault, registry_admin_factory=lambda spec, creds: admin)
    platform = Platform(server=kmock, kube=kube, vault=vault, pg=primary, registry_admin=admin, memo=memo)
    await platform.start_operator()
    try:
        yield platform
    finally:
        if platform.threads:
            await platform.stop_operator()
        _cleanup_vault(vault)
        _cleanup_postgres(primary)
        kube.close()


def _cleanup_vault(vault: VaultClient) -> None:
    """Leave OpenBao as the next test expects it (the server is shared by the session)."""
    from letsema_operator.builders.vault import build_vault_plan
    from letsema_operator.spec import parse_tenant_spec

    plan = build_vault_plan(spec=parse_tenant_spec(example("tenant.yaml")["spec"]))
    with contextlib.suppress(hvac.exceptions.VaultError):
        vault.remove_tenant(plan)


def _cleanup_postgres(pg: Any) -> None:
    pg.execute("DROP DATABASE IF EXISTS app WITH (FORCE)")
    for (name,) in pg.execute("SELECT rolname FROM pg_roles WHERE pg_has_role(rolname, 'letsema_app', 'member') "
                              "AND rolname NOT IN ('letsema_app', 'postgres')") if pg.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = 'letsema_app'") else []:
        pg.execute(psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(psycopg.sql.Identifier(name)))
    pg.execute("DROP ROLE IF EXISTS vault")
    pg.execute("DROP ROLE IF EXISTS letsema_app")


class TestProvisioning:
    async def test_example_tenant_becomes_ready_once_cnpg_reports_ready(self, platform: Platform) -> None:
        tenant = await platform.provision()

        assert tenant["status"]["phase"] == "Ready"
        assert {c["type"]: c["status"] for c in tenant["status"]["conditions"]} == {
            "NamespaceReady": "True", "DatabaseReady": "True", "SecretsReady": "True",
            "RegistryAccessReady": "True", "ApiAvailable": "True", "Ready": "True"}
        assert tenant["status"]["observedGeneration"] == tenant["metadata"].get("generation")
        assert ROOT_ROTATED_ANNOTATION in tenant["metadata"]["annotations"]
        assert tenant["metadata"]["finalizers"] == ["letsema.io/finalizer"]
        kinds = {(res, ns, name) for res, ns, name in live_keys(platform.server) if ns == NAMESPACE}
        for expected in [
            ("v1/resourcequotas", "letsema-quota"), ("v1/limitranges", "letsema-limits"),
            ("v1/serviceaccounts", "letsema-api"), ("networking.k8s.io/v1/networkpolicies", "default-deny"),
            ("postgresql.cnpg.io/v1/clusters", "khotso-db"), ("apps/v1/deployments", "letsema-api"),
            ("apps/v1/deployments", "letsema-relay"), ("v1/services", "letsema-api"),
            ("policy/v1/poddisruptionbudgets", "letsema-api"),
            ("autoscaling/v2/horizontalpodautoscalers", "letsema-api"),
            ("networking.k8s.io/v1/ingresses", "letsema-api"), ("batch/v1/cronjobs", "letsema-close-of-business"),
        ]:
            assert (expected[0], NAMESPACE, expected[1]) in kinds, expected
        assert any(res == "batch/v1/jobs" for res, _, _ in kinds)
        assert stored(platform.server, "v1/namespaces", None, NAMESPACE) is not None
        # The registry as the tenant API's adapter uses it: three collections, roles over each of them.
        assert platform.registry_admin.sharded == {
            f"letsema_registry.{name}": ("country", "borrower_key")
            for name in ("credit_accounts", "inquiries", "disputes")}
        roles = platform.registry_admin.roles["letsema_registry"]
        assert {p["resource"]["collection"] for p in roles["letsema_registry_rw"]} == {
            "credit_accounts", "inquiries", "disputes"}

    async def test_vault_owns_the_database_root_and_issues_working_credentials(self, platform: Platform) -> None:
        await platform.provision()
        # The bootstrap Secret is gone and CNPG no longer manages the vault role's password.
        assert stored(platform.server, "v1/secrets", NAMESPACE, "khotso-db-vault-bootstrap") is None
        cluster = stored(platform.server, CLUSTERS, NAMESPACE, "khotso-db")
        assert cluster is not None
        assert all("passwordSecret" not in role for role in cluster["spec"]["managed"]["roles"])
        creds = await platform.call(platform.vault.hvac.secrets.database.generate_credentials,
                                    name="letsema-khotso-app")
        conninfo = (f"host=127.0.0.1 port={platform.pg.port} dbname=app user={creds['data']['username']} "
                    f"password={creds['data']['password']}")
        with psycopg.connect(conninfo) as conn:
            assert conn.execute("SELECT pg_has_role(current_user, 'letsema_app', 'member')").fetchone() == (True,)
        kv = await platform.call(platform.vault.read_kv, "letsema/tenants/khotso/mongodb")
        assert kv["username"] == "letsema-khotso"
        assert kv["url"] == (f"mongodb://letsema-khotso:{quote(kv['password'], safe='')}@{kv['host']}"
                             "/letsema_registry?authSource=letsema_registry")
        assert platform.registry_admin.users[("letsema_registry", "letsema-khotso")] == (
            kv["password"], "letsema_registry_rw")


class TestMongoPasswordRotation:
    async def test_rotation_replaces_the_password_in_kv_and_in_mongodb(self, platform: Platform) -> None:
        from letsema_operator.handlers.tenant import ensure_registry_access, vault_plan
        from letsema_operator.spec import parse_tenant_spec

        await platform.provision()
        before = await platform.call(platform.vault.read_kv, "letsema/tenants/khotso/mongodb")
        spec = parse_tenant_spec(example("tenant.yaml")["spec"])
        plan = vault_plan(spec, platform.memo["config"], platform.vault)
        await platform.call(ensure_registry_access, platform.kube, platform.vault, plan, spec, platform.memo,
                            rotate=True)
        after = await platform.call(platform.vault.read_kv, "letsema/tenants/khotso/mongodb")
        assert after["password"] != before["password"]
        assert len(after["password"]) == 32  # the letsema-mongodb password policy
        assert platform.registry_admin.users[("letsema_registry", "letsema-khotso")][0] == after["password"]


class TestUpdates:
    async def test_changing_instances_patches_the_cnpg_cluster_and_nothing_else(self, platform: Platform) -> None:
        await platform.provision()
        await asyncio.sleep(1.0)  # let the first timer rounds settle
        before = versions(platform.server)
        await platform.call(platform.kube.patch, "letsema.io/v1alpha1", "MicrofinanceTenant", "khotso",
                            {"metadata": {"generation": 2}, "spec": {"postgres": {"instances": 5}}})
        await eventually(lambda: (stored(platform.server, CLUSTERS, NAMESPACE, "khotso-db") or {})
                         .get("spec", {}).get("instances") == 5, what="the Cluster to scale")
        await asyncio.sleep(1.0)
        after = versions(platform.server)
        changed = {key for key in after if after[key] != before.get(key)}
        ignored = {"letsema.io/v1alpha1/microfinancetenants", "letsema.io/v1alpha1/creditregistries", "v1/events",
                   "events.k8s.io/v1/events"}
        assert {key for key in changed if key[0] not in ignored} == {(CLUSTERS, NAMESPACE, "khotso-db")}


class TestRestart:
    async def test_a_crash_right_after_the_root_rotation_loses_nothing(
            self, platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
        """The operator dies after Vault rotated the root but before the rotation was recorded on the
        tenant. The next attempt must not write the (now wrong) bootstrap password back: it rotates again
        and Vault keeps issuing working credentials. The crash is a TemporaryError raised right after the
        real rotation (kopf retries at once, reading the annotations afresh from the API server)."""
        real_rotate = platform.vault.rotate_root
        rotations: list[str] = []

        def rotate_then_die(plan: Any) -> None:
            real_rotate(plan)
            rotations.append(plan.connection_name)
            if len(rotations) == 1:
                raise kopf.TemporaryError("operator killed right after rotate-root", delay=0.5)

        written: list[str | None] = []
        real_connection = platform.vault.ensure_database_connection

        def record_connection(plan: Any, *, bootstrap_password: str | None) -> None:
            written.append(bootstrap_password)
            real_connection(plan, bootstrap_password=bootstrap_password)

        monkeypatch.setattr(platform.vault, "rotate_root", rotate_then_die)
        monkeypatch.setattr(platform.vault, "ensure_database_connection", record_connection)
        tenant = await platform.provision()

        assert rotations == ["letsema-khotso", "letsema-khotso"]  # rotated again, once
        assert sum(password is not None for password in written) == 1  # the bootstrap password went in once
        assert "letsema.io/db-root-rotation-started-at" in tenant["metadata"]["annotations"]
        creds = await platform.call(platform.vault.hvac.secrets.database.generate_credentials,
                                    name="letsema-khotso-app")
        conninfo = (f"host=127.0.0.1 port={platform.pg.port} dbname=app user={creds['data']['username']} "
                    f"password={creds['data']['password']}")
        with psycopg.connect(conninfo) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)

    async def test_restart_creates_no_duplicates_and_never_rotates_the_root_again(self, platform: Platform) -> None:
        await platform.provision()
        objects_before = [key for key in live_keys(platform.server) if "events" not in key[0]]
        password_before = vault_password_hash(platform.pg)
        tenant_versions = len(platform.server.objects[(kmock.resource(TENANTS), None, "khotso")].history)
        await platform.stop_operator()

        await platform.start_operator()
        # The resume handler runs the whole ensure-sequence again and patches the tenant's status.
        await eventually(lambda: len(platform.server.objects[(kmock.resource(TENANTS), None, "khotso")].history)
                         > tenant_versions + 2, what="the resumed reconciliation")
        await asyncio.sleep(1.0)
        assert [key for key in live_keys(platform.server) if "events" not in key[0]] == objects_before
        assert vault_password_hash(platform.pg) == password_before
        creds = await platform.call(platform.vault.hvac.secrets.database.generate_credentials,
                                    name="letsema-khotso-app")
        assert creds["data"]["username"]


class RecordingRegistryUsers:
    """Stands in for HashiCorp Vault's MongoDB plugin, which no server here has: OpenBao ships without it
    and no MongoDB with users and roles runs here. Every other Vault call in these tests goes to the real
    OpenBao; the API's side of dynamic users is tested for real in
    tests/integration/test_api_registry_dynamic_users.py, and the plugin's request shapes by the builders'
    golden file."""

    def __init__(self, vault: VaultClient) -> None:
        self.vault = vault
        self.writes: list[tuple[Any, str, bool]] = []
        self.removed = 0
        self.configured = False

    def ensure(self, plan: Any, *, admin_password: str, rewrite: bool) -> None:
        self.writes.append((plan, admin_password, rewrite))
        self.configured = True

    def present(self, plan: Any) -> bool:
        return self.configured

    def remove(self, plan: Any) -> None:
        self.removed += 1
        self.configured = False


def vault_provider_tenant() -> dict[str, Any]:
    tenant = copy.deepcopy(example("tenant.yaml"))
    tenant["spec"]["secrets"]["provider"] = "vault"
    return tenant


async def create_registry_users_secret(platform: Platform, password: str) -> None:
    """The users Secret the Percona operator keeps (only the user administrator matters here)."""
    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": "letsema-registry-secrets", "namespace": "letsema-registry",
                           "resourceVersion": "1", "uid": str(uuid.uuid4())},
              "stringData": {"MONGODB_USER_ADMIN_USER": "userAdmin", "MONGODB_USER_ADMIN_PASSWORD": password}}
    if await platform.call(platform.kube.get, "v1", "Secret", "letsema-registry-secrets", "letsema-registry"):
        await platform.call(platform.kube.patch, "v1", "Secret", "letsema-registry-secrets",
                            {"stringData": secret["stringData"]}, "letsema-registry")
    else:
        await platform.call(platform.kube.create, secret)


class TestDynamicRegistryUsers:
    """``secrets.provider: vault``: the tenant's registry users come from Vault's MongoDB plugin."""

    @pytest.fixture
    def plugin(self, platform: Platform, monkeypatch: pytest.MonkeyPatch) -> RecordingRegistryUsers:
        recorder = RecordingRegistryUsers(platform.vault)
        monkeypatch.setattr(platform.vault, "ensure_registry_users", recorder.ensure)
        monkeypatch.setattr(platform.vault, "registry_users_configured", recorder.present)
        monkeypatch.setattr(platform.vault, "remove_registry_users", recorder.remove)
        return recorder

    async def test_the_tenant_is_ready_with_a_creds_path_in_kv_and_no_static_user(
            self, platform: Platform, plugin: RecordingRegistryUsers) -> None:
        await create_registry_users_secret(platform, "first-admin-password")
        tenant = await platform.provision(vault_provider_tenant())

        access = next(c for c in tenant["status"]["conditions"] if c["type"] == "RegistryAccessReady")
        assert access["message"] == "dynamic users from database/creds/letsema-khotso-registry"
        assert tenant["status"]["vault"]["registryRole"] == "letsema-khotso-registry"
        record = await platform.call(platform.vault.read_kv, "letsema/tenants/khotso/mongodb")
        assert record["mode"] == "dynamic"
        assert record["credentialsPath"] == "database/creds/letsema-khotso-registry"
        assert record["database"] == record["authSource"] == "letsema_registry"
        assert "password" not in record
        assert "url" not in record
        plan, password, rewrite = plugin.writes[0]
        assert (password, rewrite) == ("first-admin-password", True)
        assert plan.connection["username"] == "userAdmin"
        assert json.loads(plan.role["creation_statements"][0]) == {
            "db": "letsema_registry", "roles": [{"role": "letsema_registry_rw", "db": "letsema_registry"}]}
        assert platform.registry_admin.users == {}  # no static user, no password to rotate
        policy = await platform.call(platform.vault.hvac.sys.read_policy, name="letsema-khotso")
        assert 'path "database/creds/letsema-khotso-registry"' in policy["data"]["rules"]

    async def test_a_new_admin_password_rewrites_the_connection_once(
            self, platform: Platform, plugin: RecordingRegistryUsers) -> None:
        from letsema_operator.handlers.tenant import ensure_registry_access, vault_plan
        from letsema_operator.spec import parse_tenant_spec

        await create_registry_users_secret(platform, "first-admin-password")
        await platform.provision(vault_provider_tenant())
        spec = parse_tenant_spec(vault_provider_tenant()["spec"])
        plan = vault_plan(spec, platform.memo["config"], platform.vault)
        await platform.call(ensure_registry_access, platform.kube, platform.vault, plan, spec, platform.memo)
        assert plugin.writes[-1][1:] == ("first-admin-password", False)  # unchanged: the connection stays
        before = len(plugin.writes)
        await create_registry_users_secret(platform, "rotated-by-percona")
        await platform.call(ensure_registry_access, platform.kube, platform.vault, plan, spec, platform.memo)
        # The running operator may reconcile in between; whoever sees the new password first rewrites.
        new = [rewrite for _, password, rewrite in plugin.writes[before:] if password == "rotated-by-percona"]
        assert new[0] is True
        await platform.call(ensure_registry_access, platform.kube, platform.vault, plan, spec, platform.memo)
        assert plugin.writes[-1][1:] == ("rotated-by-percona", False)

    async def test_switching_from_openbao_drops_the_static_user(
            self, platform: Platform, plugin: RecordingRegistryUsers) -> None:
        from letsema_operator.handlers.tenant import ensure_registry_access, vault_plan
        from letsema_operator.spec import parse_tenant_spec

        await create_registry_users_secret(platform, "first-admin-password")
        await platform.provision()  # provider: openbao, a static user
        assert ("letsema_registry", "letsema-khotso") in platform.registry_admin.users
        spec = parse_tenant_spec(vault_provider_tenant()["spec"])
        plan = vault_plan(spec, platform.memo["config"], platform.vault)
        await platform.call(ensure_registry_access, platform.kube, platform.vault, plan, spec, platform.memo)
        assert ("letsema_registry", "letsema-khotso") not in platform.registry_admin.users
        record = await platform.call(platform.vault.read_kv, "letsema/tenants/khotso/mongodb")
        assert record["mode"] == "dynamic"

    async def test_delete_revokes_the_registry_leases_too(
            self, platform: Platform, plugin: RecordingRegistryUsers) -> None:
        await create_registry_users_secret(platform, "first-admin-password")
        await platform.provision(vault_provider_tenant())
        await platform.call(platform.kube.delete, "letsema.io/v1alpha1", "MicrofinanceTenant", "khotso")
        await eventually(lambda: stored(platform.server, TENANTS, None, "khotso") is None, timeout=30,
                         what="the finalizer to be released")
        assert plugin.removed >= 1
        assert await platform.call(platform.vault.read_kv, "letsema/tenants/khotso/mongodb") is None


class TestDeletion:
    async def test_delete_revokes_leases_removes_vault_objects_and_releases_the_finalizer(
            self, platform: Platform) -> None:
        await platform.provision()
        creds = await platform.call(platform.vault.hvac.secrets.database.generate_credentials,
                                    name="letsema-khotso-app")
        username = creds["data"]["username"]
        assert platform.pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (username,))

        await platform.call(platform.kube.delete, "letsema.io/v1alpha1", "MicrofinanceTenant", "khotso")
        await eventually(lambda: stored(platform.server, TENANTS, None, "khotso") is None, timeout=30,
                         what="the finalizer to be released")

        assert not platform.pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (username,))
        with pytest.raises(hvac.exceptions.InvalidPath):
            await platform.call(platform.vault.hvac.secrets.database.read_role, name="letsema-khotso-app")
        assert await platform.call(platform.vault.read_kv, "letsema/tenants/khotso/django") is None
        assert await platform.call(platform.vault.read_kv, "letsema/tenants/khotso/mongodb") is None
        assert ("letsema_registry", "letsema-khotso") not in platform.registry_admin.users
        assert stored(platform.server, "v1/namespaces", None, NAMESPACE) is None  # deletionPolicy: Delete


def test_example_files_parse_as_the_crd_expects() -> None:
    tenant = copy.deepcopy(example("tenant.yaml"))
    assert tenant["kind"] == "MicrofinanceTenant"
    assert example("credit-registry.yaml")["kind"] == "CreditRegistry"


class TestProblems:
    async def test_missing_registry_keeps_the_tenant_waiting_with_a_warning_event(self, platform: Platform) -> None:
        await platform.apply(example("tenant.yaml"))
        await eventually(lambda: platform.play_cnpg(NAMESPACE, "khotso-db"), what="the CNPG Cluster")

        def warning() -> list[dict[str, Any]]:
            return [event for event in posted_events(platform.server) if event.get("reason") == "RegistryNotReady"]

        events = await eventually(warning, what="a RegistryNotReady event")
        assert events[0]["type"] == "Warning"
        assert events[0]["involvedObject"]["name"] == "khotso"
        tenant = await eventually(lambda: (t := stored(platform.server, TENANTS, None, "khotso"))
                                  and condition(t, "RegistryAccessReady") == "False" and t, what="the condition")
        assert condition(tenant, "Ready") != "True"
        assert stored(platform.server, "apps/v1/deployments", NAMESPACE, "letsema-api") is None

    async def test_bad_spec_fails_permanently_and_creates_nothing(self, platform: Platform) -> None:
        bad = example("tenant.yaml")
        bad["metadata"]["name"] = "broken"
        bad["spec"]["tenantId"] = "Not_DNS_Safe"  # a real API server rejects this; kmock does not validate
        await platform.apply(bad)
        tenant = await eventually(lambda: (t := stored(platform.server, TENANTS, None, "broken"))
                                  and t.get("status", {}).get("phase") == "Invalid" and t, what="phase Invalid")
        assert tenant["status"].get("conditions") is None

        def permanent_failure() -> list[str]:
            return [str(event.get("message")) for event in posted_events(platform.server)
                    if event.get("type") == "Error" and "failed permanently" in str(event.get("message"))]

        messages = await eventually(permanent_failure, what="an Error event")
        assert "spec.tenantId: must match" in messages[0]
        assert not [key for key in live_keys(platform.server) if key[1] is not None and "events" not in key[0]]
