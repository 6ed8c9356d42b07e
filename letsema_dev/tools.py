"""Build the developer tools that come from Go modules into ``.tools/bin`` (once).

``python -m letsema_dev.tools build`` builds what is missing: FerretDB (the
MongoDB-protocol server) and actionlint (the GitHub Actions linter).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from letsema_dev.paths import tools_dir
from letsema_dev.services.ferretdb import build_ferretdb

ACTIONLINT = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"


def go_binary() -> str:
    found = shutil.which("go") or "/usr/local/go/bin/go"
    if not os.path.exists(found):
        raise RuntimeError("Go is needed to build the developer tools; install Go 1.24+")
    return found


def build_actionlint() -> None:
    target = tools_dir() / "bin" / "actionlint"
    if target.exists():
        return
    print("building actionlint from its Go module (first time only)…", flush=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(target.parent), "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    subprocess.run([go_binary(), "install", ACTIONLINT], check=True, env=env)


def main(argv: list[str]) -> int:
    if argv[1:] != ["build"]:
        print("usage: python -m letsema_dev.tools build", file=sys.stderr)
        return 2
    build_ferretdb()
    build_actionlint()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
