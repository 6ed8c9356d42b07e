"""Entry points and small pure helpers of the operator package."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import kopf
import letsema_operator
import pytest
from letsema_operator.__main__ import main
from letsema_operator.clients.kube import is_subset, resource_path
from letsema_operator.conditions import set_condition
from letsema_operator.config import OperatorConfig
from letsema_operator.handlers.timers import register_observation_timers

pytestmark = pytest.mark.operator


class TestEntryPoints:
    def test_importing_the_package_registers_every_handler_but_the_observation_timers(self) -> None:
        registry = kopf.get_default_registry()
        names = {handler.id for handler in registry._changing.get_all_handlers()}
        names |= {handler.id for handler in registry._spawning.get_all_handlers()}
        names |= {handler.id for handler in registry._activities.get_all_handlers()}
        assert letsema_operator.handlers is not None
        assert {"reconcile_tenant", "delete_tenant", "rotate_mongo_password", "reconcile_registry",
                "startup"} <= {name.split("/")[0] for name in names}

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


class TestObservationInterval:
    def test_startup_reads_the_interval_even_when_the_package_was_imported_first(self) -> None:
        """In a fresh interpreter: import the package, only then set the variable, run the startup handler
        (as kopf would, with the clients already in memo) and look at the registered timers."""
        script = textwrap.dedent("""
            import logging, os
            import kopf
            import letsema_operator
            from letsema_operator.handlers.startup import startup

            before = [h.id for h in kopf.get_default_registry()._spawning.get_all_handlers()]
            os.environ["LETSEMA_OBSERVE_INTERVAL_SECONDS"] = "0.25"
            memo = kopf.Memo(kube=object(), vault=object(), registry_admin_factory=object())
            startup(settings=kopf.OperatorSettings(), memo=memo, logger=logging.getLogger("t"))
            for handler in kopf.get_default_registry()._spawning.get_all_handlers():
                print(handler.id, handler.interval)
            print("before", *before)
        """)
        env = {k: v for k, v in os.environ.items() if k != "LETSEMA_OBSERVE_INTERVAL_SECONDS"}
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                                check=True, env=env)
        lines = result.stdout.splitlines()
        intervals = dict(line.split() for line in lines if not line.startswith("before"))
        assert intervals["observe_tenant"] == "0.25"
        assert intervals["observe_registry"] == "0.25"
        assert intervals["rotate_mongo_password"] == "3600"
        assert lines[-1] == "before rotate_mongo_password"  # nothing observed before startup

    def test_timers_are_registered_once_per_registry(self) -> None:
        registry = kopf.OperatorRegistry()
        register_observation_timers(registry, interval=2.0)
        register_observation_timers(registry, interval=2.0)  # an operator restarted in the same process
        timers = [h for h in registry._spawning.get_all_handlers()]
        assert sorted((h.id, h.interval) for h in timers) == [("observe_registry", 2.0), ("observe_tenant", 2.0)]

    def test_another_interval_in_the_same_process_is_refused(self) -> None:
        registry = kopf.OperatorRegistry()
        register_observation_timers(registry, interval=2.0)
        with pytest.raises(RuntimeError, match="restart the operator"):
            register_observation_timers(registry, interval=3.0)
        with pytest.raises(ValueError, match="positive"):
            register_observation_timers(kopf.OperatorRegistry(), interval=0)

    def test_the_default_interval_is_thirty_seconds(self) -> None:
        assert OperatorConfig.from_environ({}).observe_interval_seconds == 30.0
        assert OperatorConfig.from_environ({"LETSEMA_OBSERVE_INTERVAL_SECONDS": "0.5"}).observe_interval_seconds == 0.5


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
