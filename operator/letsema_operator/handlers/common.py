"""Helpers shared by the handlers."""

from __future__ import annotations

import base64
import datetime
import logging
import re
from collections.abc import Mapping
from typing import Any

from letsema_operator.clients.kube import KubeClient
from letsema_operator.clients.mongo import RegistryAdmin
from letsema_operator.conditions import condition_status
from letsema_operator.spec import GROUP, VERSION, RegistrySpec, parse_registry_spec

API_VERSION = f"{GROUP}/{VERSION}"
Logger = logging.Logger | logging.LoggerAdapter[Any]


def utc_now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_duration(text: str) -> datetime.timedelta:
    match = re.fullmatch(r"([0-9]+)(s|m|h)", text)
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    amount, unit = int(match.group(1)), match.group(2)
    return datetime.timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours"}[unit]: amount})


def secret_values(secret: Mapping[str, Any] | None) -> dict[str, str]:
    """Decoded values of a Secret (``data`` is base64; ``stringData`` appears only on test servers)."""
    if not secret:
        return {}
    values = {key: base64.b64decode(value).decode() for key, value in (secret.get("data") or {}).items()}
    values.update({key: str(value) for key, value in (secret.get("stringData") or {}).items()})
    return values


def is_ready(body: Mapping[str, Any] | None) -> bool:
    return body is not None and condition_status((body.get("status") or {}).get("conditions"), "Ready") == "True"


def cnpg_cluster_ready(cluster: Mapping[str, Any] | None) -> bool:
    """CNPG reports readiness with a Ready condition and the count of ready instances."""
    if cluster is None:
        return False
    status = cluster.get("status") or {}
    return condition_status(status.get("conditions"), "Ready") == "True" and int(status.get("readyInstances", 0)) > 0


def registry_admin(memo: Mapping[str, Any], kube: KubeClient,
                   registry: Mapping[str, Any]) -> tuple[RegistrySpec, RegistryAdmin]:
    """The registry's spec and an admin client built from its Percona users Secret."""
    spec = parse_registry_spec(registry.get("spec") or {})
    return spec, memo["registry_admin_factory"](spec, registry_credentials(kube, spec))


def registry_credentials(kube: KubeClient, spec: RegistrySpec) -> dict[str, str]:
    """The Percona system users (``MONGODB_<ROLE>_USER``/``_PASSWORD``) from the registry's users Secret."""
    secret = kube.get("v1", "Secret", f"{spec.mongodb.name}-secrets", spec.mongodb.namespace)
    return secret_values(secret)
