#!/usr/bin/env bash
# ch.Sink throughput: N JSON records of 10 fields in Kafka into a MergeTree table, the release
# kafka-pipe (ch.Sink) against `kcat -C -e | clickhouse-client --query "INSERT … FORMAT JSONEachRow"`,
# same broker, same server, same run. Prints rows/s, CPU seconds, peak RSS and the ratios.
#   bench/chsink.sh [--records N] [--batch N] [--timeout D]   (defaults 1,000,000, 100,000 and 250ms)
# ClickHouse from KP_CH / KP_CH_USER / KP_CH_PASSWORD (default: the dev server on 127.0.0.1:9000);
# a private tansu (memory storage) from KP_TANSU_BIN or the services folder.
# ours: wall time from start until every row is in the table (so it includes joining the group);
# cpu_s and rss of the kafka-pipe process. theirs: the pipeline to its end (kcat exits at the end
# of the topic), cpu_s summed over kcat and clickhouse-client, rss the larger of the two.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
N=1000000; BATCH=100000; TIMEOUT=250ms
while [ $# -gt 0 ]; do
  case "$1" in
    --records) N=$2; shift 2;; --batch) BATCH=$2; shift 2;; --timeout) TIMEOUT=$2; shift 2;; *) echo "unknown option $1" >&2; exit 2;;
  esac
done
[ -f .services/env.sh ] && . .services/env.sh
CH=${KP_CH:-127.0.0.1:9000}; CHU=${KP_CH_USER:-default}; CHP=${KP_CH_PASSWORD:-}
CH_HOST=${CH%:*}; CH_PORT=${CH##*:}
OUT=$(mktemp -d)
. bench/lib.sh
bench_tools
KCAT="${KP_KCAT:-$ROOT/scripts/tools/kcat}"
chq() { clickhouse-client --host "$CH_HOST" --port "$CH_PORT" --user "$CHU" --password "$CHP" "$@"; }

echo "building the release binary..." >&2
swift build -c release --product kafka-pipe >/dev/null
BIN="$(swift build -c release --show-bin-path)/kafka-pipe"
bench_start_tansu
TOPIC=chbench
python3 - "$N" "$OUT/records.json" <<'PY'
import sys, json
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for i in range(n):
        # Forms ClickHouse 18.16's JSONEachRow reads too: Decimal as a number, 0/1 for UInt8,
        # DateTime as "YYYY-MM-DD hh:mm:ss".
        t = 1700000000 + i
        at = "%04d-%02d-%02d %02d:%02d:%02d" % (2023, 11, 14 + (t - 1699920000) // 86400 % 14, (t // 3600) % 24, (t // 60) % 60, t % 60)
        f.write(json.dumps({"id": i, "user": f"user-{i % 5000}", "amount": float(f"{i % 100000}.{i % 100:02d}"),
                            "qty": i % 97, "price": (i % 1000) / 8, "ok": int(i % 3 == 0), "country": ["DE", "FR", "US", "JP"][i % 4],
                            "at": at, "tags": ["a", "b"][: i % 3], "note": "lorem ipsum dolor sit amet"},
                           separators=(",", ":")) + "\n")
PY
"$KCAT" -b "$B" -P -t "$TOPIC" -l "$OUT/records.json" 2>"$OUT/kcat-produce.err"
SCHEMA="(id UInt64, user String, amount Decimal(12, 2), qty UInt16, price Float64, ok UInt8, country String, at DateTime, tags Array(String), note String) ENGINE = MergeTree ORDER BY id"
chq -q "DROP TABLE IF EXISTS default.chbench_ours"; chq -q "DROP TABLE IF EXISTS default.chbench_theirs"
chq -q "CREATE TABLE default.chbench_ours $SCHEMA"; chq -q "CREATE TABLE default.chbench_theirs $SCHEMA"

# ours
mkdir -p "$OUT/pipe"
cat > "$OUT/pipe/pipe.yaml" <<EOF
name: chbench
class: ch.Sink
log: {level: info}
http: {listen: ""}
kafka:
  brokers: [$B]
  group: chbench-$RANDOM
  topics: [$TOPIC]
  batch: {size: $BATCH, timeout: $TIMEOUT}
click_house: {addrs: [$CH], database: default, user: $CHU, password: "$CHP"}
routes: {"^$TOPIC\$": chbench_ours}
EOF
start=$(date +%s.%N)
# KP_BENCH_PERF=FILE records a CPU profile of ours with perf (the numbers then include perf's cost)
PERF=(); [ -n "${KP_BENCH_PERF:-}" ] && PERF=(perf record -F 999 ${KP_BENCH_PERF_ARGS:-} -o "$KP_BENCH_PERF" --)
(cd "$OUT/pipe" && exec /usr/bin/time -v -o "$OUT/ours.time" "${PERF[@]}" "$BIN" pipe.yaml > "$OUT/ours.out" 2>&1) &
TPID=$!
while :; do
  c=$(chq -q "SELECT count() FROM default.chbench_ours")
  [ "$c" -ge "$N" ] && break
  if ! kill -0 $TPID 2>/dev/null; then echo "kafka-pipe stopped early:" >&2; tail -5 "$OUT/ours.out" >&2; exit 1; fi
  sleep 0.1
done
end=$(date +%s.%N)
pkill -TERM -P $TPID || true; [ -n "${KP_BENCH_PERF:-}" ] && { sleep 1; pkill -TERM -f "$BIN pipe.yaml" || true; }
wait $TPID || true
ours_wall=$(echo "$end - $start" | bc -l)
# The group join is the broker's to time (tansu answers JoinGroup after half the session timeout,
# 5 s; Kafka waits group.initial.rebalance.delay.ms, 3 s): also measured from the assignment on.
assigned_ts=$(grep -m1 'partitions assigned' "$OUT/ours.out" | sed 's/.*"ts":"\([^"]*\)".*/\1/')
ours_after_join=$(echo "$end - $(date -d "$assigned_ts" +%s.%N)" | bc -l)
ours_cpu=$(awk -F: '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$OUT/ours.time")
ours_rss=$(awk -F: '/Maximum resident/ {printf "%d", $2/1024}' "$OUT/ours.time")

# theirs
start=$(date +%s.%N)
/usr/bin/time -v -o "$OUT/theirs.time" bash -c "'$KCAT' -b $B -C -t $TOPIC -o beginning -e -q -f '%s\n' \
  | clickhouse-client --host $CH_HOST --port $CH_PORT --user $CHU --password '$CHP' --query 'INSERT INTO default.chbench_theirs FORMAT JSONEachRow'"
end=$(date +%s.%N)
theirs_wall=$(echo "$end - $start" | bc -l)
theirs_cpu=$(awk -F: '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$OUT/theirs.time")
theirs_rss=$(awk -F: '/Maximum resident/ {printf "%d", $2/1024}' "$OUT/theirs.time")

ours_rows=$(chq -q "SELECT count() FROM default.chbench_ours"); theirs_rows=$(chq -q "SELECT count() FROM default.chbench_theirs")
same=$(chq -q "SELECT (SELECT sum(cityHash64(id, user, toString(amount), qty, price, ok, country, at, tags, note)) FROM default.chbench_ours) = (SELECT sum(cityHash64(id, user, toString(amount), qty, price, ok, country, at, tags, note)) FROM default.chbench_theirs)")
printf "%-32s %10s %9s %8s %9s %8s\n" tool rows rows/s cpu_s rss_MiB wall_s
printf "%-32s %10d %9.0f %8.2f %9d %8.2f\n" "kafka-pipe ch.Sink" "$ours_rows" "$(echo "$N / $ours_wall" | bc -l)" "$ours_cpu" "$ours_rss" "$ours_wall"
printf "%-32s %10d %9.0f %8.2f %9d %8.2f\n" "kcat | clickhouse-client" "$theirs_rows" "$(echo "$N / $theirs_wall" | bc -l)" "$theirs_cpu" "$theirs_rss" "$theirs_wall"
printf "%-32s %10d %9.0f %8s %9s %8.2f\n" "kafka-pipe ch.Sink after join" "$ours_rows" "$(echo "$N / $ours_after_join" | bc -l)" - - "$ours_after_join"
printf "ratio: speed %.2fx (theirs wall / ours), after the group join %.2fx, cpu %.2fx (theirs cpu / ours); tables identical: %s\n" \
  "$(echo "$theirs_wall / $ours_wall" | bc -l)" "$(echo "$theirs_wall / $ours_after_join" | bc -l)" "$(echo "$theirs_cpu / $ours_cpu" | bc -l)" "$([ "$same" = 1 ] && echo yes || echo NO)"
chq -q "DROP TABLE default.chbench_ours"; chq -q "DROP TABLE default.chbench_theirs"
rm -rf "$OUT"
