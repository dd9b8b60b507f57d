#!/usr/bin/env bash
# Stops what start-all.sh (or a single scripts/services/*.sh) started, by the pids recorded under
# $KP_SERVICES_DIR (never by process name), and only when the recorded process is still the one we
# started. `stop-all.sh --wipe` then deletes the state (data, logs, certificates, env.sh) but keeps the
# downloaded binaries in $KP_BIN_DIR.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
WIPE=0
case "${1:-}" in
  --wipe) WIPE=1 ;;
  "") ;;
  *) echo "usage: $0 [--wipe]" >&2; exit 2 ;;
esac
D="$KP_SERVICES_DIR"
if [ -d "$D" ]; then
  pids=()
  kp_stop "$D/kafka/stunnel.pid" stunnel 10 & pids+=($!)
  kp_stop "$D/kafka-mock/mock.pid" kafka-mock 10 & pids+=($!)
  kp_stop "$D/kafka-sasl/plain.pid" "kafka SASL gateway" 10 & pids+=($!)
  kp_stop "$D/kafka-sasl/tls.pid" "kafka SASL TLS gateway" 10 & pids+=($!)
  kp_stop "$D/s3/moto.pid" moto 10 & pids+=($!)
  kp_stop "$D/pg18-tls/proxy.pid" "postgres18 TLS front" 10 & pids+=($!)
  # ClickHouse's graceful shutdown can take 10-15 s after heavy use.
  kp_stop "$D/clickhouse/clickhouse.pid" clickhouse 60 TERM "$D/clickhouse/config.xml" & pids+=($!)
  # SIGINT = PostgreSQL's fast shutdown; postmaster.pid is written by the server itself.
  kp_stop "$D/pg15/postmaster.pid" postgres15 60 INT "$D/pg15" & pids+=($!)
  kp_stop "$D/pg18/postmaster.pid" postgres18 60 INT "$D/pg18" & pids+=($!)
  for p in "${pids[@]}"; do wait "$p"; done
  kp_stop "$D/kafka/tansu.pid" tansu 10
  kp_stop "$D/kafka/tansu-tls.pid" tansu-tls 10
  kp_stop "$D/kafka/tansu-mtls.pid" tansu-mtls 10
  kp_stop "$D/kafka-sasl/tansu-sasl.pid" tansu-sasl 10
  kp_stop "$D/kafka-sasl/tansu-sasl-tls.pid" tansu-sasl-tls 10
  kp_stop "$D/zookeeper/zk.pid" zookeeper 20   # after ClickHouse, its client
  rm -f "$D/env.sh"
fi
if [ "$WIPE" = 1 ] && [ -d "$D" ]; then
  bin="$(cd "$KP_BIN_DIR" 2>/dev/null && pwd || true)"
  for entry in "$D"/* "$D"/.[!.]*; do
    [ -e "$entry" ] || continue
    [ -n "$bin" ] && [ "$(cd "$entry" 2>/dev/null && pwd)" = "$bin" ] && continue
    rm -rf "$entry"
  done
  kp_say "wiped $D"
fi
exit 0
