#!/usr/bin/env bash
# The demo: installs what is missing, builds the release binary, starts the local services and runs
# the most complete pipeline that exists, showing what arrived where. It leaves the services running
# so you can look around; stop them with scripts/services/stop-all.sh.
#   KP_SERVICES_DIR, KP_*_PORT: as for scripts/services/start-all.sh (KP_AUTO_PORTS=0: fail on a taken port)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export KP_ROOT="$ROOT"
KP_SERVICES_DIR="$(bash -c '. scripts/services/lib.sh && echo "$KP_SERVICES_DIR"')"
export KP_SERVICES_DIR
# A default port held by another program (a system PostgreSQL on 5432, say) is replaced by a free one.
export KP_AUTO_PORTS="${KP_AUTO_PORTS:-1}"
say() { printf '\n==== %s\n' "$*"; }

say "installing what is missing (scripts/install-deps.sh)"
bash scripts/install-deps.sh

say "building the release binary"
swift build -c release --product kafka-pipe 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] |^(Fetching|Fetched|Computing|Computed|Creating working|Working copy) ' || true
swift build -c release --product kafka-pipe >/dev/null
BIN="$(swift build -c release --show-bin-path)/kafka-pipe"
echo "binary: $BIN ($(du -h "$BIN" | cut -f1))"

say "starting the local services (scripts/services/start-all.sh)"
bash scripts/services/start-all.sh
# shellcheck disable=SC1091
. "$KP_SERVICES_DIR/env.sh"

say "kafka-pipe --version"
"$BIN" --version

shopt -s nullglob
examples=(examples/*.yaml)
if [ ${#examples[@]} -gt 0 ]; then
  say "kafka-pipe check ${examples[*]}"
  for f in "${examples[@]}"; do
    echo "--- $f"
    "$BIN" check "$f" || echo "(check of $f failed)"
  done
fi

# Connector steps (PostgreSQL -> Kafka -> ClickHouse / S3) are appended here as they land.

say "pg.Source: PostgreSQL 15 -> Kafka (sample table demo_users, changes shown with kcat)"
PSQL="${KP_PG15_BIN:+$KP_PG15_BIN/}psql"
DEMO_DIR="$(mktemp -d /tmp/kafka-pipe-demo.XXXXXX)"
DEMO_TOPIC_PREFIX="demo$(date +%s)"
"$PSQL" "$KP_PG15" -q -v ON_ERROR_STOP=1 <<'SQL'
SELECT pg_drop_replication_slot('demo_slot') FROM pg_replication_slots WHERE slot_name = 'demo_slot' AND NOT active;
DROP PUBLICATION IF EXISTS demo_pub;
DROP TABLE IF EXISTS demo_users;
CREATE TABLE demo_users (id int PRIMARY KEY, name text NOT NULL, balance numeric(10,2), tags text[], seen timestamptz);
SQL
cat > "$DEMO_DIR/pg-source.yaml" <<YAML
name: demo-pg-source
class: pg.Source
log: {level: info, pretty: true}
http: {listen: ""}
pg:
  url: $KP_PG15
  publication: demo_pub
  slot: demo_slot
  tables: [public.demo_users]
  heartbeat: 2s
kafka:
  brokers: [$KP_KAFKA]
  topic: {prefix: $DEMO_TOPIC_PREFIX}
  batch: {timeout: 50ms}
YAML
echo "--- $DEMO_DIR/pg-source.yaml"; cat "$DEMO_DIR/pg-source.yaml"
(cd "$DEMO_DIR" && exec "$BIN" pg-source.yaml >"$DEMO_DIR/pg-source.log" 2>&1) &
DEMO_PID=$!
for _ in $(seq 1 100); do grep -q streaming "$DEMO_DIR/pg-source.log" 2>/dev/null && break; sleep 0.1; done
echo "--- changes"
"$PSQL" "$KP_PG15" -v ON_ERROR_STOP=1 -e <<'SQL'
INSERT INTO demo_users VALUES (1, 'ada', 10.50, '{admin,dev}', '2024-06-01 10:00:00+00'), (2, 'bob', 0, '{}', NULL);
UPDATE demo_users SET balance = balance + 5 WHERE id = 1;
DELETE FROM demo_users WHERE id = 2;
SQL
sleep 2
echo "--- records in $DEMO_TOPIC_PREFIX.public.demo_users (key | value | headers)"
"$KP_KCAT" -b "$KP_KAFKA" -C -t "$DEMO_TOPIC_PREFIX.public.demo_users" -o beginning -e -q -f '%k | %s | %h\n' 2>/dev/null
kill -TERM "$DEMO_PID"; wait "$DEMO_PID" || true
echo "--- connector log"; cat "$DEMO_DIR/pg-source.log"
echo "--- saved position"; (cd "$DEMO_DIR" && "$BIN" state)
"$PSQL" "$KP_PG15" -q -c "SELECT pg_drop_replication_slot('demo_slot')" -c "DROP PUBLICATION demo_pub" >/dev/null || true

say "where things are"
cat <<EOF
Kafka (tansu)          $KP_KAFKA            TLS $KP_KAFKA_TLS, mTLS $KP_KAFKA_MTLS (CA $KP_KAFKA_TLS_CA)
Kafka mock cluster     $KP_KAFKA_MOCK
PostgreSQL 15          $KP_PG15
PostgreSQL 18          $KP_PG18
ClickHouse             native $KP_CH, HTTP $KP_CH_HTTP (users default, $KP_CH_USER/$KP_CH_PASSWORD)
ZooKeeper              $KP_ZK
S3 (moto)              $KP_S3 (key $KP_S3_KEY)

Look around:
  $KP_KCAT -b $KP_KAFKA -L
  psql "$KP_PG15"
  clickhouse-client --host ${KP_CH%:*} --port ${KP_CH##*:}
All addresses: . $KP_SERVICES_DIR/env.sh
The services keep running; stop them with: scripts/services/stop-all.sh  (add --wipe to delete their data)
EOF
