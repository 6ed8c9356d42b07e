"""The operator's workloads against the tenant API's own contract.

The API's configuration is ``letsema_api.config.load_config`` (docs/api.md); its commands are Django
management commands run through ``python -m letsema_api``; its probes are ``/healthz`` and ``/readyz``.
These tests read that contract from the API package itself, so a renamed variable or command on either
side fails here rather than in a cluster.
"""

from __future__ import annotations

import ast
import datetime
import re
import shlex
import stat
import subprocess
import zoneinfo
from pathlib import Path
from typing import Any

import django
import letsema_api
import letsema_api.config
import pytest
from letsema_operator import builders
from letsema_operator.builders.postgres import build_cnpg_cluster
from letsema_operator.builders.vault import PLATFORM_HMAC_KEY, build_vault_plan
from letsema_operator.builders.workloads import CLOSE_OF_BUSINESS_SCRIPT
from letsema_operator.spec import parse_tenant_spec
from operator_support import BASE_TENANT, FULL_TENANT, MINIMAL_TENANT

pytestmark = pytest.mark.operator

API_PACKAGE = Path(letsema_api.__file__).parent
DJANGO_COMMANDS = Path(django.__file__).parent / "core" / "management" / "commands"
VAULT_ADDR = "http://openbao.openbao.svc:8200"
SAMPLES = {"base": BASE_TENANT, "full": FULL_TENANT, "minimal": MINIMAL_TENANT}


def _names_read_by_load_config() -> tuple[set[str], set[str]]:
    """(every variable the configuration module reads, the ones ``load_config`` requires), from its source."""
    tree = ast.parse(Path(letsema_api.config.__file__).read_text())
    read: set[str] = set()
    required: set[str] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "env"
                and node.args and isinstance(node.args[0], ast.Constant)):
            read.add(str(node.args[0].value))
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "env"
                and isinstance(node.slice, ast.Constant)):
            read.add(str(node.slice.value))
        if isinstance(node, ast.comprehension) and isinstance(node.iter, ast.Tuple):
            # missing = [name for name in ("LETSEMA_TENANT_ID", ...) if not env.get(name)]
            required |= {str(e.value) for e in node.iter.elts if isinstance(e, ast.Constant)}
    return read, required


KNOWN, REQUIRED = _names_read_by_load_config()


def _workloads(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = parse_tenant_spec(raw)
    args = {"spec": spec, "vault_addr": VAULT_ADDR, "vault_plan": build_vault_plan(spec=spec),
            "registry_database": "letsema_registry"}
    cronjob = builders.build_close_of_business_cronjob(**args)
    return {
        "migrate": builders.build_migration_job(**args)["spec"]["template"]["spec"]["containers"][0],
        "api": builders.build_api_deployment(**args)["spec"]["template"]["spec"]["containers"][0],
        "relay": builders.build_relay_deployment(**args)["spec"]["template"]["spec"]["containers"][0],
        "close-of-business": cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0],
    }


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container["env"]}


def _management_command(container: dict[str, Any]) -> list[str]:
    """The argv after ``python -m letsema_api`` (through the CronJob's ``sh -c`` too)."""
    command = container["command"]
    if command[:2] == ["/bin/sh", "-c"]:
        command = shlex.split(command[2].removeprefix("exec "))
    assert command[:3] == ["python", "-m", "letsema_api"], command
    return list(command[3:])


def _command_source(name: str) -> str:
    """The source of a Django management command the API image has (its own apps or Django's)."""
    found = sorted(API_PACKAGE.glob(f"*/management/commands/{name}.py")) + sorted(
        DJANGO_COMMANDS.glob(f"{name}.py"))
    assert found, f"no management command {name!r} in letsema_api or Django"
    return found[0].read_text()


class TestTheParserOfTheApiConfiguration:
    def test_finds_the_variables_docs_api_md_lists(self) -> None:
        # Guards the AST reading above: if it found nothing the comparisons below could not fail.
        assert {"LETSEMA_TENANT_ID", "LETSEMA_DB_HOST", "VAULT_ADDR", "VAULT_K8S_ROLE", "VAULT_KV_PREFIX",
                "LETSEMA_MONGO_URL", "ALLOWED_HOSTS"} <= KNOWN
        assert {"LETSEMA_TENANT_ID", "LETSEMA_DB_HOST", "VAULT_ADDR"} == REQUIRED


@pytest.mark.parametrize("sample", sorted(SAMPLES))
class TestWorkloadEnvironment:
    def test_sets_only_variables_the_api_reads(self, sample: str) -> None:
        for component, container in _workloads(SAMPLES[sample]).items():
            unknown = set(_env(container)) - KNOWN
            assert not unknown, f"{component} sets variables load_config does not read: {sorted(unknown)}"

    def test_sets_every_required_variable(self, sample: str) -> None:
        for component, container in _workloads(SAMPLES[sample]).items():
            missing = REQUIRED - set(_env(container))
            assert not missing, f"{component} misses required variables: {sorted(missing)}"

    def test_loads_into_the_names_the_operator_configured_in_vault_and_cnpg(self, sample: str) -> None:
        spec = parse_tenant_spec(SAMPLES[sample])
        plan = build_vault_plan(spec=spec)
        cluster = build_cnpg_cluster(spec=spec, vault_password_secret=False)["spec"]
        config = letsema_api.config.load_config(_env(_workloads(SAMPLES[sample])["api"]))
        assert config.tenant_id == spec.tenant_id
        assert config.tenant_name == spec.display_name
        assert config.db_host == f"{spec.tenant_id}-db-rw.letsema-{spec.tenant_id}.svc"
        assert config.db_name == cluster["bootstrap"]["initdb"]["database"]
        assert config.db_group_role == cluster["bootstrap"]["initdb"]["owner"]
        assert config.vault_addr == VAULT_ADDR
        assert config.vault_auth.method == "kubernetes"
        assert config.vault_auth.kubernetes_role == plan.kubernetes_role_name
        assert config.vault_auth.kubernetes_mount == plan.mounts.kubernetes_auth
        assert config.vault_db_role == plan.role_name
        assert config.vault_transit_key == plan.transit_key
        assert config.vault_hmac_key == PLATFORM_HMAC_KEY
        assert config.vault_kv_mount == plan.mounts.kv
        assert f"{config.vault_kv_prefix}/django" == plan.kv_django_path
        assert f"{config.vault_kv_prefix}/webhooks" == plan.kv_webhooks_path
        assert config.registry_db == "letsema_registry"
        assert config.mongo_url is None  # the password lives only in Vault KV (docs/operator.md)
        # The policy the Kubernetes role grants covers exactly what the API will ask for.
        for path in (f"{plan.mounts.database}/creds/{config.vault_db_role}",
                     f"{plan.mounts.transit}/encrypt/{config.vault_transit_key}",
                     f"{plan.mounts.transit}/hmac/{config.vault_hmac_key}",
                     f"{config.vault_kv_mount}/data/{config.vault_kv_prefix}/*", "sys/leases/renew"):
            assert f'path "{path}"' in plan.policy_hcl

    def test_names_the_read_only_service_whatever_the_instances(self, sample: str) -> None:
        spec = parse_tenant_spec(SAMPLES[sample])
        config = letsema_api.config.load_config(_env(_workloads(SAMPLES[sample])["api"]))
        assert config.replica_host == f"{spec.tenant_id}-db-ro.letsema-{spec.tenant_id}.svc"
        assert config.replica_port == 5432

    def test_scaling_postgres_changes_no_workload(self, sample: str) -> None:
        raw = SAMPLES[sample]
        for instances in (1, 2, 9):
            scaled = {**raw, "postgres": {**raw.get("postgres", {}), "instances": instances,
                                          "synchronousReplicas": 0}}
            assert _workloads(scaled) == _workloads(raw)

    def test_allows_the_probe_host_the_services_and_the_public_host(self, sample: str) -> None:
        spec = parse_tenant_spec(SAMPLES[sample])
        api = _workloads(SAMPLES[sample])["api"]
        config = letsema_api.config.load_config(_env(api))
        probe_hosts = {h["value"] for probe in ("readinessProbe", "livenessProbe")
                       for h in api[probe]["httpGet"]["httpHeaders"] if h["name"] == "Host"}
        assert probe_hosts == {"localhost"}
        assert "localhost" in config.allowed_hosts
        assert f"letsema-api.letsema-{spec.tenant_id}.svc" in config.allowed_hosts
        if spec.api.host:
            assert spec.api.host in config.allowed_hosts


class TestCommands:
    def test_every_management_command_and_option_exists_in_the_api(self) -> None:
        for component, container in _workloads(FULL_TENANT).items():
            if component == "api":
                continue
            argv = _management_command(container)
            source = _command_source(argv[0])
            for option in (a for a in argv[1:] if a.startswith("--")):
                assert f'"{option}"' in source, f"{component}: {argv[0]} has no option {option}"

    def test_components_run_migrate_relay_and_close_of_business(self) -> None:
        commands = {c: _management_command(w)[0] for c, w in _workloads(BASE_TENANT).items() if c != "api"}
        assert commands == {"migrate": "migrate", "relay": "relay_credit_events",
                            "close-of-business": "close_of_business"}

    def test_api_serves_the_wsgi_application_and_probes_existing_paths(self) -> None:
        api = _workloads(BASE_TENANT)["api"]
        assert api["command"][:2] == ["gunicorn", "letsema_api.wsgi:application"]
        assert re.search(r"^application = ", (API_PACKAGE / "wsgi.py").read_text(), re.MULTILINE)
        urls = (API_PACKAGE / "urls.py").read_text()
        assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert 'path("healthz"' in urls
        assert 'path("readyz"' in urls

    def test_close_of_business_passes_today_in_maseru_as_of(self, tmp_path: Path) -> None:
        """The CronJob's shell line, run by a real ``sh`` with a stand-in ``python`` that prints its argv."""
        fake = tmp_path / "python"
        fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
        maseru = zoneinfo.ZoneInfo("Africa/Maseru")
        before = datetime.datetime.now(tz=maseru).date()
        result = subprocess.run(["/bin/sh", "-c", CLOSE_OF_BUSINESS_SCRIPT], capture_output=True, text=True,
                                check=True, env={"PATH": f"{tmp_path}:/usr/bin:/bin", "TZ": "UTC"}, timeout=10)
        after = datetime.datetime.now(tz=maseru).date()
        argv = result.stdout.splitlines()
        assert argv[:3] == ["-m", "letsema_api", "close_of_business"]
        as_of = datetime.date.fromisoformat(argv[argv.index("--as-of") + 1])
        assert as_of in {before, after}
