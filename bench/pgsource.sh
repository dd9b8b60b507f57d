#!/usr/bin/env bash
# pg.Source end to end: 1,000,000 inserted rows in 1,000-row transactions, until every record is
# acknowledged by Kafka (the slot's confirmed_flush_lsn, which pg.Source moves only after Kafka
# acknowledged every record of a commit, reaches the last commit), against pg_recvlogical draining
# the same workload from an identical slot (created at the same point) to /dev/null, in the same run.
# Usage: bench/pgsource.sh [--url postgres://user:pass@host:port/db] [--kafka host:port] [--rows N] [--ref-first]
# (defaults: $KP_PG15, $KP_KAFKA, 1000000 rows). KAFKA_PIPE_BIN: an already built release binary.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
URL="${KP_PG15:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
KAFKA="${KP_KAFKA:-127.0.0.1:9092}"
ROWS=1000000; TXN=1000; REF_FIRST=0
while [ $# -gt 0 ]; do
  case "$1" in
    --url) URL=$2; shift 2;; --kafka) KAFKA=$2; shift 2;; --rows) ROWS=$2; shift 2;;
    --ref-first) REF_FIRST=1; shift;;
    *) echo "usage: $0 [--url URL] [--kafka HOST:PORT] [--rows N] [--ref-first]" >&2; exit 2;;
  esac
done
cd "$ROOT"
if [ -n "${KAFKA_PIPE_BIN:-}" ]; then
  BIN="$KAFKA_PIPE_BIN"
else
  swift build -c release --product kafka-pipe >/dev/null
  BIN="$(swift build -c release --show-bin-path)/kafka-pipe"
fi
PGBIN="${KP_PG15_BIN:-$(dirname "$(command -v pg_recvlogical)")}"
PSQL="$PGBIN/psql"; RECV="$PGBIN/pg_recvlogical"

read -r PGUSER_ PASS HOST PORT DB < <(python3 - "$URL" <<'PY'
import sys, urllib.parse as u
p = u.urlparse(sys.argv[1])
print(u.unquote(p.username or "postgres"), u.unquote(p.password or "-"), p.hostname or "127.0.0.1", p.port or 5432, (p.path or "/postgres")[1:] or "postgres")
PY
)
export PGPASSWORD="$PASS"
P="pgsbench_$$"
WORK="$(mktemp -d /tmp/pgsource-bench.XXXXXX)"
q() { "$PSQL" "$URL" -v ON_ERROR_STOP=1 -Atq "$@"; }
cleanup() {
  [ -n "${PIPE_PID:-}" ] && kill "$PIPE_PID" 2>/dev/null || true
  q -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ('${P}_a','${P}_b') AND NOT active" \
    -c "DROP PUBLICATION IF EXISTS ${P}_pub" -c "DROP TABLE IF EXISTS ${P}, ${P}_health" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "setting up: table $P, publication, two identical slots; then $ROWS rows in $((ROWS / TXN)) transactions of $TXN"
q <<SQL
CREATE TABLE $P (id int8 PRIMARY KEY, name text NOT NULL, amount numeric(12,2), n int4, created timestamptz NOT NULL);
CREATE TABLE ${P}_health (slot text PRIMARY KEY, ts timestamptz NOT NULL);
CREATE PUBLICATION ${P}_pub FOR TABLE $P, ${P}_health;
SELECT 'slot a ' || lsn FROM pg_create_logical_replication_slot('${P}_a', 'pgoutput');
SELECT 'slot b ' || lsn FROM pg_create_logical_replication_slot('${P}_b', 'pgoutput');
SQL
t0=$(date +%s%3N)
q <<SQL
DO \$\$
BEGIN
  FOR t IN 0 .. ($ROWS / $TXN) - 1 LOOP
    INSERT INTO $P SELECT g, 'name-' || g, g * 1.25, g % 1000, '2024-06-01 10:00:00+00'::timestamptz + g * interval '1 second'
      FROM generate_series(t * $TXN + 1, (t + 1) * $TXN) g;
    COMMIT;
  END LOOP;
END
\$\$;
SQL
END_LSN=$(q -c "SELECT pg_current_wal_insert_lsn()")
echo "workload written in $(( $(date +%s%3N) - t0 )) ms; last commit ends at or before $END_LSN"

cat > "$WORK/pipe.yaml" <<YAML
name: bench
class: pg.Source
log: {level: warn}
http: {listen: ""}
pg:
  url: $URL
  publication: ${P}_pub
  slot: ${P}_a
  tables: [public.$P]
  health.table: public.${P}_health
  heartbeat: 200ms
kafka:
  brokers: [$KAFKA]
  topic: {prefix: $P}
  batch: {size: 10000, timeout: 100ms}
YAML

ms() { date +%s%3N; }
run_ours() {
  local t0 c; t0=$(ms)
  (cd "$WORK" && exec "$BIN" pipe.yaml >"$WORK/pipe.log" 2>&1) &
  PIPE_PID=$!
  while true; do
    c=$(q -c "SELECT confirmed_flush_lsn >= '$END_LSN'::pg_lsn FROM pg_replication_slots WHERE slot_name = '${P}_a'")
    [ "$c" = t ] && break
    kill -0 "$PIPE_PID" 2>/dev/null || { echo "kafka-pipe exited:"; cat "$WORK/pipe.log"; exit 1; }
    sleep 0.05
  done
  ours_ms=$(( $(ms) - t0 ))
  kill -TERM "$PIPE_PID"; wait "$PIPE_PID" || true; PIPE_PID=""
}
run_ref() {
  local t0; t0=$(ms)
  "$RECV" -d "host=$HOST port=$PORT user=$PGUSER_ dbname=$DB" --slot "${P}_b" --start \
    -o proto_version=1 -o publication_names="${P}_pub" -P pgoutput --no-loop -f /dev/null --endpos "$END_LSN"
  ref_ms=$(( $(ms) - t0 ))
}
if [ "$REF_FIRST" = 1 ]; then run_ref; run_ours; else run_ours; run_ref; fi
# Check (not timed): the records are in the topic (read back with kcat; tansu's ListOffsets is not exact).
COUNT=$(timeout 300 "${KP_KCAT:-kcat}" -b "$KAFKA" -C -t "$P.public.$P" -o beginning -e -q -f '\n' 2>/dev/null | wc -l || true)
echo "ours (kafka-pipe pg.Source -> Kafka, acknowledged): ${ours_ms} ms wall, $(python3 -c "print(round($ROWS*1000/max($ours_ms,1)))") rows/s (records read back from the topic: $COUNT)"
echo "pg_recvlogical (-> /dev/null):                      ${ref_ms} ms wall, $(python3 -c "print(round($ROWS*1000/max($ref_ms,1)))") rows/s"
python3 -c "print('ratio throughput ours/pg_recvlogical: %.3f' % ($ref_ms / max($ours_ms, 1)))"
