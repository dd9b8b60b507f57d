#!/usr/bin/env bash
# The whole test suite: installs what is missing, starts the real services on 127.0.0.1,
# builds, runs unit and integration tests, stops the services. Non-zero on any failure.
#   KP_SKIP_SERVICES=1  run against services you started yourself (scripts/services/start-all.sh)
#   KP_TEST_FILTER=...  pass --filter to swift test
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export KP_ROOT="$ROOT"
start=$(date +%s)
step() { echo; echo "==== [$(( $(date +%s) - start ))s] $*"; }

step "dependencies"
bash scripts/install-deps.sh

if [ "${KP_SKIP_SERVICES:-0}" != 1 ]; then
  step "services"
  trap 'step "stopping services"; bash scripts/services/stop-all.sh || true' EXIT
  bash scripts/services/start-all.sh
fi
# shellcheck disable=SC1091
[ -f "$ROOT/.services/env.sh" ] && source "$ROOT/.services/env.sh"

if [ -d "$ROOT/../shared/kafka-protocol/message" ]; then
  step "kafka codegen is up to date"
  bash scripts/kafka-codegen.sh --check
else
  echo "../shared/kafka-protocol/message is missing: skipping the codegen check"
fi

step "build"
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Wrapping|Write|Linking|Merging|Planning)' || true
swift build --build-tests >/dev/null   # fail here on a build error
swift build --product kafka-pipe >/dev/null
export KP_BINARY="$(swift build --show-bin-path)/kafka-pipe"

step "tests"
args=()
[ -n "${KP_TEST_FILTER:-}" ] && args+=(--filter "$KP_TEST_FILTER")
swift test --skip-build ${args[@]+"${args[@]}"}

if [ "${KP_SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzz smoke run"
  bash scripts/fuzz.sh --seconds "${KP_FUZZ_SECONDS:-10}"
fi
step "done"
