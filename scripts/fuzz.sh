#!/usr/bin/env bash
# Builds the Fuzz/ package with libFuzzer + AddressSanitizer and runs every target on its seed corpus
# for a fixed time. A crash fails the run; its input is copied to Fuzz/regressions/<target>/ so it
# becomes a regression input replayed on every later run.
#   --seconds N (default 10)   --target NAME (only that one)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER=10; ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER=$2; shift 2;;
    --target) ONLY=$2; shift 2;;
    *) echo "usage: $0 [--seconds N] [--target NAME]" >&2; exit 2;;
  esac
done
cd "$ROOT/Fuzz"
# ld.gold cannot link libFuzzer's debug info here: link with lld.
FLAGS=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld)
swift build "${FLAGS[@]}" 2>&1 | grep -E "error|warning: unre|Build complete" || true
swift build "${FLAGS[@]}" >/dev/null
BIN="$(swift build "${FLAGS[@]}" --show-bin-path)"
targets=$(ls Sources | grep '^Fuzz' | grep -v '^FuzzSupport$')
failed=0
for t in $targets; do
  [ -n "$ONLY" ] && [ "$t" != "$ONLY" ] && continue
  work="$ROOT/Fuzz/corpus-work/$t"; mkdir -p "$work" "corpus/$t" "regressions/$t"
  # Replay the regressions first: each must run clean.
  if [ -n "$(ls -A "regressions/$t" 2>/dev/null)" ]; then
    if ! "$BIN/$t" -runs=0 "regressions/$t" >"$work/regress.log" 2>&1; then
      echo "FAIL $t: a regression input crashes again"; tail -20 "$work/regress.log"; failed=1; continue
    fi
  fi
  if "$BIN/$t" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/" \
       "$work" "corpus/$t" >"$work/run.log" 2>&1; then
    echo "ok   $t: $(grep -Eo '^Done [0-9]+ runs' "$work/run.log" | head -1)"
  else
    echo "FAIL $t"; tail -30 "$work/run.log"
    for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
      [ -f "$a" ] && cp "$a" "regressions/$t/" && echo "  kept $(basename "$a") in Fuzz/regressions/$t/"
    done
    failed=1
  fi
done
exit $failed
