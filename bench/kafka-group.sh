#!/usr/bin/env bash
# One consumer-group member reading N records of SIZE bytes from a 1-partition topic of a private
# tansu (memory storage, its own port, stopped at the end): our KafkaGroupConsumer
# (pipe-bench group-consumer, committing after each batch) against `kcat -G` (librdkafka,
# range assignor, auto commit) in the same run, each in its own new group from the earliest
# offset. Prints records/s, CPU seconds (user+sys), peak RSS and the ratios.
#   bench/kafka-group.sh [--records N] [--size BYTES]
# Env: KP_TANSU_BIN (else $KP_SERVICES_DIR/bin/tansu, else /work/devsvc-scripts/bin/tansu),
#      KP_KCAT (else /work/devsvc-scripts/kcat-modern). Shared setup and measure(): bench/lib.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N=1000000; SIZE=100
while [ $# -gt 0 ]; do
  case "$1" in
    --records) N=$2; shift 2;;
    --size) SIZE=$2; shift 2;;
    *) echo "usage: $0 [--records N] [--size BYTES]" >&2; exit 2;;
  esac
done
. "$ROOT/bench/lib.sh"
bench_tools
OUT="$ROOT/bench/out/kafka-group"; rm -rf "$OUT"; mkdir -p "$OUT"
cd "$ROOT"
bench_build
bench_start_tansu
# The records kcat sends: N lines of SIZE bytes (the newline is the delimiter, not part of the value).
bench_records "$N" "$SIZE" "$OUT/records.txt"

# The topic (1 partition, made by our admin client), filled by kcat.
"$BIN" kafka-bench produce --brokers "$B" --topic bench_group --records 0 >/dev/null
"$KCAT" -P -b "$B" -t bench_group -p 0 -X linger.ms=5 -l "$OUT/records.txt"

measure ours "$BIN" group-consumer --bootstrap "$B" --group bench-ours --topic bench_group --max "$N" --quiet 1
OURS_COUNT=$(awk '/^DONE/ {print $2}' "$OUT/ours.out")
[ "$OURS_COUNT" = "$N" ] || echo "warning: ours consumed $OURS_COUNT of $N records" >&2
measure kcat sh -c "'$KCAT' -b '$B' -G bench-kcat -X partition.assignment.strategy=range -X auto.offset.reset=earliest -e -q -f '%s\n' bench_group | wc -l"
KCAT_COUNT=$(tr -d ' ' < "$OUT/kcat.out")
[ "$KCAT_COUNT" = "$N" ] || echo "warning: kcat consumed $KCAT_COUNT of $N records" >&2

awk -v n="$N" '
  { wall[$1] = $2; cpu[$1] = $3; rss[$1] = $4 }
  END {
    ro = n / wall["ours"]; rk = n / wall["kcat"]
    printf "group consume ours: %9.0f records/s  cpu %6.2f s  peak RSS %5d MiB\n", ro, cpu["ours"], rss["ours"]
    printf "group consume kcat: %9.0f records/s  cpu %6.2f s  peak RSS %5d MiB\n", rk, cpu["kcat"], rss["kcat"]
    printf "ratio ours/kcat: throughput %.2f, cpu %.2f, peak RSS %.2f\n", ro / rk, cpu["ours"] / cpu["kcat"], rss["ours"] / rss["kcat"]
  }' "$OUT/results"
