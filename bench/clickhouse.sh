#!/usr/bin/env bash
# ClickHouse native inserts: N rows (UInt64, String, DateTime, Float64, Nullable(String)) into a
# MergeTree table with our client (pipe-bench ch-insert: rows built with ClickHouseColumnBuilder,
# blocks of 1,000,000, LZ4) against `clickhouse-client --query "INSERT ... FORMAT Native"` reading
# the same rows from a Native file (written beforehand by pipe-bench, not timed), same server, same
# run. Prints rows/s, CPU seconds, peak RSS and the ratios; the two tables are compared by hash.
#   bench/clickhouse.sh [--rows N]      (default 10,000,000)
# ClickHouse from KP_CH / KP_CH_USER / KP_CH_PASSWORD (default: the dev server on 127.0.0.1:9000).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
N=10000000
while [ $# -gt 0 ]; do
  case "$1" in --rows) N=$2; shift 2;; *) echo "unknown option $1" >&2; exit 2;; esac
done
[ -f .services/env.sh ] && . .services/env.sh
CH=${KP_CH:-127.0.0.1:9000}; CHU=${KP_CH_USER:-default}; CHP=${KP_CH_PASSWORD:-}
CH_HOST=${CH%:*}; CH_PORT=${CH##*:}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
chq() { clickhouse-client --host "$CH_HOST" --port "$CH_PORT" --user "$CHU" --password "$CHP" "$@"; }

echo "building the release pipe-bench..." >&2
swift build -c release --product pipe-bench >/dev/null
BIN="$(swift build -c release --show-bin-path)/pipe-bench"
SCHEMA="(id UInt64, name String, at DateTime, price Float64, note Nullable(String)) ENGINE = MergeTree ORDER BY id"
for t in chbench_native_ours chbench_native_theirs; do chq -q "DROP TABLE IF EXISTS default.$t"; chq -q "CREATE TABLE default.$t $SCHEMA"; done
"$BIN" ch-insert --addr "$CH" --table x --rows "$N" --native-file "$OUT/rows.native" >/dev/null
echo "native file: $(du -m "$OUT/rows.native" | cut -f1) MiB" >&2

measure() { # name cmd... (stdin from $IN when set) -> "wall cpu rss_mib"
  local name=$1; shift
  local s e
  s=$(date +%s.%N)
  if [ -n "${IN:-}" ]; then /usr/bin/time -v -o "$OUT/$name.time" "$@" <"$IN" >"$OUT/$name.out"
  else /usr/bin/time -v -o "$OUT/$name.time" "$@" >"$OUT/$name.out"; fi
  e=$(date +%s.%N)
  echo "$(echo "$e - $s" | bc -l) $(awk -F: '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$OUT/$name.time") $(awk -F: '/Maximum resident/ {printf "%d", $2/1024}' "$OUT/$name.time")"
}
read -r ow oc orss <<<"$(measure ours "$BIN" ch-insert --addr "$CH" --user "$CHU" --password "$CHP" --table default.chbench_native_ours --rows "$N")"
read -r tw tc trss <<<"$(IN="$OUT/rows.native" measure theirs clickhouse-client --host "$CH_HOST" --port "$CH_PORT" --user "$CHU" --password "$CHP" --query "INSERT INTO default.chbench_native_theirs FORMAT Native")"

h() { chq -q "SELECT count(), sum(cityHash64(id, name, at, price, note)) FROM default.$1"; }
same=$([ "$(h chbench_native_ours)" = "$(h chbench_native_theirs)" ] && echo yes || echo NO)
printf "%-28s %10s %10s %8s %9s %8s\n" tool rows rows/s cpu_s rss_MiB wall_s
printf "%-28s %10d %10.0f %8.2f %9d %8.2f\n" "kafka-pipe native client" "$N" "$(echo "$N / $ow" | bc -l)" "$oc" "$orss" "$ow"
printf "%-28s %10d %10.0f %8.2f %9d %8.2f\n" "clickhouse-client Native" "$N" "$(echo "$N / $tw" | bc -l)" "$tc" "$trss" "$tw"
printf "ratio: speed %.2fx (theirs wall / ours), cpu %.2fx (theirs cpu / ours); tables identical: %s\n" \
  "$(echo "$tw / $ow" | bc -l)" "$(echo "$tc / $oc" | bc -l)" "$same"
for t in chbench_native_ours chbench_native_theirs; do chq -q "DROP TABLE default.$t"; done
