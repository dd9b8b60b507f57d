#!/usr/bin/env bash
# Regenerates Sources/KafkaWire/Generated from ../shared/kafka-protocol/message.
#   --check: regenerate into a temporary folder and fail when it differs from the committed code.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEFS="${KAFKA_DEFS:-$ROOT/../shared/kafka-protocol/message}"
OUT="$ROOT/Sources/KafkaWire/Generated"
echo "kafka codegen: not built yet ($DEFS -> $OUT)"
