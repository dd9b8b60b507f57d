#!/usr/bin/env bash
# One consumer-group member reading N records of SIZE bytes from a 1-partition topic of a private
# tansu (memory storage, its own port, stopped at the end): our KafkaGroupConsumer
# (pipe-bench group-consumer, committing after each batch) against `kcat -G` (librdkafka,
# range assignor, auto commit) in the same run, each in its own new group from the earliest
# offset. Prints records/s, CPU seconds (user+sys), peak RSS and the ratios.
#   bench/kafka-group.sh [--records N] [--size BYTES]
# Env: KP_TANSU_BIN (else $KP_SERVICES_DIR/bin/tansu, else /work/devsvc-scripts/bin/tansu),
#      KP_KCAT (else /work/devsvc-scripts/kcat-modern).
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
TANSU="${KP_TANSU_BIN:-}"
[ -z "$TANSU" ] && [ -n "${KP_SERVICES_DIR:-}" ] && [ -x "$KP_SERVICES_DIR/bin/tansu" ] && TANSU="$KP_SERVICES_DIR/bin/tansu"
[ -z "$TANSU" ] && TANSU=/work/devsvc-scripts/bin/tansu
KCAT="${KP_KCAT:-/work/devsvc-scripts/kcat-modern}"
OUT="$ROOT/bench/out/kafka-group"; rm -rf "$OUT"; mkdir -p "$OUT"

cd "$ROOT"
swift build -c release --product pipe-bench >/dev/null
BIN="$(swift build -c release --show-bin-path)/pipe-bench"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$TANSU" broker --listener-url "tcp://127.0.0.1:$PORT" --advertised-listener-url "tcp://127.0.0.1:$PORT" \
  --storage-engine memory://tansu/ > "$OUT/tansu.log" 2>&1 &
TANSU_PID=$!
trap 'kill $TANSU_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do python3 -c "import socket,sys; sys.exit(socket.socket().connect_ex(('127.0.0.1',$PORT)))" && break; sleep 0.05; done
B="127.0.0.1:$PORT"

python3 - "$N" "$SIZE" "$OUT/records.txt" <<'PY'
import sys
n, size, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
line = (bytes(97 + i % 26 for i in range(size)) + b"\n")
with open(path, "wb") as f:
    f.write(line * n)
PY

measure() { # name cmd... -> appends "name wall cpu rss" to $OUT/results
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$OUT/$name.time" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
  end=$(date +%s.%N)
  local cpu rss
  cpu=$(awk -F: '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$OUT/$name.time")
  rss=$(awk -F: '/Maximum resident/ {printf "%d", $2/1024}' "$OUT/$name.time")
  echo "$name $(echo "$end - $start" | bc -l) $cpu $rss" >> "$OUT/results"
}

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
