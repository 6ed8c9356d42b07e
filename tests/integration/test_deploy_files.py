"""The Docker files, for people who have Docker, checked without a Docker engine.

``docker compose config`` is the Compose CLI plugin (built from its Go module into
``.tools/bin``) run client-only: it parses, interpolates and validates the file
against the Compose specification and fails on any error.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from letsema_dev.paths import REPO_ROOT, tools_dir

pytestmark = pytest.mark.integration


def _docker_with_compose(tmp_path: Path) -> dict[str, str]:
    plugin = tools_dir() / "bin" / "docker-compose"
    assert plugin.exists(), "the compose plugin is built by `make tools` (python -m letsema_dev.tools build)"
    assert shutil.which("docker"), "the docker CLI (client only) is needed for `docker compose config`"
    config = tmp_path / "docker-config"
    (config / "cli-plugins").mkdir(parents=True)
    (config / "cli-plugins" / "docker-compose").symlink_to(plugin)
    return {**os.environ, "DOCKER_CONFIG": str(config)}


@pytest.fixture
def compose_project(tmp_path: Path) -> Path:
    """A copy of the compose file and what it references, with a throwaway secret file."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(REPO_ROOT / name, project / name)
    shutil.copytree(REPO_ROOT / "deploy", project / "deploy")
    secrets = project / ".letsema" / "compose"
    secrets.mkdir(parents=True)
    (secrets / "pg_superuser_password").write_text("not-a-real-secret\n")
    return project


class TestComposeFile:
    def test_docker_compose_config_accepts_the_file(self, tmp_path: Path, compose_project: Path) -> None:
        env = _docker_with_compose(tmp_path)
        result = subprocess.run(
            ["docker", "compose", "--project-directory", str(compose_project), "config", "--format", "yaml"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            cwd=compose_project,
        )
        assert result.returncode == 0, result.stderr
        rendered = yaml.safe_load(result.stdout)
        assert set(rendered["services"]) >= {
            "postgres-primary",
            "postgres-replica",
            "mongo",
            "openbao",
            "api-khotso",
            "api-tsepo",
            "relay",
        }

    def test_docker_compose_config_rejects_a_broken_file(self, tmp_path: Path, compose_project: Path) -> None:
        env = _docker_with_compose(tmp_path)
        broken = compose_project / "docker-compose.yml"
        broken.write_text(
            broken.read_text().replace("    image: mongo:7.0\n", "    image: mongo:7.0\n    restartt: always\n")
        )
        result = subprocess.run(
            ["docker", "compose", "--project-directory", str(compose_project), "config", "--quiet"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            cwd=compose_project,
        )
        assert result.returncode != 0
        assert "restartt" in result.stderr

    def test_no_secret_value_is_written_in_the_compose_file(self) -> None:
        compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
        sensitive = re.compile(r"(?i)password|token|secret")
        for name, service in compose["services"].items():
            for key, value in (service.get("environment") or {}).items():
                if sensitive.search(key):
                    assert key.endswith("_FILE"), f"{name}.{key}: credentials come from secret files or OpenBao"
                    assert str(value).startswith("/"), f"{name}.{key} must name a mounted file"
        for secret in compose["secrets"].values():
            assert set(secret) == {"file"}
            assert secret["file"].startswith("./.letsema/"), "secret files live in the gitignored state folder"


class TestDockerfile:
    def test_every_copied_path_exists(self) -> None:
        for line in (REPO_ROOT / "Dockerfile").read_text().splitlines():
            if line.startswith("COPY ") and "--from=" not in line:
                *sources, _dest = line.split()[1:]
                for source in sources:
                    assert (REPO_ROOT / source).exists(), f"Dockerfile copies a missing path: {source}"

    def test_runs_as_an_unprivileged_user(self) -> None:
        lines = (REPO_ROOT / "Dockerfile").read_text().splitlines()
        users = [line.split()[1] for line in lines if line.startswith("USER ")]
        assert users, "the image must not run as root"
        assert users[-1] not in {"root", "0"}
