#!/usr/bin/env bash
# Generates the Docker Compose stack's bootstrap secrets into .letsema/compose/ (gitignored, 0600).
set -euo pipefail
dir="$(dirname "$0")/../.letsema/compose"
mkdir -p "$dir" && chmod 700 "$dir"
umask 077
[ -s "$dir/pg_superuser_password" ] || python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > "$dir/pg_superuser_password"
echo "compose secrets in $dir"
