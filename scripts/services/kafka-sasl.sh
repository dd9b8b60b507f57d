#!/usr/bin/env bash
# Kafka with SASL: tansu has none, so scripts/tools/kafka_sasl_gateway.py authenticates in front of
# two tansu brokers of its own (in-memory, each advertising its gateway's address):
#   KP_KAFKA_SASL_PORT      (9095)  SASL over plaintext   -> tansu on KP_KAFKA_SASL_BACKEND_PORT (+10000)
#   KP_KAFKA_SASL_TLS_PORT  (9096)  SASL over TLS (server certificate signed by $KP_TLS_DIR/ca.pem)
#                                   -> tansu on KP_KAFKA_SASL_TLS_BACKEND_PORT (+10000)
# Mechanisms: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (users below), OAUTHBEARER (token below),
# AWS_MSK_IAM (keys below, region us-east-1, hosts 127.0.0.1/localhost). Test-only credentials:
#   users     alice:alice-secret, reauth:reauth-secret (user `reauth` gets a 3 s session, so clients
#             must re-authenticate), in KP_KAFKA_SASL_USERS
#   token     kp-oauth-token-0123456789 (KP_KAFKA_SASL_TOKEN)
#   AWS keys  AKIAGATEWAY000000001:gateway-secret-0123 (KP_KAFKA_SASL_AWS) and
#             ASIAGATEWAY000000002:gateway-secret-4567:gateway-session-token (KP_KAFKA_SASL_AWS_SESSION)
# Counters (authentications, re-authentications, failures, per user) are JSON in
# $KP_SERVICES_DIR/kafka-sasl/{plain,tls}.status.json (KP_KAFKA_SASL_STATUS, KP_KAFKA_SASL_TLS_STATUS).
# Idempotent.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR="$KP_SERVICES_DIR/kafka-sasl"
mkdir -p "$DIR"
TANSU="$(kp_tansu_bin)"
kp_ensure_tls
T="$KP_TLS_DIR"
GATEWAY="$KP_ROOT/scripts/tools/kafka_sasl_gateway.py"
"$KP_PYTHON" -c 'import scramp, botocore' 2>/dev/null || kp_die "python scramp/botocore missing: run scripts/install-deps.sh"

# start_tansu NAME LISTEN_PORT ADVERTISED_PORT VAR
start_tansu() {
  local name=$1 port=$2 adv=$3 var=$4
  local pidfile="$DIR/$name.pid" log="$DIR/$name.log"
  if kp_alive "$pidfile"; then kp_say "kafka-sasl: $name already running"; return 0; fi
  kp_require_free "$port" "$var" "Kafka SASL backend: $name"
  kp_spawn "$pidfile" "$log" "$TANSU" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$adv" \
    --storage-engine "memory://tansu/"
  kp_wait_port "$port" 20 "$log" "tansu ($name)" "$pidfile"
  kp_say "kafka-sasl: $name started on 127.0.0.1:$port"
}

# start_gateway NAME PORT BACKEND VAR [TLS]
start_gateway() {
  local name=$1 port=$2 backend=$3 var=$4 tls=${5:-}
  local pidfile="$DIR/$name.pid" log="$DIR/$name.log"
  if kp_alive "$pidfile"; then kp_say "kafka-sasl: $name already running"; return 0; fi
  kp_require_free "$port" "$var" "Kafka SASL gateway: $name"
  local extra=()
  [ -n "$tls" ] && extra=(--cert "$T/server.pem" --key "$T/server.key")
  kp_spawn "$pidfile" "$log" "$KP_PYTHON" "$GATEWAY" --listen "127.0.0.1:$port" --upstream "127.0.0.1:$backend" \
    "${extra[@]}" --status "$DIR/$name.status.json" \
    --user alice:alice-secret --user reauth:reauth-secret --short-session reauth:3000 \
    --token kp-oauth-token-0123456789 \
    --aws-key AKIAGATEWAY000000001:gateway-secret-0123 \
    --aws-key ASIAGATEWAY000000002:gateway-secret-4567:gateway-session-token --region us-east-1
  kp_wait_port "$port" 20 "$log" "kafka SASL gateway ($name)" "$pidfile"
  kp_say "kafka-sasl: $name gateway on 127.0.0.1:$port -> 127.0.0.1:$backend"
}

start_tansu tansu-sasl "$KP_KAFKA_SASL_BACKEND_PORT" "$KP_KAFKA_SASL_PORT" KP_KAFKA_SASL_BACKEND_PORT
start_tansu tansu-sasl-tls "$KP_KAFKA_SASL_TLS_BACKEND_PORT" "$KP_KAFKA_SASL_TLS_PORT" KP_KAFKA_SASL_TLS_BACKEND_PORT
start_gateway plain "$KP_KAFKA_SASL_PORT" "$KP_KAFKA_SASL_BACKEND_PORT" KP_KAFKA_SASL_PORT
start_gateway tls "$KP_KAFKA_SASL_TLS_PORT" "$KP_KAFKA_SASL_TLS_BACKEND_PORT" KP_KAFKA_SASL_TLS_PORT tls
