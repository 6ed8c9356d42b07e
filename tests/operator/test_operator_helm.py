"""Helm charts: lint and render (helm-python-sdk, the Helm 4 engine, offline), rendered objects valid for
Kubernetes, least-privilege RBAC, invalid values rejected by values.schema.json."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml
from letsema_operator.clients.kube import KINDS
from letsema_operator.crds import render_crd_files
from operator_support import REPO_ROOT

pytestmark = pytest.mark.operator

OPERATOR_CHART = REPO_ROOT / "charts" / "letsema-operator"
CRDS_CHART = REPO_ROOT / "charts" / "letsema-crds"
EDGE_VALUES: dict[str, Any] = {
    "vault": {"addr": "https://vault.example:8200", "podAddr": "https://vault.vault.svc:8200",
              "tokenSecret": "letsema-operator-vault"},
    "rbac": {"create": False},
    "serviceAccount": {"create": False, "name": "prepared-sa"},
    "logVerbose": True,
    "livenessPort": 9090,
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "platform", "effect": "NoSchedule"}],
}


@pytest.fixture
def operator_chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(OPERATOR_CHART) as chart:
        yield chart


def render(chart: helm.Chart, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    manifests = chart.render(values=values, name="letsema", namespace="letsema-system", is_install=True)
    return [doc for text in manifests.values() for doc in yaml.safe_load_all(text) if doc]


def lint_errors(path: Any, values: dict[str, Any] | None = None) -> list[str]:
    report = helm.lint(path, values, strict=True, kube_version="v1.33.0")
    return [m["error"] for m in report["messages"] if m["severity"] >= 2] + list(report["errors"])


class TestLint:
    @pytest.mark.parametrize("values", [None, EDGE_VALUES], ids=["defaults", "edge"])
    def test_operator_chart_lints_clean_in_strict_mode(self, values: dict[str, Any] | None) -> None:
        assert lint_errors(OPERATOR_CHART, values) == []

    def test_crds_chart_lints_clean_in_strict_mode(self) -> None:
        assert lint_errors(CRDS_CHART) == []

    def test_lint_reports_invalid_values(self) -> None:
        assert lint_errors(OPERATOR_CHART, {"vault": {"addr": "not a url"}}) != []


class TestRenderDefaults:
    def test_every_rendered_object_is_valid_for_kubernetes(self, operator_chart: helm.Chart) -> None:
        docs = render(operator_chart)
        assert sorted(doc["kind"] for doc in docs) == ["ClusterRole", "ClusterRoleBinding", "Deployment",
                                                       "ServiceAccount"]
        for doc in docs:
            assert kubernetes_validate.validate(doc, "1.33.0", strict=True) == "1.33"

    def test_deployment_runs_one_replica_recreated_with_a_kopf_liveness_probe(self, operator_chart: helm.Chart) -> None:
        deployment = next(doc for doc in render(operator_chart) if doc["kind"] == "Deployment")
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["letsema-operator", "--liveness=http://0.0.0.0:8080/healthz"]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
        assert container["ports"][0]["containerPort"] == 8080

    def test_cluster_role_covers_exactly_the_resources_the_operator_touches(self, operator_chart: helm.Chart) -> None:
        role = next(doc for doc in render(operator_chart) if doc["kind"] == "ClusterRole")
        granted = {resource for rule in role["rules"] for resource in rule["resources"]}
        needed = {plural for plural, _ in KINDS.values()}
        kopf_needs = {"customresourcedefinitions", "events", "microfinancetenants/status",
                      "creditregistries/status"}
        assert granted == needed | kopf_needs
        assert all("*" not in rule["verbs"] and "*" not in rule["resources"] for rule in role["rules"])
        write_rules = [rule for rule in role["rules"] if "create" in rule["verbs"]]
        assert all("list" not in rule["verbs"] for rule in write_rules if "events" not in rule["resources"])


class TestRenderEdgeValues:
    def test_token_secret_replaces_kubernetes_auth(self, operator_chart: helm.Chart) -> None:
        deployment = next(doc for doc in render(operator_chart, EDGE_VALUES) if doc["kind"] == "Deployment")
        env = {item["name"]: item for item in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["LETSEMA_VAULT_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "letsema-operator-vault",
                                                                           "key": "token"}
        assert "LETSEMA_VAULT_KUBERNETES_ROLE" not in env
        assert env["LETSEMA_POD_VAULT_ADDR"]["value"] == "https://vault.vault.svc:8200"

    def test_rbac_and_service_account_can_be_left_to_the_platform(self, operator_chart: helm.Chart) -> None:
        docs = render(operator_chart, EDGE_VALUES)
        assert [doc["kind"] for doc in docs] == ["Deployment"]
        spec = docs[0]["spec"]["template"]["spec"]
        assert spec["serviceAccountName"] == "prepared-sa"
        assert spec["containers"][0]["command"][-1] == "--verbose"
        assert spec["tolerations"][0]["key"] == "dedicated"
        assert kubernetes_validate.validate(docs[0], "1.33.0", strict=True) == "1.33"


class TestValuesSchema:
    @pytest.mark.parametrize(("values", "message"), [
        ({"replicaCount": 2}, "replicaCount"),
        ({"image": {"repository": "x", "tag": 1}}, "tag"),
        ({"vault": {"addr": "vault:8200"}}, "addr"),
        ({"livenessPort": 80}, "livenessPort"),
        ({"namespaces": {"vault": "Not_DNS"}}, "vault"),
        ({"rbac": {"create": "yes"}}, "create"),
    ], ids=["unknown-key", "tag-not-string", "addr-not-url", "privileged-port", "bad-namespace", "bool-as-string"])
    def test_invalid_values_are_rejected(self, operator_chart: helm.Chart, values: dict[str, Any],
                                         message: str) -> None:
        merged = operator_chart.merge_values(values)
        with pytest.raises(helm.HelmValuesError, match=message):
            operator_chart.validate_schema(merged)

    def test_default_values_pass_the_schema(self, operator_chart: helm.Chart) -> None:
        operator_chart.validate_schema(operator_chart.merge_values({}))


class TestCrdsChart:
    def test_renders_the_generated_crds_unchanged(self) -> None:
        with helm.Chart.load(CRDS_CHART) as chart:
            rendered = chart.render(name="letsema-crds", namespace="default")
        assert {path.rsplit("/", 1)[-1]: yaml.safe_load(text) for path, text in rendered.items()} == {
            name: yaml.safe_load(text) for name, text in render_crd_files().items()}
