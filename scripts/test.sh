#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run): installs what is missing, starts the real services on
# 127.0.0.1, checks the generated Kafka code, builds, runs every unit and integration test, runs the
# fuzz targets briefly, and stops the services it started. Exits non-zero on any failure, after
# printing which step failed and the end of every service log.
#   KP_SKIP_SERVICES=1  use services that are already running (scripts/services/start-all.sh); their
#                       addresses come from $KP_SERVICES_DIR/env.sh when it exists, else from the
#                       environment
#   KP_SERVICES_DIR, KP_*_PORT   where the services keep their state / listen (scripts/services/lib.sh);
#                       KP_AUTO_PORTS=0 fails instead of moving a default port that is taken
#   KP_TEST_FILTER=...  pass --filter to swift test
#   KP_SKIP_FUZZ=1      no fuzz run;  KP_FUZZ_SECONDS=N  seconds per fuzz target (10)
#   KP_WITH_CHDB=0      do not install chdb-core (modern ClickHouse in-process, for the Native-format
#                       tests of ClickHouseNativeTests; under CI=true they fail without it)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export KP_ROOT="$ROOT"
KP_SERVICES_DIR="$(bash -c '. scripts/services/lib.sh && echo "$KP_SERVICES_DIR"')"
export KP_SERVICES_DIR
# A default port held by another program (say a second checkout's services) is replaced by a free one.
export KP_AUTO_PORTS="${KP_AUTO_PORTS:-1}"

T0=$(date +%s)
STEP=""; STEP_T0=$T0
TIMES=()
step() {
  local now; now=$(date +%s)
  [ -n "$STEP" ] && TIMES+=("$(printf '%5ds  %s' $((now - STEP_T0)) "$STEP")")
  STEP="$1"; STEP_T0=$now
  [ -n "$STEP" ] && printf '\n==== [%ds] %s\n' $((now - T0)) "$STEP"
  return 0
}
STARTED_SERVICES=0
finish() {
  local rc=$? failed_step="$STEP"
  set +e
  step ""
  if [ "$rc" != 0 ]; then
    printf '\n==== FAILED (exit %d) in step: %s\n' "$rc" "$failed_step"
    if [ -d "$KP_SERVICES_DIR" ]; then
      echo "---- service state and logs ($KP_SERVICES_DIR)"
      bash scripts/services/logs.sh 25
    fi
  fi
  if [ "$STARTED_SERVICES" = 1 ]; then
    printf '\n==== stopping services\n'
    bash scripts/services/stop-all.sh
  fi
  printf '\n==== time per step\n'
  printf '%s\n' "${TIMES[@]}"
  printf '%5ds  total\n' $(($(date +%s) - T0))
  exit "$rc"
}
trap finish EXIT

step "dependencies (scripts/install-deps.sh)"
KP_WITH_CHDB="${KP_WITH_CHDB:-1}" bash scripts/install-deps.sh

if [ "${KP_SKIP_SERVICES:-0}" != 1 ]; then
  step "services (scripts/services/start-all.sh)"
  STARTED_SERVICES=1
  bash scripts/services/start-all.sh
  step "services: a second start-all.sh leaves them alone"
  again="$(bash scripts/services/start-all.sh)"
  if grep -E ' started' <<<"$again"; then
    echo "start-all.sh started a service that was already running"; exit 1
  fi
  echo "ok: $(grep -c 'already running' <<<"$again") already running"
fi
if [ -f "$KP_SERVICES_DIR/env.sh" ]; then
  # shellcheck disable=SC1091
  . "$KP_SERVICES_DIR/env.sh"
elif [ "${KP_SKIP_SERVICES:-0}" = 1 ]; then
  echo "no $KP_SERVICES_DIR/env.sh: integration tests use the KP_* variables of the environment"
fi

if [ -d "$ROOT/../shared/kafka-protocol/message" ]; then
  step "kafka codegen is up to date"
  bash scripts/kafka-codegen.sh --check
fi

# swift build, showing warnings and errors but not the progress lines; fails on a build error.
quiet_build() {
  local status
  set +e
  swift build "$@" 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] |^(Fetching|Fetched|Computing|Computed|Creating working|Working copy) '
  status=${PIPESTATUS[0]}
  set -e
  return "$status"
}
step "build (debug, with tests)"
quiet_build --build-tests
quiet_build --product kafka-pipe
KP_BINARY="$(swift build --show-bin-path)/kafka-pipe"
export KP_BINARY

step "static binary (scripts/build-static.sh)"
# The shipped executable: StaticBinaryTests run it in an empty root against the services.
bash scripts/build-static.sh "$ROOT/.build/static/kafka-pipe"
export KP_STATIC_BINARY="$ROOT/.build/static/kafka-pipe"

step "tests (swift test)"
args=()
[ -n "${KP_TEST_FILTER:-}" ] && args+=(--filter "$KP_TEST_FILTER")
# One test at a time: several integration tests wait on child processes and servers, and Swift's
# cooperative pool has only as many threads as cores (2 in CI); run side by side they starve each
# other. KP_TEST_PARALLEL=1 runs them in parallel for a quicker local run on a bigger machine.
[ "${KP_TEST_PARALLEL:-0}" = 1 ] || args+=(--no-parallel)
swift test --skip-build ${args[@]+"${args[@]}"}

if [ "${KP_SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzz smoke run (scripts/fuzz.sh)"
  bash scripts/fuzz.sh --seconds "${KP_FUZZ_SECONDS:-10}"
fi
step ""
echo
echo "==== all steps passed"
