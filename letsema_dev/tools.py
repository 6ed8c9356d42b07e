"""Build the developer tools that come from Go modules into ``.tools/bin`` (once).

``python -m letsema_dev.tools build`` builds what is missing: FerretDB (the
MongoDB-protocol server), actionlint (the GitHub Actions linter) and the Docker
Compose CLI plugin (to check docker-compose.yml with ``docker compose config``,
client only: there is no Docker engine here).

``python -m letsema_dev.tools build --envtest`` builds etcd, kube-apiserver and kubectl for the
operator's envtest tier (``make test-envtest``; long the first time, not needed by ``make test``).

Standard library only (with everything it imports): ``scripts/install.sh`` runs it with the system
Python, in parallel with ``pip install``, before the virtualenv exists.
"""

from __future__ import annotations

import sys

from letsema_dev.gobuild import build_go_command
from letsema_dev.services.ferretdb import build_ferretdb

ACTIONLINT = ("github.com/rhysd/actionlint", "v1.7.12", "cmd/actionlint")
COMPOSE = ("github.com/docker/compose/v2", "v2.40.3", "cmd")


def build_actionlint() -> None:
    module, version, package = ACTIONLINT
    build_go_command(module=module, version=version, package=package, binary_name="actionlint")


def build_compose() -> None:
    module, version, package = COMPOSE
    build_go_command(module=module, version=version, package=package, binary_name="docker-compose")


def main(argv: list[str]) -> int:
    if argv[1:] == ["build", "--envtest"]:
        from letsema_dev.services.kube import build_envtest_tools

        for name, path in build_envtest_tools().items():
            print(f"{name}: {path}")
        return 0
    if argv[1:] != ["build"]:
        print("usage: python -m letsema_dev.tools build [--envtest]", file=sys.stderr)
        return 2
    build_ferretdb()
    build_actionlint()
    build_compose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
