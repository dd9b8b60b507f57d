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

# ---- BEGIN PostgreSQL -> Kafka -> ClickHouse (issue #10): pg.Source and ch.Sink together ----
demo_pg_to_clickhouse() {
  say "PostgreSQL -> Kafka -> ClickHouse: pg.Source and ch.Sink running together"
  local dir prefix topic src_pid sink_pid n
  dir="$(mktemp -d /tmp/kafka-pipe-demo-ch.XXXXXX)"; prefix="democh$(date +%s)"; topic="$prefix.public.demo_orders"
  "$PSQL" "$KP_PG15" -q -v ON_ERROR_STOP=1 <<'SQL'
SELECT pg_drop_replication_slot('demo_ch_slot') FROM pg_replication_slots WHERE slot_name = 'demo_ch_slot' AND NOT active;
DROP PUBLICATION IF EXISTS demo_ch_pub;
DROP TABLE IF EXISTS demo_orders;
CREATE TABLE demo_orders (id int PRIMARY KEY, customer text NOT NULL, amount numeric(10,2), items text[], placed timestamptz, paid boolean);
SQL
  clickhouse-client --host "${KP_CH%:*}" --port "${KP_CH##*:}" --user "$KP_CH_USER" --password "$KP_CH_PASSWORD" --multiquery -q "
    DROP TABLE IF EXISTS default.demo_orders;
    CREATE TABLE default.demo_orders (id Int32, customer String, amount Decimal(10, 2), items Array(String),
      placed Nullable(DateTime), paid UInt8, loaded DateTime DEFAULT now())
    ENGINE = ReplacingMergeTree ORDER BY id"
  cat > "$dir/source.yaml" <<YAML
name: demo-ch-source
class: pg.Source
log: {level: info, pretty: true}
http: {listen: ""}
pg: {url: $KP_PG15, publication: demo_ch_pub, slot: demo_ch_slot, tables: [public.demo_orders], heartbeat: 2s}
kafka: {brokers: [$KP_KAFKA], topic: {prefix: $prefix}, batch: {timeout: 50ms}}
YAML
  cat > "$dir/sink.yaml" <<YAML
name: demo-ch-sink
class: ch.Sink
log: {level: info, pretty: true}
http: {listen: ""}
kafka: {brokers: [$KP_KAFKA], group: demo-ch-$prefix, topics: [$topic], batch: {size: 10000, timeout: 500ms}}
click_house: {addrs: [$KP_CH], database: default, user: $KP_CH_USER, password: "$KP_CH_PASSWORD"}
routes: {'^$prefix\.public\.demo_orders\$': demo_orders}
YAML
  echo "--- $dir/sink.yaml"; sed "s/password: .*/password: \"***\"}/" "$dir/sink.yaml"
  mkdir -p "$dir/src" "$dir/sink"
  (cd "$dir/src" && exec "$BIN" ../source.yaml > ../source.log 2>&1) &
  src_pid=$!
  for _ in $(seq 1 100); do grep -q streaming "$dir/source.log" 2>/dev/null && break; sleep 0.1; done
  echo "--- changes in PostgreSQL"
  "$PSQL" "$KP_PG15" -v ON_ERROR_STOP=1 -e <<'SQL'
INSERT INTO demo_orders VALUES (1, 'ada', 10.50, '{book,pen}', '2024-06-01 10:00:00+00', true),
  (2, 'bob', 99.99, '{}', NULL, false), (3, 'eve', 0.01, '{coffee}', '2024-06-02 08:30:00.5+02', true);
UPDATE demo_orders SET amount = amount + 5, paid = true WHERE id = 2;
SQL
  (cd "$dir/sink" && exec "$BIN" ../sink.yaml > ../sink.log 2>&1) &
  sink_pid=$!
  n=0
  for _ in $(seq 1 120); do
    n=$(clickhouse-client --host "${KP_CH%:*}" --port "${KP_CH##*:}" --user "$KP_CH_USER" --password "$KP_CH_PASSWORD" -q "SELECT count() FROM default.demo_orders" 2>/dev/null || echo 0)
    [ "$n" -ge 4 ] && break
    sleep 0.5
  done
  kill -TERM "$sink_pid" "$src_pid"; wait "$sink_pid" || true; wait "$src_pid" || true
  echo "--- rows in ClickHouse (SELECT ... FINAL: the update replaced the insert of id 2)"
  clickhouse-client --host "${KP_CH%:*}" --port "${KP_CH##*:}" --user "$KP_CH_USER" --password "$KP_CH_PASSWORD" \
    -q "SELECT id, customer, amount, items, placed, paid FROM default.demo_orders FINAL ORDER BY id FORMAT PrettyCompact"
  echo "--- ch.Sink log"; grep -vE 'DEBUG' "$dir/sink.log" || true
  echo "--- ch.Sink's saved ranges"; (cd "$dir/sink" && "$BIN" state)
  "$PSQL" "$KP_PG15" -q -c "SELECT pg_drop_replication_slot('demo_ch_slot')" -c "DROP PUBLICATION demo_ch_pub" >/dev/null || true
}
demo_pg_to_clickhouse
# ---- END PostgreSQL -> Kafka -> ClickHouse ----

# ---- BEGIN s3 round trip (issue #12): Kafka -> s3.Sink -> S3 -> s3.Backup -> a fresh broker ----
demo_s3_roundtrip() {
  say "Kafka -> S3 -> Kafka: s3.Sink stores a topic in S3, s3.Backup restores it into a fresh broker"
  local dir topic bucket tport tpid sink_pid
  dir="$(mktemp -d)"; topic="demo-s3-$RANDOM"; bucket="demo-s3-$RANDOM"
  "$KP_PYTHON" -c "import boto3; from botocore.config import Config; boto3.client('s3', endpoint_url='$KP_S3', \
    aws_access_key_id='$KP_S3_KEY', aws_secret_access_key='$KP_S3_SECRET', region_name='us-east-1', \
    config=Config(s3={'addressing_style': 'path'})).create_bucket(Bucket='$bucket')"
  echo "--- producing 5 records to $topic with kcat (a null key, a null value, binary bytes, headers)"
  printf 'user-1:{"id":1,"name":"Ada"}\nuser-2:{"id":2}\n:no key\nuser-4:\nuser-5:\377\376binary\n' \
    | "$KP_KCAT" -b "$KP_KAFKA" -P -t "$topic" -K: -Z -H source=demo -H lsn=0/1A2B3C8
  cat > "$dir/sink.yaml" <<YAML
name: demo-s3-sink
class: s3.Sink
log: {level: debug, pretty: true}
http: {listen: ""}
kafka: {brokers: [$KP_KAFKA], group: demo-$topic, topics: [$topic], batch: {size: 1000, timeout: 1s}}
s3: {endpoint: "$KP_S3", bucket: $bucket, id: $KP_S3_KEY, secret: "$KP_S3_SECRET"}
group_time_interval: 1h
YAML
  echo "--- kafka-pipe $dir/sink.yaml (s3.Sink), stopped with SIGTERM once the records are stored"
  (cd "$dir" && exec "$BIN" sink.yaml > sink.log 2>&1) &
  sink_pid=$!
  for _ in $(seq 1 120); do
    [ "$(grep -c 's3.Sink: stored' "$dir/sink.log" 2>/dev/null)" -gt 0 ] && sleep 2 && break
    sleep 0.5
  done
  kill -TERM "$sink_pid"; wait "$sink_pid" || true
  grep -E 'stored|running|stopped' "$dir/sink.log" || true
  echo "--- the objects, and one of them through gzip -dc"
  "$KP_PYTHON" - "$KP_S3" "$KP_S3_KEY" "$KP_S3_SECRET" "$bucket" <<'PY'
import boto3, gzip, sys
from botocore.config import Config
ep, key, secret, bucket = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=key, aws_secret_access_key=secret,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
for k in keys:
    print(k, "count", s3.head_object(Bucket=bucket, Key=k)["Metadata"].get("count"))
for k in keys:
    print(gzip.decompress(s3.get_object(Bucket=bucket, Key=k)["Body"].read()).decode(), end="")
PY
  tport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "${KP_TANSU_BIN:-$KP_SERVICES_DIR/bin/tansu}" broker --listener-url "tcp://127.0.0.1:$tport" \
    --advertised-listener-url "tcp://127.0.0.1:$tport" --storage-engine memory://tansu/ > "$dir/tansu.log" 2>&1 &
  tpid=$!
  for _ in $(seq 1 100); do python3 -c "import socket,sys; sys.exit(socket.socket().connect_ex(('127.0.0.1',$tport)))" && break; sleep 0.05; done
  cat > "$dir/backup.yaml" <<YAML
name: demo-s3-backup
class: s3.Backup
log: {level: info, pretty: true}
http: {listen: ""}
kafka: {brokers: [127.0.0.1:$tport]}
s3: {endpoint: "$KP_S3", bucket: $bucket, id: $KP_S3_KEY, secret: "$KP_S3_SECRET"}
topics: [$topic]
date_since: "2000-01-01 00:00:00"
date_to: "2099-12-31 23:59:59"
YAML
  echo "--- kafka-pipe $dir/backup.yaml (s3.Backup into a fresh tansu on port $tport)"
  (cd "$dir" && "$BIN" backup.yaml) || echo "(s3.Backup failed)"
  echo "--- the original topic and the restored one (partition|key|value|headers|timestamp)"
  "$KP_KCAT" -b "$KP_KAFKA" -C -t "$topic" -e -q -f '%p|%k|%s|%h|%T\n' 2>/dev/null | sort > "$dir/orig.txt"
  "$KP_KCAT" -b "127.0.0.1:$tport" -C -t "$topic" -e -q -f '%p|%k|%s|%h|%T\n' 2>/dev/null | sort > "$dir/restored.txt"
  cat -v "$dir/restored.txt"
  if cmp -s "$dir/orig.txt" "$dir/restored.txt"; then echo "identical: the round trip is lossless"; else echo "DIFFERENT"; diff "$dir/orig.txt" "$dir/restored.txt" || true; fi
  kill "$tpid" 2>/dev/null || true
}
demo_s3_roundtrip
# ---- END s3 round trip ----

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
