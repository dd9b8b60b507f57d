#!/usr/bin/env bash
# The demo: installs what is missing, builds the release binary, starts the local services and runs
# the most complete pipeline that exists, showing what arrived where. It leaves the services running
# so you can look around; stop them with scripts/services/stop-all.sh.
#   KP_SERVICES_DIR, KP_*_PORT: as for scripts/services/start-all.sh (KP_AUTO_PORTS=0: fail on a taken port)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export KP_ROOT="$ROOT"
KP_SERVICES_DIR="$(bash -c '. scripts/services/lib.sh && echo "$KP_SERVICES_DIR"')"
export KP_SERVICES_DIR
# A default port held by another program (a system PostgreSQL on 5432, say) is replaced by a free one.
export KP_AUTO_PORTS="${KP_AUTO_PORTS:-1}"
say() { printf '\n==== %s\n' "$*"; }

say "installing what is missing (scripts/install-deps.sh)"
bash scripts/install-deps.sh

say "building the release binary"
swift build -c release --product kafka-pipe 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] |^(Fetching|Fetched|Computing|Computed|Creating working|Working copy) ' || true
swift build -c release --product kafka-pipe >/dev/null
BIN="$(swift build -c release --show-bin-path)/kafka-pipe"
echo "binary: $BIN ($(du -h "$BIN" | cut -f1))"

say "starting the local services (scripts/services/start-all.sh)"
bash scripts/services/start-all.sh
# shellcheck disable=SC1091
. "$KP_SERVICES_DIR/env.sh"

say "kafka-pipe --version"
"$BIN" --version

shopt -s nullglob
examples=(examples/*.yaml)
if [ ${#examples[@]} -gt 0 ]; then
  say "kafka-pipe check ${examples[*]}"
  for f in "${examples[@]}"; do
    echo "--- $f"
    "$BIN" check "$f" || echo "(check of $f failed)"
  done
fi

# Connector steps (PostgreSQL -> Kafka -> ClickHouse / S3) are appended here as they land.

say "where things are"
cat <<EOF
Kafka (tansu)          $KP_KAFKA            TLS $KP_KAFKA_TLS, mTLS $KP_KAFKA_MTLS (CA $KP_KAFKA_TLS_CA)
Kafka mock cluster     $KP_KAFKA_MOCK
PostgreSQL 15          $KP_PG15
PostgreSQL 18          $KP_PG18
ClickHouse             native $KP_CH, HTTP $KP_CH_HTTP (users default, $KP_CH_USER/$KP_CH_PASSWORD)
ZooKeeper              $KP_ZK
S3 (moto)              $KP_S3 (key $KP_S3_KEY)

Look around:
  $KP_KCAT -b $KP_KAFKA -L
  psql "$KP_PG15"
  clickhouse-client --host ${KP_CH%:*} --port ${KP_CH##*:}
All addresses: . $KP_SERVICES_DIR/env.sh
The services keep running; stop them with: scripts/services/stop-all.sh  (add --wipe to delete their data)
EOF
