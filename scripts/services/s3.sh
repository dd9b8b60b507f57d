#!/usr/bin/env bash
# S3: moto (PyPI moto[server]) on 127.0.0.1:$KP_S3_PORT (9900) with SigV4 signatures checked from the
# first request (scripts/tools/moto_s3_server.py). Credentials: $KP_S3_KEY / $KP_S3_SECRET
# (AKIATESTKEY000000001 / testsecret-0123456789), region us-east-1, path-style addressing.
# Data lives in memory; `curl -X POST http://127.0.0.1:$KP_S3_PORT/moto-api/reset` empties it.
# Idempotent.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR="$KP_SERVICES_DIR/s3"
mkdir -p "$DIR"
PIDFILE="$DIR/moto.pid"; LOG="$DIR/moto.log"
if kp_alive "$PIDFILE"; then
  kp_say "s3: moto already running (pid $(kp_pid "$PIDFILE"))"
  exit 0
fi
kp_require_free "$KP_S3_PORT" KP_S3_PORT "S3 (moto)"
"$KP_PYTHON" -c "import moto, flask, flask_cors" 2>/dev/null || kp_die "moto[server] is not installed: run scripts/install-deps.sh"
kp_spawn "$PIDFILE" "$LOG" "$KP_PYTHON" "$KP_TOOLS/moto_s3_server.py" --host 127.0.0.1 --port "$KP_S3_PORT" \
  --access-key "$KP_S3_KEY" --secret "$KP_S3_SECRET"
kp_wait_port "$KP_S3_PORT" 60 "$LOG" "moto S3" "$PIDFILE"
kp_say "s3: moto started on http://127.0.0.1:$KP_S3_PORT (pid $(kp_pid "$PIDFILE"))"
