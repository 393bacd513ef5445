#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# How often examples/sim/race fails on a real executor: runs it RUNS times
# on the pair in WEFT_EXECUTOR / WEFT_REACTOR and prints the count of runs
# that found the account overdrawn.  Any other failure (the runtime did
# not open, a crash) fails at once.  With MAX_PERCENT set, fails when
# more than that share of runs were overdrawn (at 0, when any was).
# usage: race-rate.sh RACE [RUNS]
set -euo pipefail
race=$1
runs=${2:-200}
err=$(mktemp)
trap 'rm -f "$err"' EXIT
failed=0
for _ in $(seq "$runs"); do
  status=0
  "$race" >/dev/null 2>"$err" || status=$?
  if [ "$status" = 1 ] && grep -q '^overdrawn: ' "$err"; then
    failed=$((failed + 1))
  elif [ "$status" != 0 ]; then
    cat "$err"
    echo "FAIL: race exited $status without finding the account overdrawn"
    exit 1
  fi
done
echo "race on ${WEFT_EXECUTOR:-?}/${WEFT_REACTOR:-?}: overdrawn in $failed of $runs runs"
if [ -n "${MAX_PERCENT:-}" ] && [ $((failed * 100)) -gt $((MAX_PERCENT * runs)) ]; then
  echo "FAIL: more than $MAX_PERCENT % of runs were overdrawn"
  exit 1
fi
