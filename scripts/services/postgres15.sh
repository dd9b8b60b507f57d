#!/usr/bin/env bash
# PostgreSQL 15 (Debian postgresql-15) on 127.0.0.1:$KP_PG15_PORT (5432), data in
# $KP_SERVICES_DIR/pg15, wal_level=logical, TLS on (server certificate from the test CA,
# SAN localhost + 127.0.0.1; client certificates checked against the same CA for `cert` auth).
# Roles and auth methods: see pg-common.sh. Idempotent.
set -euo pipefail
HERE="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=pg-common.sh
. "$HERE/pg-common.sh"

BIN=/usr/lib/postgresql/15/bin
DATA="$KP_SERVICES_DIR/pg15"
if kp_pg_running "$DATA"; then
  kp_say "postgres15: already running (pid $(kp_pid "$DATA/postmaster.pid"))"
  exit 0
fi
[ -x "$BIN/postgres" ] || kp_die "PostgreSQL 15 is not installed ($BIN): run scripts/install-deps.sh"
kp_require_free "$KP_PG15_PORT" KP_PG15_PORT "PostgreSQL 15"
kp_pg_setup postgres15 "$BIN" "$DATA" "$KP_PG15_PORT" on
kp_pg_start postgres15 "$BIN" "$DATA" "$KP_PG15_PORT"
kp_pg_roles postgres15 "$BIN" "$DATA" "$KP_PG15_PORT"
kp_say "postgres15: started on 127.0.0.1:$KP_PG15_PORT (pid $(kp_pid "$DATA/postmaster.pid"))"
