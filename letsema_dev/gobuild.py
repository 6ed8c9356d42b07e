"""Build a command from a Go module into ``.tools/bin``, once.

``go install module/cmd@version`` refuses modules whose go.mod has replace or
exclude directives, and some modules need a generated file before they build.
So the module source is fetched into Go's module cache (``go mod download``),
copied into a scratch folder under the tools folder, optionally patched, and
built there with its own go.mod. A ``<binary>.version`` stamp records what was
built, so the next call does nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from letsema_dev.paths import tools_dir


def go_binary() -> str:
    found = shutil.which("go") or "/usr/local/go/bin/go"
    if not os.path.exists(found):
        raise RuntimeError(
            "Go is needed to build the developer tools (FerretDB, actionlint, compose); install Go 1.24+"
        )
    return found


def build_go_command(
    *,
    module: str,
    version: str,
    package: str,
    binary_name: str,
    prepare: Callable[[Path], None] | None = None,
    quiet: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> Path:
    """Build ``module@version``'s ``package`` into ``.tools/bin/<binary_name>`` unless already built."""
    binary = tools_dir() / "bin" / binary_name
    stamp = binary.with_name(binary_name + ".version")
    wanted = f"{module}@{version}"
    if binary.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return binary
    go = go_binary()
    env = {**os.environ, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0", **(extra_env or {})}
    out = subprocess.run([go, "mod", "download", "-json", wanted], capture_output=True, text=True, check=True, env=env)
    src = Path(json.loads(out.stdout)["Dir"])
    work = tools_dir() / "src" / f"{binary_name}-{version}"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(src, work)
    for root, dirs, files in os.walk(work):
        for name in dirs + files:
            path = os.path.join(root, name)
            os.chmod(path, os.stat(path).st_mode | 0o200)
    if prepare is not None:
        prepare(work)
    binary.parent.mkdir(parents=True, exist_ok=True)
    if not quiet:
        print(f"building {binary_name} ({wanted}) from its Go module, first time only…", flush=True)
    subprocess.run(
        [go, "build", "-trimpath", "-ldflags=-s -w", "-o", str(binary), f"./{package}"], cwd=work, check=True, env=env
    )
    stamp.write_text(wanted + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return binary
