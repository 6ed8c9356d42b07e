#!/usr/bin/env bash
# Creates .venv and installs the project with its dev extras, while the Go tools (FerretDB, actionlint,
# the compose plugin) build in parallel: pip waits on the network, go build on the CPU.
# The tool builder is standard-library Python, so it runs before the virtualenv exists.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
mkdir -p .tools
"$PYTHON" -m letsema_dev.tools build > .tools/build.log 2>&1 &
tools_pid=$!
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip setuptools wheel
.venv/bin/python -m pip install --quiet -e '.[dev]'
if ! wait "$tools_pid"; then
  echo "install: building the Go tools failed; see .tools/build.log" >&2
  tail -n 20 .tools/build.log >&2
  exit 1
fi
