#!/usr/bin/env bash
# A second Kafka implementation: librdkafka's mock cluster of 3 brokers (from the confluent-kafka
# wheel), kept alive by scripts/tools/rdkafka_mock_cluster.py. The brokers take random ports on
# 127.0.0.1; the bootstrap list is written to $KP_SERVICES_DIR/kafka-mock/bootstrap.txt and
# exported as KP_KAFKA_MOCK by start-all.sh. KP_KAFKA_MOCK_BROKERS changes the count (3).
# Idempotent. No TLS, no SASL.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR="$KP_SERVICES_DIR/kafka-mock"
mkdir -p "$DIR"
PIDFILE="$DIR/mock.pid"; LOG="$DIR/mock.log"; BOOT="$DIR/bootstrap.txt"
if kp_alive "$PIDFILE" && [ -s "$BOOT" ]; then
  kp_say "kafka-mock: already running (pid $(kp_pid "$PIDFILE")): $(cat "$BOOT")"
  exit 0
fi
kp_stop "$PIDFILE" kafka-mock 5 >/dev/null   # a half-started one
rm -f "$BOOT"
"$KP_PYTHON" -c "import confluent_kafka" 2>/dev/null || kp_die "confluent-kafka is not installed: run scripts/install-deps.sh"
kp_spawn "$PIDFILE" "$LOG" "$KP_PYTHON" "$KP_TOOLS/rdkafka_mock_cluster.py" \
  --brokers "${KP_KAFKA_MOCK_BROKERS:-3}" --bootstrap-file "$BOOT"
for ((i = 0; i < 400; i++)); do
  [ -s "$BOOT" ] && break
  kp_alive "$PIDFILE" || { kp_tail "$LOG"; kp_die "the mock cluster exited while starting (log: $LOG)"; }
  sleep 0.05
done
[ -s "$BOOT" ] || { kp_tail "$LOG"; kp_die "the mock cluster did not come up within 20s (log: $LOG)"; }
kp_say "kafka-mock: started (pid $(kp_pid "$PIDFILE")): $(cat "$BOOT")"
