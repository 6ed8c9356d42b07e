"""The tenant's workloads: migration Job, API (Deployment, Service, PDB, HPA, Ingress), relay, close of business.

All run the tenant API image with different commands, as the one service account Vault trusts, and get
their credentials from Vault at run time: nothing secret appears in these objects. The environment is
the tenant API's own contract (``letsema_api.config.load_config``, docs/api.md), filled with the names
the operator configured in Vault (``VaultTenantPlan``), so the two cannot disagree.
"""

from __future__ import annotations

import hashlib
from typing import Any

from letsema_operator.builders.common import metadata, restricted_container_security, restricted_pod_security
from letsema_operator.builders.vault import PLATFORM_HMAC_KEY, VaultTenantPlan
from letsema_operator.names import API_PORT, APP_GROUP_ROLE, DATABASE_NAME, TenantNames
from letsema_operator.spec import TenantSpec

APP_GROUP_LABEL = {"letsema.io/component-group": "app"}
RELAY_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}
POSTGRES_PORT = "5432"
# Kubelet probes send the pod IP as Host, which Django's ALLOWED_HOSTS would refuse (400): they say
# "localhost" instead, and localhost is always allowed.
PROBE_HOST = "localhost"
# Management commands go through the API's own entry point: a start-up failure (missing variable, Vault
# unreachable) is one line and exit status 2, not a traceback.
MANAGE = ["python", "-m", "letsema_api"]
# close_of_business requires --as-of. Lesotho keeps South African Standard Time (UTC+2, no daylight
# saving): the POSIX TZ string gives the local date with any libc and without tzdata in the image.
CLOSE_OF_BUSINESS_SCRIPT = (
    'exec python -m letsema_api close_of_business --as-of "$(TZ=SAST-2 date +%Y-%m-%d)" --no-progress'
)


def _labels(names: TenantNames, component: str) -> dict[str, str]:
    return {**names.labels, **APP_GROUP_LABEL, "app.kubernetes.io/name": component}


def allowed_hosts(spec: TenantSpec) -> list[str]:
    """Host names the API answers to: the probes' ``localhost``, the in-cluster Service names, the
    public host."""
    names = TenantNames(spec.tenant_id)
    service = f"{names.api}.{names.namespace}"
    hosts = [PROBE_HOST, names.api, service, f"{service}.svc", f"{service}.svc.cluster.local"]
    if spec.api.host:
        hosts.append(spec.api.host)
    return hosts


def api_environment(*, spec: TenantSpec, vault_addr: str, vault_plan: VaultTenantPlan,
                    registry_database: str) -> dict[str, str]:
    """The tenant API's environment: every name is one ``letsema_api.config.load_config`` reads.

    ``LETSEMA_MONGO_URL`` is deliberately absent: it would carry the tenant's MongoDB password, which
    lives only in Vault KV ``<prefix>/mongodb`` (field ``url``); see docs/operator.md for the gap."""
    names = TenantNames(spec.tenant_id)
    values = {
        "LETSEMA_TENANT_ID": spec.tenant_id,
        "LETSEMA_TENANT_NAME": spec.display_name,
        "LETSEMA_DB_HOST": f"{names.db_rw_service}.{names.namespace}.svc",
        "LETSEMA_DB_PORT": POSTGRES_PORT,
        "LETSEMA_DB_NAME": DATABASE_NAME,
        "LETSEMA_DB_ROLE": APP_GROUP_ROLE,
    }
    # CNPG's -ro Service selects standbys only. Set even with one instance: the API then finds no healthy
    # replica and reads from the primary (never unready for it), and scaling PostgreSQL changes the CNPG
    # Cluster and nothing else (no rollout of the workloads).
    values["LETSEMA_DB_REPLICA_HOST"] = f"{names.db_ro_service}.{names.namespace}.svc"
    values["LETSEMA_DB_REPLICA_PORT"] = POSTGRES_PORT
    values.update({
        "VAULT_ADDR": vault_addr,
        "VAULT_K8S_ROLE": vault_plan.kubernetes_role_name,
        "VAULT_K8S_MOUNT": vault_plan.mounts.kubernetes_auth,
        "VAULT_DB_ROLE": vault_plan.role_name,
        "VAULT_TRANSIT_KEY": vault_plan.transit_key,
        "VAULT_HMAC_KEY": PLATFORM_HMAC_KEY,
        "VAULT_KV_MOUNT": vault_plan.mounts.kv,
        "VAULT_KV_PREFIX": vault_plan.kv_prefix,
        "LETSEMA_REGISTRY_DB": registry_database,
        "ALLOWED_HOSTS": ",".join(allowed_hosts(spec)),
    })
    return values


def _env(spec: TenantSpec, vault_addr: str, vault_plan: VaultTenantPlan,
         registry_database: str) -> list[dict[str, Any]]:
    values = api_environment(spec=spec, vault_addr=vault_addr, vault_plan=vault_plan,
                             registry_database=registry_database)
    return [{"name": key, "value": value} for key, value in values.items()]


def _pod_spec(spec: TenantSpec, *, component: str, command: list[str], vault_addr: str, vault_plan: VaultTenantPlan,
              registry_database: str, resources: dict[str, Any], restart_policy: str,
              port: bool = False) -> dict[str, Any]:
    names = TenantNames(spec.tenant_id)
    container: dict[str, Any] = {
        "name": component,
        "image": spec.api.image,
        "command": command,
        "env": _env(spec, vault_addr, vault_plan, registry_database),
        "resources": resources,
        "securityContext": restricted_container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - an emptyDir, not host /tmp
    }
    if port:
        container["ports"] = [{"name": "http", "containerPort": API_PORT, "protocol": "TCP"}]
        host = [{"name": "Host", "value": PROBE_HOST}]
        # Readiness asks the dependencies (database, Vault, registry); liveness only the process, so a
        # database outage takes pods out of the Service without restarting them all.
        container["readinessProbe"] = {"httpGet": {"path": "/readyz", "port": "http", "httpHeaders": host},
                                       "initialDelaySeconds": 5, "periodSeconds": 10, "timeoutSeconds": 5}
        container["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": "http", "httpHeaders": host},
                                      "initialDelaySeconds": 20, "periodSeconds": 10, "timeoutSeconds": 2,
                                      "failureThreshold": 6}
    return {
        "serviceAccountName": names.service_account,
        "restartPolicy": restart_policy,
        "securityContext": restricted_pod_security(),
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
    }


def build_migration_job(*, spec: TenantSpec, vault_addr: str, vault_plan: VaultTenantPlan,
                        registry_database: str) -> dict[str, Any]:
    """A Job that runs the API's migrations; named after the image, so a new image gets a new Job
    (Jobs are immutable) and the same image is never migrated twice."""
    names = TenantNames(spec.tenant_id)
    digest = hashlib.sha256(spec.api.image.encode()).hexdigest()[:10]
    labels = _labels(names, "letsema-migrate")
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": metadata(f"letsema-migrate-{digest}", namespace=names.namespace, labels=labels,
                             annotations={"letsema.io/image": spec.api.image}),
        "spec": {
            "backoffLimit": 6,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": labels},
                "spec": _pod_spec(spec, component="migrate", command=[*MANAGE, "migrate", "--noinput"],
                                  vault_addr=vault_addr, vault_plan=vault_plan, registry_database=registry_database,
                                  resources=RELAY_RESOURCES, restart_policy="OnFailure"),
            },
        },
    }


def build_api_deployment(*, spec: TenantSpec, vault_addr: str, vault_plan: VaultTenantPlan,
                        registry_database: str) -> dict[str, Any]:
    """The tenant API; zero replicas while the tenant is suspended."""
    names = TenantNames(spec.tenant_id)
    labels = _labels(names, names.api)
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": metadata(names.api, namespace=names.namespace, labels=labels),
        "spec": {
            "replicas": 0 if spec.suspend else spec.api.replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": names.api}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": _pod_spec(spec, component="api",
                                  command=["gunicorn", "letsema_api.wsgi:application",
                                           "--bind", f"0.0.0.0:{API_PORT}"],
                                  vault_addr=vault_addr, vault_plan=vault_plan, registry_database=registry_database,
                                  resources=spec.api.resources.as_dict(), restart_policy="Always", port=True),
            },
        },
    }


def build_api_service(*, spec: TenantSpec) -> dict[str, Any]:
    names = TenantNames(spec.tenant_id)
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": metadata(names.api, namespace=names.namespace, labels=_labels(names, names.api)),
            "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": names.api},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}


def build_api_pdb(*, spec: TenantSpec) -> dict[str, Any]:
    names = TenantNames(spec.tenant_id)
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": metadata(names.api, namespace=names.namespace, labels=_labels(names, names.api)),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": names.api}}}}


def build_api_hpa(*, spec: TenantSpec) -> dict[str, Any]:
    names = TenantNames(spec.tenant_id)
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(names.api, namespace=names.namespace, labels=_labels(names, names.api)),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": names.api},
            "minReplicas": spec.api.replicas,
            "maxReplicas": spec.api.max_replicas,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
        },
    }


def build_api_ingress(*, spec: TenantSpec) -> dict[str, Any] | None:
    """An Ingress for ``spec.api.host`` (TLS from a Secret named after the host), or None without a host."""
    if spec.api.host is None:
        return None
    names = TenantNames(spec.tenant_id)
    ingress_spec: dict[str, Any] = {
        "tls": [{"hosts": [spec.api.host], "secretName": f"{names.api}-tls"}],
        "rules": [{"host": spec.api.host, "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": names.api, "port": {"name": "http"}}}}]}}],
    }
    if spec.api.ingress_class_name:
        ingress_spec["ingressClassName"] = spec.api.ingress_class_name
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": metadata(names.api, namespace=names.namespace, labels=_labels(names, names.api)),
            "spec": ingress_spec}


def build_relay_deployment(*, spec: TenantSpec, vault_addr: str, vault_plan: VaultTenantPlan,
                        registry_database: str) -> dict[str, Any]:
    """The outbox relay: one replica, Recreate (two relays would only race for the same rows)."""
    names = TenantNames(spec.tenant_id)
    labels = _labels(names, names.relay)
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": metadata(names.relay, namespace=names.namespace, labels=labels),
        "spec": {
            "replicas": 0 if spec.suspend else 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": names.relay}},
            "strategy": {"type": "Recreate"},
            "template": {
                "metadata": {"labels": labels},
                "spec": _pod_spec(spec, component="relay", command=[*MANAGE, "relay_credit_events", "--no-progress"],
                                  vault_addr=vault_addr, vault_plan=vault_plan, registry_database=registry_database,
                                  resources=RELAY_RESOURCES, restart_policy="Always"),
            },
        },
    }


def build_close_of_business_cronjob(*, spec: TenantSpec, vault_addr: str, vault_plan: VaultTenantPlan,
                        registry_database: str) -> dict[str, Any]:
    """The daily close of business in Lesotho time; never two at once; suspended with the tenant."""
    names = TenantNames(spec.tenant_id)
    labels = _labels(names, names.close_of_business)
    return {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": metadata(names.close_of_business, namespace=names.namespace, labels=labels),
        "spec": {
            "schedule": spec.close_of_business_schedule,
            "timeZone": "Africa/Maseru",
            "concurrencyPolicy": "Forbid",
            "suspend": spec.suspend,
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 5,
            "jobTemplate": {"spec": {
                "backoffLimit": 3,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": _pod_spec(spec, component="close-of-business",
                                      command=["/bin/sh", "-c", CLOSE_OF_BUSINESS_SCRIPT],
                                      vault_addr=vault_addr, vault_plan=vault_plan, registry_database=registry_database,
                                      resources=RELAY_RESOURCES, restart_policy="OnFailure"),
                },
            }},
        },
    }
