#!/usr/bin/env bash
# Decoding a 1,000,000-row pgoutput transaction from a slot: ours (pipe-bench pgoutput-bench run)
# against pg_recvlogical reading the same workload from an identical slot, in the same run.
# Usage: bench/pgoutput.sh [--url postgres://user:pass@host:port/db] [--rows N] [--socket DIR]
# (defaults: $KP_PG15 or postgres://postgres:postgres@127.0.0.1:5432/postgres, 1000000 rows)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
URL="${KP_PG15:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"; ROWS=1000000; SOCKET=""; REF_FIRST=0
while [ $# -gt 0 ]; do
  case "$1" in
    --url) URL=$2; shift 2;; --rows) ROWS=$2; shift 2;; --socket) SOCKET=$2; shift 2;;
    --ref-first) REF_FIRST=1; shift;;
    *) echo "usage: $0 [--url URL] [--rows N] [--socket DIR] [--ref-first]" >&2; exit 2;;
  esac
done
cd "$ROOT"
# PIPE_BENCH_BIN: an already built pipe-bench (skips the build).
if [ -n "${PIPE_BENCH_BIN:-}" ]; then
  BENCH="$PIPE_BENCH_BIN"
else
  swift build -c release --product pipe-bench >/dev/null
  BENCH="$(swift build -c release --show-bin-path)/pipe-bench"
fi
EXTRA=(); [ -n "$SOCKET" ] && EXTRA=(--socket "$SOCKET")
PREFIX="pgobench_$$"
cleanup() { "$BENCH" pgoutput-bench cleanup --url "$URL" --prefix "$PREFIX" "${EXTRA[@]}" >/dev/null 2>&1 || true; }
trap cleanup EXIT

# libpq connection parameters for pg_recvlogical from the URL.
read -r USER PASS HOST PORT DB < <(python3 - "$URL" <<'PY'
import sys, urllib.parse as u
p = u.urlparse(sys.argv[1])
print(u.unquote(p.username or "postgres"), u.unquote(p.password or "-"), p.hostname or "127.0.0.1", p.port or 5432, (p.path or "/postgres")[1:] or "postgres")
PY
)
[ -n "$SOCKET" ] && HOST="$SOCKET"
export PGPASSWORD="$PASS"

echo "setting up: one transaction of $ROWS rows, two identical slots"
SETUP=$("$BENCH" pgoutput-bench setup --url "$URL" --rows "$ROWS" --prefix "$PREFIX" "${EXTRA[@]}")
echo "$SETUP"
ENDPOS=$(sed -n 's/.*endpos=\([^ ]*\).*/\1/p' <<<"$SETUP")
PUB="${PREFIX}_pub"

now_ms() { date +%s%3N; }
run_ours() {
  local t0; t0=$(now_ms)
  OURS=$("$BENCH" pgoutput-bench run --url "$URL" --slot "${PREFIX}_a" --publication "$PUB" --endpos "$ENDPOS" "${EXTRA[@]}")
  ours_ms=$(( $(now_ms) - t0 ))
}
run_ref() {
  local t0; t0=$(now_ms)
  pg_recvlogical -d "host=$HOST port=$PORT user=$USER dbname=$DB" --slot "${PREFIX}_b" --start \
    -o proto_version=1 -o publication_names="$PUB" -P pgoutput --no-loop -f /dev/null --endpos "$ENDPOS"
  ref_ms=$(( $(now_ms) - t0 ))
}
# The first reader of the WAL may pay for cold caches: --ref-first gives that to pg_recvlogical.
if [ "$REF_FIRST" = 1 ]; then run_ref; run_ours; else run_ours; run_ref; fi
echo "ours:           ${ours_ms} ms wall ($OURS)"
echo "pg_recvlogical: ${ref_ms} ms wall"
python3 -c "print('ratio ours/pg_recvlogical: %.3f' % ($ours_ms / max($ref_ms, 1)))"
