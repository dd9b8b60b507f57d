#!/usr/bin/env bash
# Starts every real peer the tests use on 127.0.0.1 (placeholder until the services land).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$ROOT/.services"
: > "$ROOT/.services/env.sh"
