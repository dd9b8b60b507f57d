#!/usr/bin/env bash
# Kafka -> S3 -> Kafka: N records of SIZE bytes in one partition of a private tansu (memory
# storage), stored in a private moto by s3.Sink (release kafka-pipe), then restored by s3.Backup
# into a second private tansu. Reference in the same run: `kcat -C -e | gzip | aws s3 cp -` for
# the same topic (and `aws s3 cp - | gunzip | kcat -P` back). Prints records/s, CPU seconds
# (user+sys) and peak RSS of each side, and the ratios.
#   bench/s3-roundtrip.sh [--records N] [--size BYTES] [--batch RECORDS]
# Notes: our sink writes JSON lines (offset, key, value, headers, timestamp) and applies the 5 MiB
# merge rule; the reference stores the raw values only. `aws` is the AWS CLI when installed,
# else a boto3 script reading stdin (printed below). moto is a Python server: both sides share
# its speed limit. Env: KP_TANSU_BIN, KP_KCAT, KP_PYTHON, KP_TOOLS (moto_s3_server.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N=1000000; SIZE=200; BATCH=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --records) N=$2; shift 2;;
    --size) SIZE=$2; shift 2;;
    --batch) BATCH=$2; shift 2;;
    *) echo "usage: $0 [--records N] [--size BYTES] [--batch RECORDS]" >&2; exit 2;;
  esac
done
TANSU="${KP_TANSU_BIN:-}"
[ -z "$TANSU" ] && [ -n "${KP_SERVICES_DIR:-}" ] && [ -x "$KP_SERVICES_DIR/bin/tansu" ] && TANSU="$KP_SERVICES_DIR/bin/tansu"
[ -z "$TANSU" ] && TANSU=/work/devsvc-scripts/bin/tansu
KCAT="${KP_KCAT:-/work/devsvc-scripts/kcat-modern}"
PY="${KP_PYTHON:-python3}"
MOTO="${KP_TOOLS:-$ROOT/scripts/tools}/moto_s3_server.py"
KEY=AKIATESTKEY000000001; SECRET=testsecret-0123456789
OUT="$ROOT/bench/out/s3-roundtrip"; rm -rf "$OUT"; mkdir -p "$OUT"

cd "$ROOT"
swift build -c release --product kafka-pipe >/dev/null
BIN="$(swift build -c release --show-bin-path)/kafka-pipe"

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 1 600); do python3 -c "import socket,sys; sys.exit(socket.socket().connect_ex(('127.0.0.1',$1)))" && return 0; sleep 0.05; done; return 1; }
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
tansu() { # port -> starts a private tansu
  "$TANSU" broker --listener-url "tcp://127.0.0.1:$1" --advertised-listener-url "tcp://127.0.0.1:$1" \
    --storage-engine memory://tansu/ > "$OUT/tansu-$1.log" 2>&1 &
  PIDS+=($!); waitport "$1"
}
P1=$(freeport); tansu "$P1"; P2=$(freeport); tansu "$P2"
PM=$(freeport)
"$PY" "$MOTO" --host 127.0.0.1 --port "$PM" --access-key "$KEY" --secret "$SECRET" > "$OUT/moto.log" 2>&1 &
PIDS+=($!); waitport "$PM"
S3="http://127.0.0.1:$PM"
export AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET AWS_DEFAULT_REGION=us-east-1
"$PY" -c "import boto3; boto3.client('s3', endpoint_url='$S3').create_bucket(Bucket='bench')"

if command -v aws >/dev/null 2>&1; then
  UPLOAD=(aws --endpoint-url "$S3" s3 cp - s3://bench/reference/all.gz)
  DOWNLOAD=(aws --endpoint-url "$S3" s3 cp s3://bench/reference/all.gz -)
  echo "reference uploader: aws CLI ($(aws --version 2>&1 | cut -d' ' -f1))"
else
  cat > "$OUT/put.py" <<PYEOF
import boto3, sys
s3 = boto3.client("s3", endpoint_url="$S3")
if sys.argv[1] == "put": s3.upload_fileobj(sys.stdin.buffer, "bench", "reference/all.gz")
else: s3.download_fileobj("bench", "reference/all.gz", sys.stdout.buffer)
PYEOF
  UPLOAD=("$PY" "$OUT/put.py" put); DOWNLOAD=("$PY" "$OUT/put.py" get)
  echo "reference uploader: no aws CLI, a boto3 script reading stdin ($OUT/put.py)"
fi

# N records of SIZE bytes, keys "k<i>", one partition.
"$PY" - "$N" "$SIZE" "$OUT/records.txt" <<'PYEOF'
import sys
n, size, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    for i in range(n):
        v = ("%d-" % i) + "".join(chr(97 + (i * 7 + j) % 26) for j in range(size))
        f.write("k%d:%s\n" % (i, v[:size]))
PYEOF
"$KCAT" -b "127.0.0.1:$P1" -L >/dev/null 2>&1 || true
"$KCAT" -b "127.0.0.1:$P1" -P -t bench -p 0 -K: -l "$OUT/records.txt" 2> "$OUT/produce.err" || true
GOT=$("$KCAT" -b "127.0.0.1:$P1" -C -t bench -o beginning -e -q -f '.' 2>/dev/null | wc -c)
echo "topic bench: $GOT records of $SIZE bytes"

measure_until() { # name logfile pattern cmd... : runs cmd in the background until pattern shows in logfile, then SIGTERM
  local name=$1 log=$2 pattern=$3; shift 3
  local start end pid
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$OUT/$name.time" "$@" > "$log" 2>&1 &
  pid=$!
  until grep -q -- "$pattern" "$log" 2>/dev/null; do
    if [ -z "${ASSIGNED_AT:-}" ] && grep -q 'partitions assigned' "$log" 2>/dev/null; then ASSIGNED_AT=$(date +%s.%N); fi
    kill -0 "$pid" 2>/dev/null || { echo "$name ended early:"; tail -5 "$log"; break; }
    sleep 0.1
  done
  end=$(date +%s.%N)
  UNTIL_END=$end
  pkill -TERM -P "$pid" 2>/dev/null || true
  wait "$pid" || true
  report "$name" "$start" "$end"
}
measure() { # name cmd...
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$OUT/$name.time" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err" || echo "$name failed: $(tail -3 "$OUT/$name.err")"
  end=$(date +%s.%N)
  report "$name" "$start" "$end"
}
report() {
  local cpu rss
  cpu=$(awk -F: '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$OUT/$1.time")
  rss=$(awk -F: '/Maximum resident/ {printf "%d", $2/1024}' "$OUT/$1.time")
  echo "$1 $(echo "$3 - $2" | bc -l) $cpu $rss" >> "$OUT/results"
}

cat > "$OUT/sink.yaml" <<EOF
name: bench-sink
class: s3.Sink
log: {level: debug, pretty: true}
http: {listen: ""}
kafka: {brokers: [127.0.0.1:$P1], group: bench, topics: [bench], batch: {size: $BATCH, timeout: 2s}}
s3: {endpoint: "$S3", bucket: bench, id: $KEY, secret: "$SECRET"}
group_time_interval: 1h
EOF
cat > "$OUT/backup.yaml" <<EOF
name: bench-backup
class: s3.Backup
log: {level: info}
http: {listen: ""}
kafka: {brokers: [127.0.0.1:$P2], batch: {size: 10000}}
s3: {endpoint: "$S3", bucket: bench, id: $KEY, secret: "$SECRET"}
topics: [bench]
date_since: "2000-01-01 00:00:00"
date_to: "2099-12-31 23:59:59"
EOF
cd "$OUT"
measure_until ours_sink "$OUT/sink.log" "last=$((N - 1))" "$BIN" "$OUT/sink.yaml"
# The group join alone can take seconds (tansu holds the first JoinGroup for its rebalance delay):
# the sink's time after its partitions were assigned is printed apart.
measure ref_sink sh -c "'$KCAT' -C -b 127.0.0.1:$P1 -t bench -p 0 -o beginning -e -q | gzip | ${UPLOAD[*]}"
measure ours_backup "$BIN" "$OUT/backup.yaml"
measure ref_backup sh -c "${DOWNLOAD[*]} | gunzip | '$KCAT' -P -b 127.0.0.1:$P2 -t reference -p 0"
RESTORED=$("$KCAT" -b "127.0.0.1:$P2" -C -t bench -o beginning -e -q -f '.' 2>/dev/null | wc -c)
echo "restored by s3.Backup: $RESTORED of $N records; objects: $("$PY" -c "import boto3; print(len(boto3.client('s3', endpoint_url='$S3').list_objects_v2(Bucket='bench', Prefix='bench/').get('Contents', [])))")"

awk -v n="$N" '
  { wall[$1] = $2; cpu[$1] = $3; rss[$1] = $4 }
  END {
    split("sink backup", ph, " ")
    for (i = 1; i <= 2; i++) {
      p = ph[i]; o = "ours_" p; k = "ref_" p
      ro = n / wall[o]; rk = n / wall[k]
      printf "%-7s ours: %9.0f records/s  %6.1f s  cpu %6.2f s  peak RSS %5d MiB\n", p, ro, wall[o], cpu[o], rss[o]
      printf "%-7s ref:  %9.0f records/s  %6.1f s  cpu %6.2f s  peak RSS %5d MiB\n", p, rk, wall[k], cpu[k], rss[k]
      printf "%-7s ratio ours/ref: %.2fx records/s, %.2fx cpu\n", p, ro / rk, (cpu[k] > 0 ? cpu[o] / cpu[k] : 0)
    }
  }' "$OUT/results"
if [ -n "${ASSIGNED_AT:-}" ]; then
  REF_SINK=$(awk '$1 == "ref_sink" { print $2 }' "$OUT/results")
  AFTER=$(echo "$UNTIL_END - $ASSIGNED_AT" | bc -l)
  printf "sink    ours after the group join (partitions assigned): %9.0f records/s  %6.1f s; ratio ours/ref %.2fx\n" \
    "$(echo "$N / $AFTER" | bc -l)" "$AFTER" "$(echo "$REF_SINK / $AFTER" | bc -l)"
fi
