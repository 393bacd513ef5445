#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs an example and compares its standard output with the expected text;
# it must exit 0 with an empty stderr.  CHECK_ATTEMPTS=n (default 1) runs
# it up to n times until the output matches, for an example whose output
# rests on timers tens of milliseconds apart, which a loaded machine (or
# Valgrind) can delay past each other; a failed exit is never retried.
# usage: check-output.sh PROGRAM EXPECTED
set -euo pipefail
. "$(dirname "$0")/run.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
attempts=${CHECK_ATTEMPTS:-1}
for attempt in $(seq "$attempts"); do
  status=0
  run "$1" >"$tmp/out" 2>"$tmp/err" || status=$?
  if [ "$status" != 0 ] || [ -s "$tmp/err" ]; then
    cat "$tmp/err"
    echo "FAIL: exit status $status"
    exit 1
  fi
  if diff -u "$2" "$tmp/out"; then
    echo "ok: $(basename "$1") on ${WEFT_EXECUTOR:-?}/${WEFT_REACTOR:-?}" \
      "(run $attempt)"
    exit 0
  fi
done
echo "FAIL: output differs in $attempts run(s)"
exit 1
