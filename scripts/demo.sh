#!/usr/bin/env bash
# Builds the release binary, starts the local services and runs the most complete pipeline that exists.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/install-deps.sh
swift build -c release --product kafka-pipe
BIN="$(swift build -c release --show-bin-path)/kafka-pipe"
"$BIN" --version
