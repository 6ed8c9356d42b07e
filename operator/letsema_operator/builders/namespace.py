"""The tenant's namespace and its guard rails: quota, limits, network policies, service account."""

from __future__ import annotations

from typing import Any

from letsema_operator.builders.common import metadata
from letsema_operator.names import API_PORT, TenantNames
from letsema_operator.spec import MAX_POSTGRES_INSTANCES, TenantSpec

POSTGRES_PORT = 5432
CNPG_STATUS_PORT = 8000  # the CNPG instance manager's status endpoint, polled by the CNPG operator
VAULT_PORT = 8200
MONGOS_PORT = 27017


def build_namespace(*, spec: TenantSpec) -> dict[str, Any]:
    """The tenant's namespace, labelled for Pod Security "restricted" and for network policy selection."""
    names = TenantNames(spec.tenant_id)
    labels = {
        **names.labels,
        "letsema.io/country": spec.country,
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": metadata(names.namespace, labels=labels,
                                 annotations={"letsema.io/display-name": spec.display_name})}


def build_resource_quota(*, spec: TenantSpec) -> dict[str, Any]:
    """A quota sized for the API at its autoscaling ceiling plus the largest database the CRD allows, so
    that scaling PostgreSQL changes the CNPG Cluster only."""
    names = TenantNames(spec.tenant_id)
    pods = spec.api.max_replicas + MAX_POSTGRES_INSTANCES + 6  # relay, migration, close of business, spare
    return {
        "apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": metadata("letsema-quota", namespace=names.namespace, labels=names.labels),
        "spec": {"hard": {
            "pods": str(pods),
            "requests.cpu": str(2 * pods),
            "requests.memory": f"{2 * pods}Gi",
            "limits.memory": f"{4 * pods}Gi",
            "persistentvolumeclaims": str(2 * MAX_POSTGRES_INSTANCES + 2),
            "services.loadbalancers": "0",
            "services.nodeports": "0",
        }},
    }


def build_limit_range(*, spec: TenantSpec) -> dict[str, Any]:
    """Defaults for containers that state no resources, so the quota can admit them."""
    names = TenantNames(spec.tenant_id)
    return {
        "apiVersion": "v1", "kind": "LimitRange",
        "metadata": metadata("letsema-limits", namespace=names.namespace, labels=names.labels),
        "spec": {"limits": [{
            "type": "Container",
            "default": {"memory": "512Mi"},
            "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
            "max": {"memory": "8Gi"},
        }]},
    }


def build_service_account(*, spec: TenantSpec) -> dict[str, Any]:
    """The service account the tenant's pods run as; Vault's Kubernetes auth role is bound to it."""
    names = TenantNames(spec.tenant_id)
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": metadata(names.service_account, namespace=names.namespace, labels=names.labels),
            "automountServiceAccountToken": True}


def _policy(name: str, names: TenantNames, *, pod_selector: dict[str, Any], types: list[str],
            ingress: list[dict[str, Any]] | None = None, egress: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": pod_selector, "policyTypes": types}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": metadata(name, namespace=names.namespace, labels=names.labels), "spec": spec}


def _ns(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def build_network_policies(*, spec: TenantSpec, ingress_namespace: str = "ingress-nginx",
                           vault_namespace: str = "openbao", cnpg_namespace: str = "cnpg-system",
                           registry_namespace: str = "letsema-registry") -> list[dict[str, Any]]:
    """Default deny for every pod, then only the flows the tenant needs.

    Allowed: DNS; ingress controller -> API; app pods -> database, Vault, registry mongos;
    database pods <-> each other (replication), CNPG operator -> database status port,
    Vault -> database (dynamic users), database pods -> Kubernetes API (CNPG instance manager).
    """
    names = TenantNames(spec.tenant_id)
    app = {"matchLabels": {"letsema.io/component-group": "app"}}
    db = {"matchLabels": {"cnpg.io/cluster": names.db_cluster}}
    return [
        _policy("default-deny", names, pod_selector={}, types=["Ingress", "Egress"]),
        _policy("allow-dns", names, pod_selector={}, types=["Egress"], egress=[{
            "to": [{**_ns("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }]),
        _policy("allow-api-ingress", names, pod_selector={"matchLabels": {"app.kubernetes.io/name": names.api}},
                types=["Ingress"], ingress=[{"from": [_ns(ingress_namespace)], "ports": _tcp(API_PORT)}]),
        _policy("allow-app-egress", names, pod_selector=app, types=["Egress"], egress=[
            {"to": [{"podSelector": db}], "ports": _tcp(POSTGRES_PORT)},
            {"to": [_ns(vault_namespace)], "ports": _tcp(VAULT_PORT)},
            {"to": [_ns(registry_namespace)], "ports": _tcp(MONGOS_PORT)},
        ]),
        _policy("allow-database", names, pod_selector=db, types=["Ingress", "Egress"],
                ingress=[
                    {"from": [{"podSelector": app}, {"podSelector": db}, _ns(vault_namespace)],
                     "ports": _tcp(POSTGRES_PORT)},
                    {"from": [_ns(cnpg_namespace), {"podSelector": db}], "ports": _tcp(CNPG_STATUS_PORT)},
                ],
                egress=[
                    {"to": [{"podSelector": db}], "ports": _tcp(POSTGRES_PORT, CNPG_STATUS_PORT)},
                    # The instance manager talks to the Kubernetes API, whose address is not a pod.
                    {"ports": _tcp(443, 6443)},
                ]),
    ]
