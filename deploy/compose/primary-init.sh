#!/bin/bash
# Runs once, at the primary's first start: allow the replica to stream (SCRAM over the compose network).
set -euo pipefail
echo "host replication postgres samenet scram-sha-256" >> "$PGDATA/pg_hba.conf"
psql -v ON_ERROR_STOP=1 -U postgres -c "SELECT pg_create_physical_replication_slot('letsema_replica')"
