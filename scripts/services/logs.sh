#!/usr/bin/env bash
# Prints the last lines (default 20) of every service log under $KP_SERVICES_DIR, and whether each
# recorded process is alive. test.sh calls it when something failed.
#   scripts/services/logs.sh [LINES]
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N="${1:-20}"
D="$KP_SERVICES_DIR"
[ -d "$D" ] || { echo "no service state in $D"; exit 0; }
status() { # pidfile name [marker]
  if kp_alive "$1" "${3:-}"; then echo "$2: running (pid $(kp_pid "$1"))"; elif [ -f "$1" ]; then echo "$2: NOT running (stale $1)"; fi
}
status "$D/kafka/tansu.pid" tansu
status "$D/kafka/tansu-tls.pid" tansu-tls
status "$D/kafka/tansu-mtls.pid" tansu-mtls
status "$D/kafka/stunnel.pid" stunnel
status "$D/kafka-mock/mock.pid" kafka-mock
status "$D/pg15/postmaster.pid" postgres15 "$D/pg15"
status "$D/pg18/postmaster.pid" postgres18 "$D/pg18"
status "$D/pg18-tls/proxy.pid" "postgres18 TLS front"
status "$D/zookeeper/zk.pid" zookeeper
status "$D/clickhouse/clickhouse.pid" clickhouse "$D/clickhouse/config.xml"
status "$D/s3/moto.pid" moto
for log in "$D"/kafka/*.log "$D"/kafka-mock/*.log "$D"/pg15/server.log "$D"/pg18/server.log \
           "$D"/pg18-tls/*.log "$D"/zookeeper/*.log "$D"/clickhouse/log/stderr.log \
           "$D"/clickhouse/log/server.err.log "$D"/s3/*.log "$D"/start-logs/*.out; do
  [ -s "$log" ] || continue
  echo "--- $log (last $N lines)"
  tail -n "$N" "$log"
done
