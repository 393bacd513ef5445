#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/sim/hour: an hour of timers under the sim pair prints the
# expected lines; scaled down to SECONDS, it prints the same lines on the
# real clock (single/epoll) as in virtual time.  Wall time is not checked.
# usage: test_hour.sh HOUR EXPECTED [SECONDS]
set -euo pipefail
hour=$1
expected=$2
seconds=${3:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { # NAME EXECUTOR REACTOR ARGS...
  local name=$1 status=0
  WEFT_EXECUTOR=$2 WEFT_REACTOR=$3 "$hour" "${@:4}" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" || status=$?
  if [ "$status" != 0 ]; then
    cat "$tmp/$name.err"
    echo "FAIL: hour ${*:4} on $2/$3 exited $status"
    exit 1
  fi
}
run sim sim sim
diff -u "$expected" "$tmp/sim.out"
grep -q '^weft-sim: seed=' "$tmp/sim.err" ||
  { echo "FAIL: no trace line: not on the sim executor"; exit 1; }
run sim-scaled sim sim "$seconds"
run real single epoll "$seconds"
diff -u "$tmp/real.out" "$tmp/sim-scaled.out"
diff -u "$expected" "$tmp/real.out"
echo "ok: an hour in virtual time, and $seconds s on the real clock and" \
  "in virtual time, print the same lines"
