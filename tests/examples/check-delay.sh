#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/delay prints the chapter's Delay message, then example() = 3.
set -euo pipefail
out=$("$1")
expected=$'時間経過!\nexample() = 3'
if [ "$out" != "$expected" ]; then
  printf 'FAIL: got\n%s\nexpected\n%s\n' "$out" "$expected"
  exit 1
fi
echo "1 passed, 0 failed"
