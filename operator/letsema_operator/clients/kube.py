"""A small Kubernetes client over the official client's ApiClient: get, create, merge-patch, delete of any kind.

Reconciliation is "ensure": create what is missing, patch only what differs from the desired state, so an
unchanged spec produces no writes at all (and a changed field produces exactly one patch).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

logger = logging.getLogger(__name__)

# kind -> plural, namespaced; only the kinds the operator touches (mirrors the chart's ClusterRole).
KINDS: dict[str, tuple[str, bool]] = {
    "Namespace": ("namespaces", False),
    "ResourceQuota": ("resourcequotas", True),
    "LimitRange": ("limitranges", True),
    "ServiceAccount": ("serviceaccounts", True),
    "Secret": ("secrets", True),
    "Service": ("services", True),
    "NetworkPolicy": ("networkpolicies", True),
    "Ingress": ("ingresses", True),
    "Deployment": ("deployments", True),
    "Job": ("jobs", True),
    "CronJob": ("cronjobs", True),
    "PodDisruptionBudget": ("poddisruptionbudgets", True),
    "HorizontalPodAutoscaler": ("horizontalpodautoscalers", True),
    "Cluster": ("clusters", True),
    "ScheduledBackup": ("scheduledbackups", True),
    "PerconaServerMongoDB": ("perconaservermongodbs", True),
    "MicrofinanceTenant": ("microfinancetenants", False),
    "CreditRegistry": ("creditregistries", False),
}
CREATE_ONLY_KINDS = frozenset({"Job", "Secret"})  # immutable in practice: never patched once created


class KubeError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


@dataclass(frozen=True)
class EnsureResult:
    action: str  # "created" | "patched" | "unchanged"
    object: dict[str, Any]


def resource_path(api_version: str, kind: str, *, namespace: str | None = None, name: str | None = None,
                  subresource: str | None = None) -> str:
    plural, namespaced = KINDS[kind]
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    if namespaced:
        if namespace is None:
            raise ValueError(f"{kind} is namespaced: a namespace is needed")
        base += f"/namespaces/{namespace}"
    path = f"{base}/{plural}"
    if name is not None:
        path += f"/{name}"
    if subresource is not None:
        path += f"/{subresource}"
    return path


def is_subset(desired: Any, actual: Any) -> bool:
    """True when every field of ``desired`` has the same value in ``actual`` (lists compared whole)."""
    if isinstance(desired, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and is_subset(value, actual[key]) for key, value in desired.items())
    return bool(desired == actual)


class KubeClient:
    """Generic object access; 404 on get returns None, other errors raise KubeError."""

    def __init__(self, api_client: k8s_client.ApiClient) -> None:
        self._api = api_client

    @classmethod
    def from_environment(cls) -> KubeClient:
        """In-cluster service account if present, else the kubeconfig (``$KUBECONFIG``)."""
        try:
            k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
            configuration = k8s_client.Configuration.get_default_copy()
        except k8s_config.ConfigException:
            configuration = k8s_client.Configuration()
            k8s_config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return cls(k8s_client.ApiClient(configuration))

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]

    def _call(self, method: str, path: str, body: Any = None, content_type: str = "application/json",
              query: list[tuple[str, str]] | None = None) -> dict[str, Any] | None:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        params = self._api.param_serialize(method=method, resource_path=path, query_params=query or [],
                                           header_params=headers, body=body, auth_settings=["BearerToken"])
        response = self._api.call_api(*params, _request_timeout=30)
        response.read()  # type: ignore[no-untyped-call]
        text = response.data.decode("utf-8") if response.data else ""
        if response.status == 404 and method == "GET":
            return None
        if not 200 <= response.status < 300:
            raise KubeError(response.status, text[:500])
        parsed: dict[str, Any] = json.loads(text) if text else {}
        return parsed

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return self._call("GET", resource_path(api_version, kind, namespace=namespace, name=name))

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             label_selector: str | None = None) -> list[dict[str, Any]]:
        query = [("labelSelector", label_selector)] if label_selector else None
        result = self._call("GET", resource_path(api_version, kind, namespace=namespace), query=query) or {}
        items: list[dict[str, Any]] = result.get("items") or []
        return items

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        meta = body["metadata"]
        path = resource_path(body["apiVersion"], body["kind"], namespace=meta.get("namespace"))
        created = self._call("POST", path, dict(body))
        assert created is not None
        return created

    def patch(self, api_version: str, kind: str, name: str, patch: Mapping[str, Any],
              namespace: str | None = None, subresource: str | None = None) -> dict[str, Any]:
        path = resource_path(api_version, kind, namespace=namespace, name=name, subresource=subresource)
        patched = self._call("PATCH", path, dict(patch), content_type="application/merge-patch+json")
        assert patched is not None
        return patched

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete; False when it was already gone."""
        try:
            self._call("DELETE", resource_path(api_version, kind, namespace=namespace, name=name))
        except KubeError as error:
            if error.status == 404:
                return False
            raise
        return True

    def ensure(self, body: Mapping[str, Any]) -> EnsureResult:
        """Create ``body`` if absent; else merge-patch it only when some desired field differs.

        Lists are replaced whole by a merge patch (RFC 7386), so a list's desired value is authoritative.
        """
        meta = body["metadata"]
        actual = self.get(body["apiVersion"], body["kind"], meta["name"], meta.get("namespace"))
        if actual is None:
            logger.info("creating %s %s/%s", body["kind"], meta.get("namespace", ""), meta["name"])
            return EnsureResult("created", self.create(body))
        if body["kind"] in CREATE_ONLY_KINDS:
            return EnsureResult("unchanged", actual)
        desired = {key: value for key, value in body.items() if key not in ("apiVersion", "kind")}
        if is_subset(desired, actual):
            return EnsureResult("unchanged", actual)
        logger.info("patching %s %s/%s", body["kind"], meta.get("namespace", ""), meta["name"])
        patched = self.patch(body["apiVersion"], body["kind"], meta["name"], desired,
                             namespace=meta.get("namespace"))
        return EnsureResult("patched", patched)
