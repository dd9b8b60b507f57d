# Shared pieces of the Kafka benchmarks (sourced by bench/kafka.sh and bench/kafka-group.sh).
# Needs ROOT (the repository) and OUT (the output folder) set by the caller.
#   bench_tools          -> TANSU, KCAT (from KP_TANSU_BIN / KP_SERVICES_DIR / KP_KCAT)
#   bench_build          -> BIN: the release pipe-bench
#   bench_start_tansu    -> B (host:port) of a private tansu (memory storage, own port), stopped on exit
#   bench_records N SIZE FILE: N lines of SIZE bytes (newline-delimited, for kcat -l)
#   measure NAME CMD...  -> appends "NAME wall cpu rss_mib" to $OUT/results; stdout/stderr in $OUT/NAME.out/.err

bench_tools() {
  TANSU="${KP_TANSU_BIN:-}"
  [ -z "$TANSU" ] && [ -n "${KP_SERVICES_DIR:-}" ] && [ -x "$KP_SERVICES_DIR/bin/tansu" ] && TANSU="$KP_SERVICES_DIR/bin/tansu"
  [ -z "$TANSU" ] && TANSU=/work/devsvc-scripts/bin/tansu
  KCAT="${KP_KCAT:-/work/devsvc-scripts/kcat-modern}"
}

bench_build() {
  (cd "$ROOT" && swift build -c release --product pipe-bench >/dev/null)
  BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)/pipe-bench"
}

bench_start_tansu() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$TANSU" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine memory://tansu/ > "$OUT/tansu.log" 2>&1 &
  TANSU_PID=$!
  trap 'kill $TANSU_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    python3 -c "import socket,sys; sys.exit(socket.socket().connect_ex(('127.0.0.1',$port)))" && break
    sleep 0.05
  done
  B="127.0.0.1:$port"
}

bench_records() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
n, size, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
line = (bytes(97 + i % 26 for i in range(size)) + b"\n")
with open(path, "wb") as f:
    f.write(line * n)
PY
}

measure() {
  local name=$1; shift
  local start end cpu rss
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$OUT/$name.time" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
  end=$(date +%s.%N)
  cpu=$(awk -F: '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$OUT/$name.time")
  rss=$(awk -F: '/Maximum resident/ {printf "%d", $2/1024}' "$OUT/$name.time")
  echo "$name $(echo "$end - $start" | bc -l) $cpu $rss" >> "$OUT/results"
}
