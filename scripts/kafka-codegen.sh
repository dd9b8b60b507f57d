#!/usr/bin/env bash
# Regenerates Sources/KafkaWire/Generated (and the test samples in Tests/KafkaWireTests/Generated)
# from Apache Kafka's JSON definitions in ../shared/kafka-protocol/message (or $KAFKA_DEFS).
#   --check: regenerate into a temporary folder and fail when it differs from the committed code.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEFS="${KAFKA_DEFS:-$ROOT/../shared/kafka-protocol/message}"
OUT="$ROOT/Sources/KafkaWire/Generated"
TESTS_OUT="$ROOT/Tests/KafkaWireTests/Generated"
cd "$ROOT"
if [ ! -d "$DEFS" ]; then
  echo "kafka codegen: no definitions at $DEFS" >&2
  exit 2
fi
swift build --product kafka-codegen >/dev/null
BIN="$(swift build --show-bin-path)/kafka-codegen"
if [ "${1:-}" = "--check" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  "$BIN" "$DEFS" "$tmp/src" "$tmp/tests"
  status=0
  diff -r "$tmp/src" "$OUT" || status=1
  diff -r "$tmp/tests" "$TESTS_OUT" || status=1
  if [ $status -ne 0 ]; then
    echo "kafka codegen: the committed code differs from the generator's output; run scripts/kafka-codegen.sh" >&2
    exit 1
  fi
  echo "kafka codegen: up to date"
else
  rm -rf "$OUT" "$TESTS_OUT"
  "$BIN" "$DEFS" "$OUT" "$TESTS_OUT"
  echo "kafka codegen: wrote $OUT and $TESTS_OUT"
fi
