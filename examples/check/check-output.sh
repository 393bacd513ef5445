#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs an example and compares its standard output with the expected text;
# it must exit 0 with an empty stderr.
# usage: check-output.sh PROGRAM EXPECTED
set -euo pipefail
. "$(dirname "$0")/run.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
run "$1" >"$tmp/out" 2>"$tmp/err" || status=$?
if [ "$status" != 0 ] || [ -s "$tmp/err" ]; then
  cat "$tmp/err"
  echo "FAIL: exit status $status"
  exit 1
fi
diff -u "$2" "$tmp/out" || { echo "FAIL: output differs"; exit 1; }
echo "ok: $(basename "$1") on ${WEFT_EXECUTOR:-?}/${WEFT_REACTOR:-?}"
