#!/usr/bin/env bash
# Producing and fetching N records of SIZE bytes to/from one topic of a private tansu (memory
# storage, its own port, stopped at the end): our client (pipe-bench kafka-bench, idempotent,
# acks=all) against kcat/librdkafka (-X acks=all -X linger.ms=5, records from a file) in the
# same run. Prints records/s, the ratio, CPU seconds (user+sys) and peak RSS of each side.
#   bench/kafka.sh [--records N] [--size BYTES] [--codec none|gzip|snappy|lz4|zstd]
# With --codec both producers compress their batches with it, so the fetch phase compares the
# decompressing consumers too.
# Env: KP_TANSU_BIN (else $KP_SERVICES_DIR/bin/tansu, else /work/devsvc-scripts/bin/tansu),
#      KP_KCAT (else /work/devsvc-scripts/kcat-modern). Shared setup and measure(): bench/lib.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N=1000000; SIZE=100; CODEC=none
while [ $# -gt 0 ]; do
  case "$1" in
    --records) N=$2; shift 2;;
    --size) SIZE=$2; shift 2;;
    --codec) CODEC=$2; shift 2;;
    *) echo "usage: $0 [--records N] [--size BYTES] [--codec C]" >&2; exit 2;;
  esac
done
. "$ROOT/bench/lib.sh"
bench_tools
OUT="$ROOT/bench/out/kafka"; rm -rf "$OUT"; mkdir -p "$OUT"
cd "$ROOT"
bench_build
bench_start_tansu
# The records kcat sends: N lines of SIZE bytes (the newline is the delimiter, not part of the value).
bench_records "$N" "$SIZE" "$OUT/records.txt"

"$KCAT" -b "$B" -L >/dev/null 2>&1 || true
measure ours_produce "$BIN" kafka-bench produce --brokers "$B" --topic bench_ours --records "$N" --size "$SIZE" --codec "$CODEC"
# kcat needs the topic first: create it with our admin client (1 partition, same as ours).
"$BIN" kafka-bench produce --brokers "$B" --topic bench_kcat --records 0 >/dev/null
measure kcat_produce "$KCAT" -P -b "$B" -t bench_kcat -p 0 -X acks=all -X linger.ms=5 -X enable.idempotence=true -z "$CODEC" -l "$OUT/records.txt"
measure ours_fetch "$BIN" kafka-bench fetch --brokers "$B" --topic bench_ours --records "$N"
measure kcat_fetch sh -c "'$KCAT' -C -b '$B' -t bench_kcat -p 0 -o beginning -e -q -f '%s\n' | wc -l"
KCAT_COUNT=$(tr -d ' ' < "$OUT/kcat_fetch.out")
[ "$KCAT_COUNT" = "$N" ] || echo "warning: kcat fetched $KCAT_COUNT of $N records" >&2

echo "codec: $CODEC"
awk -v n="$N" '
  { wall[$1] = $2; cpu[$1] = $3; rss[$1] = $4 }
  END {
    for (phase in a) {}
    split("produce fetch", ph, " ")
    for (i = 1; i <= 2; i++) {
      p = ph[i]; o = "ours_" p; k = "kcat_" p
      ro = n / wall[o]; rk = n / wall[k]
      printf "%-7s ours: %9.0f records/s  cpu %6.2f s (%5.2f us/record)  peak RSS %5d MiB\n", p, ro, cpu[o], cpu[o] * 1e6 / n, rss[o]
      printf "%-7s kcat: %9.0f records/s  cpu %6.2f s (%5.2f us/record)  peak RSS %5d MiB\n", p, rk, cpu[k], cpu[k] * 1e6 / n, rss[k]
      printf "%-7s ratio ours/kcat: throughput %.2f, cpu per record %.2f\n", p, ro / rk, cpu[o] / cpu[k]
    }
  }' "$OUT/results"
