#!/usr/bin/env bash
# Installs the system pieces the local platform and the tests need, when they are missing:
# PostgreSQL's server binaries (Debian's package) and checks for Python 3.11+ and Go.
# Safe to run again; does nothing when all is present.
set -euo pipefail

have_pg() {
  [ -n "${LETSEMA_PG_BIN:-}" ] && [ -x "${LETSEMA_PG_BIN}/initdb" ] && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

if ! have_pg; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing Debian's PostgreSQL server (postgresql) …"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Keep the package from starting its own cluster on 5432: Letsema runs its own.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq postgresql postgresql-contrib >/dev/null
    rm -f /usr/sbin/policy-rc.d
  else
    echo "bootstrap: PostgreSQL server binaries not found. Install your distribution's 'postgresql' package" >&2
    echo "           or set LETSEMA_PG_BIN to a folder holding initdb and pg_ctl." >&2
    exit 1
  fi
fi

if [ "$(id -u)" = "0" ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

if ! command -v runuser >/dev/null && [ "$(id -u)" = "0" ]; then
  echo "bootstrap: 'runuser' (util-linux) is needed to run PostgreSQL as an unprivileged user" >&2
  exit 1
fi

python3 - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"bootstrap: Python 3.11+ is needed, found {sys.version.split()[0]}")
PY

if ! command -v go >/dev/null && [ ! -x /usr/local/go/bin/go ]; then
  echo "bootstrap: Go 1.24+ is needed once, to build FerretDB and actionlint from their modules" >&2
  exit 1
fi
