#!/bin/bash
# Clones the primary with pg_basebackup -R on first start, then runs as a hot standby.
set -euo pipefail
export PGPASSWORD
PGPASSWORD="$(cat /run/secrets/pg_superuser_password)"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h "$PRIMARY_HOST" -U postgres; do sleep 1; done
  pg_basebackup -h "$PRIMARY_HOST" -U postgres -D "$PGDATA" -R -X stream -S letsema_replica -c fast
  chmod 0700 "$PGDATA"
fi
unset PGPASSWORD
exec postgres -c hot_standby=on
