#!/usr/bin/env bash
# Durable updates per second of one small key: our state store against SQLite (WAL mode,
# synchronous=FULL, each UPDATE its own autocommit transaction), same N, same filesystem, same run.
# The disk's fsync latency drifts with whatever else the machine does, so the two alternate for
# several rounds and the medians are compared. Then our rate with W concurrent writers (group
# commit: fewer fsyncs than writes).
#   bench/store.sh [--updates N] [--rounds R] [--writers W] [--dir DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N=1000; R=5; W=8; DIR="$ROOT/bench/out/store"
while [ $# -gt 0 ]; do
  case "$1" in
    --updates) N=$2; shift 2;;
    --rounds) R=$2; shift 2;;
    --writers) W=$2; shift 2;;
    --dir) DIR=$2; shift 2;;
    *) echo "usage: $0 [--updates N] [--rounds R] [--writers W] [--dir DIR]" >&2; exit 2;;
  esac
done
if ! command -v sqlite3 >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null
fi
cd "$ROOT"
swift build -c release --product pipe-bench >/dev/null
BIN="$(swift build -c release --show-bin-path)/pipe-bench"
rm -rf "$DIR"; mkdir -p "$DIR/ours" "$DIR/sqlite"
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# SQLite: the same N single-row updates, each its own transaction, fsync'd by synchronous=FULL.
DB="$DIR/sqlite/state.db"
SQL="$DIR/sqlite/updates.sql"
{ echo "PRAGMA journal_mode=WAL;"; echo "PRAGMA synchronous=FULL;"
  awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "UPDATE state SET v = %c0/%X%c WHERE k = %cposition%c;\n", 39, i, 39, 39, 39 }'
} > "$SQL"
sqlite_round() {
  rm -f "$DB" "$DB-wal" "$DB-shm"
  sqlite3 "$DB" "PRAGMA journal_mode=WAL; CREATE TABLE state(k TEXT PRIMARY KEY, v TEXT NOT NULL);
                 INSERT INTO state VALUES('position', '0/0');" >/dev/null
  local start end last
  start=$(date +%s.%N)
  sqlite3 "$DB" < "$SQL" >/dev/null
  end=$(date +%s.%N)
  last="$(sqlite3 "$DB" "SELECT v FROM state WHERE k = 'position';")"
  [ "$last" = "$(printf '0/%X' $((N - 1)))" ] || { echo "sqlite did not apply every update ($last)" >&2; exit 1; }
  awk -v n="$N" -v s="$start" -v e="$end" 'BEGIN { printf "%d\n", n / (e - s) }'
}

echo "== state store vs SQLite (WAL, synchronous=FULL): $N durable updates of one key, $R rounds"
echo "   filesystem: $(df -T "$DIR" | awk 'NR==2 { print $2 }') at $DIR"
ours_all=(); sqlite_all=()
for r in $(seq 1 "$R"); do
  o="$("$BIN" store-bench --updates "$N" --mode async "$DIR/ours" | sed -n 's/^ours_async_updates_per_sec=//p')"
  s="$(sqlite_round)"
  ours_all+=("$o"); sqlite_all+=("$s")
  echo "   round $r: ours $o/s  sqlite $s/s"
done
ours_med=$(printf '%s\n' "${ours_all[@]}" | median)
sqlite_med=$(printf '%s\n' "${sqlite_all[@]}" | median)
echo "ours_updates_per_sec=$ours_med"
echo "sqlite_updates_per_sec=$sqlite_med"
echo "ratio ours/sqlite = $(awk -v a="$ours_med" -v b="$sqlite_med" 'BEGIN { printf "%.2f", a / b }') (medians; >= 1 means at least as fast)"

echo
echo "== group commit: $W concurrent writers, $N updates in all"
conc="$("$BIN" store-bench --updates "$N" --writers "$W" --mode concurrent "$DIR/ours")"
rate=$(echo "$conc" | sed -n 's/^ours_concurrent_updates_per_sec=//p')
writes=$(echo "$conc" | sed -n 's/^ours_concurrent_writes=//p')
syncs=$(echo "$conc" | sed -n 's/^ours_concurrent_syncs=//p')
echo "ours_concurrent_updates_per_sec=$rate ($writes writes, $syncs fsyncs)"
echo "ratio ours($W writers)/sqlite(1 writer) = $(awk -v a="$rate" -v b="$sqlite_med" 'BEGIN { printf "%.2f", a / b }')"
