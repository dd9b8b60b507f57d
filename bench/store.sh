#!/usr/bin/env bash
# Durable updates per second of one small key: our state store against SQLite (WAL mode,
# synchronous=FULL, each UPDATE its own autocommit transaction), same N, same filesystem, same run.
# Also prints our rate with 8 concurrent writers (group commit: fewer fsyncs than writes).
#   bench/store.sh [--updates N] [--writers W] [--dir DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N=3000; W=8; DIR="$ROOT/bench/out/store"
while [ $# -gt 0 ]; do
  case "$1" in
    --updates) N=$2; shift 2;;
    --writers) W=$2; shift 2;;
    --dir) DIR=$2; shift 2;;
    *) echo "usage: $0 [--updates N] [--writers W] [--dir DIR]" >&2; exit 2;;
  esac
done
if ! command -v sqlite3 >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null
fi
cd "$ROOT"
swift build -c release --product pipe-bench >/dev/null
BIN="$(swift build -c release --show-bin-path)/pipe-bench"
rm -rf "$DIR"; mkdir -p "$DIR/ours" "$DIR/sqlite"

echo "== state store: $N durable updates of one key ($(df -T "$DIR" | awk 'NR==2{print $2}') at $DIR)"
ours="$("$BIN" store-bench --updates "$N" --writers "$W" "$DIR/ours")"
echo "$ours" | sed 's/^/  /'

# SQLite: the same N single-row updates, each its own transaction, fsync'd by synchronous=FULL.
DB="$DIR/sqlite/state.db"
sqlite3 "$DB" "PRAGMA journal_mode=WAL; CREATE TABLE state(k TEXT PRIMARY KEY, v TEXT NOT NULL);
               INSERT INTO state VALUES('position', '0/0');" >/dev/null
SQL="$DIR/sqlite/updates.sql"
{ echo "PRAGMA journal_mode=WAL;"; echo "PRAGMA synchronous=FULL;"
  awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "UPDATE state SET v = %c0/%X%c WHERE k = %cposition%c;\n", 39, i, 39, 39, 39 }'
} > "$SQL"
start=$(date +%s.%N)
sqlite3 "$DB" < "$SQL" >/dev/null
end=$(date +%s.%N)
last="$(sqlite3 "$DB" "SELECT v FROM state WHERE k = 'position';")"
sqlite_rate=$(awk -v n="$N" -v s="$start" -v e="$end" 'BEGIN { printf "%d", n / (e - s) }')
echo "  sqlite_wal_full_updates_per_sec=$sqlite_rate (last value $last)"

ours_rate=$(echo "$ours" | sed -n 's/^ours_async_updates_per_sec=//p')
ours_conc=$(echo "$ours" | sed -n 's/^ours_concurrent_updates_per_sec=//p')
echo
echo "single writer: ours $ours_rate/s, sqlite $sqlite_rate/s, ratio ours/sqlite = $(awk -v a="$ours_rate" -v b="$sqlite_rate" 'BEGIN { printf "%.2f", a / b }')"
echo "$W writers (group commit): ours $ours_conc/s, ratio to sqlite single writer = $(awk -v a="$ours_conc" -v b="$sqlite_rate" 'BEGIN { printf "%.2f", a / b }')"
