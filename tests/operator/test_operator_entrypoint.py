"""Entry points and small pure helpers of the operator package."""

from __future__ import annotations

import subprocess
import sys

import kopf
import letsema_operator
import pytest
from letsema_operator.__main__ import main
from letsema_operator.clients.kube import is_subset, resource_path
from letsema_operator.conditions import set_condition

pytestmark = pytest.mark.operator


class TestEntryPoints:
    def test_importing_the_package_registers_every_handler(self) -> None:
        registry = kopf.get_default_registry()
        names = {handler.id for handler in registry._changing.get_all_handlers()}
        names |= {handler.id for handler in registry._spawning.get_all_handlers()}
        assert letsema_operator.handlers is not None
        assert {"reconcile_tenant", "delete_tenant", "observe_tenant", "rotate_mongo_password",
                "reconcile_registry", "observe_registry"} <= {name.split("/")[0] for name in names}

    def test_console_script_parses_its_options(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exited:
            main(["--help"])
        assert exited.value.code == 0
        assert "--liveness" in capsys.readouterr().out

    def test_kopf_can_load_the_package_as_a_module(self) -> None:
        # `kopf run -m letsema_operator` imports the module; a clean import in a fresh interpreter is
        # what it needs (running the loop needs a cluster and is covered by test_operator_loop.py).
        result = subprocess.run([sys.executable, "-c", "import letsema_operator, kopf; "
                                 "print(len(list(kopf.get_default_registry()._changing.get_all_handlers())))"],
                                capture_output=True, text=True, timeout=60, check=True)
        assert int(result.stdout.strip()) >= 7


class TestKubeHelpers:
    def test_subset_compares_lists_whole_and_ignores_extra_server_fields(self) -> None:
        actual = {"spec": {"replicas": 2, "extra": 1, "roles": [{"name": "a", "passwordSecret": "x"}]}}
        assert is_subset({"spec": {"replicas": 2}}, actual)
        assert not is_subset({"spec": {"replicas": 3}}, actual)
        assert not is_subset({"spec": {"roles": [{"name": "a"}]}}, actual)

    def test_paths_follow_the_kubernetes_api_layout(self) -> None:
        assert resource_path("v1", "Namespace", name="x") == "/api/v1/namespaces/x"
        assert resource_path("postgresql.cnpg.io/v1", "Cluster", namespace="n", name="db",
                             subresource="status") == "/apis/postgresql.cnpg.io/v1/namespaces/n/clusters/db/status"
        with pytest.raises(ValueError, match="namespaced"):
            resource_path("apps/v1", "Deployment")


class TestConditions:
    def test_transition_time_changes_only_when_the_status_changes(self) -> None:
        first = set_condition([], type_="Ready", ok=False, reason="A", message="m", generation=1, now="t1")
        same = set_condition(first, type_="Ready", ok=False, reason="B", message="m2", generation=2, now="t2")
        flipped = set_condition(same, type_="Ready", ok=True, reason="C", message="m3", generation=2, now="t3")
        assert first[0]["lastTransitionTime"] == "t1"
        assert same[0]["lastTransitionTime"] == "t1"
        assert same[0]["reason"] == "B"
        assert flipped[0] == {"type": "Ready", "status": "True", "reason": "C", "message": "m3",
                              "lastTransitionTime": "t3", "observedGeneration": 2}
