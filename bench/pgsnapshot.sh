#!/usr/bin/env bash
# pg.Snapshot benchmark: a table of ROWS rows (default 1,000,000) copied to Kafka by
#   ours:      kafka-pipe (release build) with class pg.Snapshot (keys, values, headers, chunked
#              by primary key, progress saved per chunk)
#   reference: psql -c "\copy (SELECT row_to_json(t) FROM t) TO STDOUT" | kcat -P   (values only)
# in the same run, against the same PostgreSQL and Kafka. Prints both times, rows/s and the ratio
# (reference time / our time: above 1 means ours is faster).
#   --rows N   table size (default 1000000)     --chunk N   pg:chunk.size (default 10000)
# Services: KP_PG15 (or KP_BENCH_PG, a postgres:// URL), KP_PG15_BIN (psql), KP_KAFKA, KP_KCAT; read
# from .services/env.sh when present (scripts/services/start-all.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROWS=1000000; CHUNK=10000
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS=$2; shift 2;;
    --chunk) CHUNK=$2; shift 2;;
    *) echo "usage: $0 [--rows N] [--chunk N]" >&2; exit 2;;
  esac
done
[ -f "$ROOT/.services/env.sh" ] && . "$ROOT/.services/env.sh"
PG="${KP_BENCH_PG:-${KP_PG15:?set KP_PG15 (source .services/env.sh)}}"
PSQL="${KP_PG15_BIN:?set KP_PG15_BIN}/psql"
KAFKA="${KP_KAFKA:?set KP_KAFKA}"
KCAT="${KP_KCAT:-kcat}"

cd "$ROOT"
swift build -c release --product kafka-pipe >/dev/null
BIN="$(swift build -c release --show-bin-path)/kafka-pipe"
WORK="$(mktemp -d)"
RUN="kpbench$$_$(date +%s)"
TABLE="public.${RUN}"
cleanup() { "$PSQL" "$PG" -X -q -c "DROP TABLE IF EXISTS $TABLE" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

echo "creating $TABLE with $ROWS rows"
"$PSQL" "$PG" -X -q -v ON_ERROR_STOP=1 <<SQL
CREATE TABLE $TABLE (id int8 PRIMARY KEY, name text, amount numeric(12,2), qty int4, active bool,
                     created timestamptz, tags text[]);
INSERT INTO $TABLE
  SELECT g, 'customer ' || g, (g % 100000) / 100.0, g % 1000, g % 3 = 0,
         '2024-01-01'::timestamptz + g * interval '1 second', ARRAY['a', 'b' || (g % 10)]
  FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE $TABLE;
SQL

now() { date +%s.%N; }
# CPU seconds used so far by the servers (PostgreSQL's processes, exited backends included through
# the postmaster's children times, and the Kafka broker), to show where the machine's cores go.
server_cpu() {
  python3 - "$KAFKA" <<'PY'
import os, sys
port = sys.argv[1].rsplit(":", 1)[-1]
tick = os.sysconf("SC_CLK_TCK")
pg = kafka = 0.0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    own = (int(stat[11]) + int(stat[12])) / tick
    children = (int(stat[13]) + int(stat[14])) / tick
    name = os.path.basename(cmd[0].decode(errors="replace")) if cmd and cmd[0] else ""
    if name == "postgres" or name.startswith("postgres:"):
        pg += own + (children if name == "postgres" else 0)
    elif "tansu" in name and any(port.encode() in c for c in cmd):
        kafka += own
print(f"{pg:.2f} {kafka:.2f}")
PY
}
# Records in a topic, read back to the end (tansu's "latest" offset is not the log end).
records_in() {
  "$KCAT" -C -b "$KAFKA" -t "$1" -o beginning -e -q -f '%o\n' 2>/dev/null | wc -l
}

# Ours.
cat > "$WORK/snapshot.yaml" <<YAML
name: bench
class: pg.Snapshot
log:
  level: warn
http:
  listen: ""
pg:
  url: $PG
  tables: [$TABLE]
  chunk.size: $CHUNK
kafka:
  brokers: [$KAFKA]
  topic:
    prefix: ${RUN}_ours
YAML
s0=$(server_cpu)
t0=$(now); PERFCMD=${PERFCMD:-}
(cd "$WORK" && /usr/bin/time -f "%U %S" -o "$WORK/ours.cpu" $PERFCMD "$BIN" snapshot.yaml >"$WORK/ours.log")
t1=$(now)
s1=$(server_cpu)
OURS_N=$(records_in "${RUN}_ours.$TABLE")

# Reference: psql \copy of row_to_json into kcat -P.
s2=$(server_cpu)
t2=$(now)
/usr/bin/time -f "%U %S" -o "$WORK/psql.cpu" "$PSQL" "$PG" -X -q -c "\\copy (SELECT row_to_json(t) FROM $TABLE t) TO STDOUT" \
  | /usr/bin/time -f "%U %S" -o "$WORK/kcat.cpu" "$KCAT" -P -b "$KAFKA" -t "${RUN}_ref"
t3=$(now)
s3=$(server_cpu)
REF_N=$(records_in "${RUN}_ref")

python3 - "$ROWS" "$t0" "$t1" "$OURS_N" "$t2" "$t3" "$REF_N" "$WORK" "$s0" "$s1" "$s2" "$s3" <<'PY'
import sys
def cpu(name):
    u, s = open(f"{sys.argv[8]}/{name}.cpu").read().split()[-2:]
    return float(u) + float(s)
rows = int(sys.argv[1])
t0, t1, n_ours, t2, t3, n_ref = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
ours, ref = t1 - t0, t3 - t2
print(f"rows: {rows}")
print(f"ours (kafka-pipe pg.Snapshot):        {ours:7.2f} s  {rows / ours:10.0f} rows/s  ({n_ours} records in the topic)")
print(f"reference (psql \\copy | kcat -P):    {ref:7.2f} s  {rows / ref:10.0f} rows/s  ({n_ref} records in the topic)")
print(f"ratio (reference time / our time):   {ref / ours:7.2f}x  ({'ours faster' if ours < ref else 'reference faster'})")
print(f"client CPU (user+sys, PostgreSQL's own not counted): ours {cpu('ours'):.2f} s, reference {cpu('psql') + cpu('kcat'):.2f} s "
      f"(psql {cpu('psql'):.2f} + kcat {cpu('kcat'):.2f})")
s = [list(map(float, a.split())) for a in sys.argv[9:13]]
print(f"server CPU: PostgreSQL ours {s[1][0] - s[0][0]:.2f} s, reference {s[3][0] - s[2][0]:.2f} s; "
      f"Kafka broker ours {s[1][1] - s[0][1]:.2f} s, reference {s[3][1] - s[2][1]:.2f} s")
if n_ours != rows: print(f"WARNING: ours wrote {n_ours} records, expected {rows}")
PY
