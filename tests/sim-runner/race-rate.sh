#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# How often examples/sim/race fails on a real executor: runs it RUNS times
# on the pair in WEFT_EXECUTOR / WEFT_REACTOR and prints the count.  With
# MAX_PERCENT set, fails when more than that share of runs failed (at
# MAX_PERCENT=0, when any did).
# usage: race-rate.sh RACE [RUNS]
set -euo pipefail
race=$1
runs=${2:-200}
failed=0
for _ in $(seq "$runs"); do
  "$race" >/dev/null 2>&1 || failed=$((failed + 1))
done
echo "race on ${WEFT_EXECUTOR:-?}/${WEFT_REACTOR:-?}: $failed of $runs runs failed"
if [ -n "${MAX_PERCENT:-}" ] && [ $((failed * 100)) -gt $((MAX_PERCENT * runs)) ]; then
  echo "FAIL: more than $MAX_PERCENT % of runs failed"
  exit 1
fi
