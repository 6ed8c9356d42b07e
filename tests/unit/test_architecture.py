"""The layering rule of STYLE.md §1, enforced by import-linter: letsema_core is framework-free."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def _lint(cwd: Path, *extra: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", *extra], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )


class TestImportContract:
    def test_contract_holds_for_the_repository(self) -> None:
        result = _lint(REPO)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "letsema_core is framework-free KEPT" in result.stdout

    @pytest.mark.parametrize("framework", ["django", "pymongo", "hvac", "kopf"])
    def test_contract_fails_when_core_imports_a_framework(self, tmp_path: Path, framework: str) -> None:
        # A copy of the core with one forbidden import, checked under the repository's own contract.
        shutil.copytree(REPO / "letsema_core", tmp_path / "letsema_core")
        (tmp_path / "letsema_core" / "_forbidden_probe.py").write_text(f"import {framework}\n")
        shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
        result = _lint(tmp_path, pythonpath=tmp_path)
        assert result.returncode != 0, result.stdout
        assert "BROKEN" in result.stdout
        assert f"letsema_core._forbidden_probe -> {framework}" in result.stdout
