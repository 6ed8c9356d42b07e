"""Pure builders: a parsed spec in, Kubernetes objects (plain dicts) or Vault desired state out. No I/O."""

from letsema_operator.builders.namespace import (
    build_limit_range,
    build_namespace,
    build_network_policies,
    build_resource_quota,
    build_service_account,
)
from letsema_operator.builders.postgres import build_cnpg_cluster, build_scheduled_backup, build_vault_bootstrap_secret
from letsema_operator.builders.registry import build_psmdb, build_registry_namespace, build_registry_roles
from letsema_operator.builders.vault import VaultTenantPlan, build_vault_plan
from letsema_operator.builders.workloads import (
    build_api_deployment,
    build_api_hpa,
    build_api_ingress,
    build_api_pdb,
    build_api_service,
    build_close_of_business_cronjob,
    build_migration_job,
    build_relay_deployment,
)

__all__ = [
    "VaultTenantPlan",
    "build_api_deployment",
    "build_api_hpa",
    "build_api_ingress",
    "build_api_pdb",
    "build_api_service",
    "build_close_of_business_cronjob",
    "build_cnpg_cluster",
    "build_limit_range",
    "build_migration_job",
    "build_namespace",
    "build_network_policies",
    "build_psmdb",
    "build_registry_namespace",
    "build_registry_roles",
    "build_relay_deployment",
    "build_resource_quota",
    "build_scheduled_backup",
    "build_service_account",
    "build_vault_bootstrap_secret",
    "build_vault_plan",
]
