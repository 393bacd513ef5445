#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs an example and compares its standard output with the expected text.
# CHECK_SORT=1 compares sorted lines, for output whose order depends on
# which task finishes first; CHECK_SQUEEZE=1 folds repeated lines into one,
# for a loop whose last round races with its cancellation; CHECK_STDERR
# names a line stderr must hold.
set -euo pipefail
bin=$1
expected=$2
err=$(mktemp)
trap 'rm -f "$err"' EXIT
status=0
out=$("$bin" 2>"$err") || status=$?
if [ "$status" != 0 ]; then
  cat "$err"
  echo "FAIL: exit status $status"
  exit 1
fi
want=$(cat "$expected")
if [ "${CHECK_SORT:-0}" = 1 ]; then
  out=$(printf '%s\n' "$out" | LC_ALL=C sort)
  want=$(printf '%s\n' "$want" | LC_ALL=C sort)
fi
if [ "${CHECK_SQUEEZE:-0}" = 1 ]; then
  out=$(printf '%s\n' "$out" | uniq)
fi
if [ "$out" != "$want" ]; then
  printf 'FAIL: got\n%s\nexpected\n%s\n' "$out" "$want"
  cat "$err"
  exit 1
fi
if [ -n "${CHECK_STDERR:-}" ] && ! grep -qxF -- "$CHECK_STDERR" "$err"; then
  printf 'FAIL: stderr lacks %s; it holds\n' "$CHECK_STDERR"
  cat "$err"
  exit 1
fi
cat "$err"
echo "1 passed, 0 failed"
