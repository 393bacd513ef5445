#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo binary runs on the runtime chosen at load time: by environment
# variables, and by a config file, and says which one it loaded.
# usage: check-demo.sh DEMO EXECUTOR REACTOR
set -euo pipefail
demo=$1 executor=$2 reactor=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # output-file
  grep -Eq "^  executor +$executor " "$1" || { cat "$1"; echo "FAIL: executor $executor not reported"; exit 1; }
  grep -Eq "^  reactor +$reactor " "$1" || { cat "$1"; echo "FAIL: reactor $reactor not reported"; exit 1; }
  grep -q "all three joined after" "$1" || { cat "$1"; echo "FAIL: naps did not join"; exit 1; }
  grep -q "round trips in .* ms: Success" "$1" || { cat "$1"; echo "FAIL: ping-pong"; exit 1; }
  grep -q "^done$" "$1" || { cat "$1"; echo "FAIL: no done"; exit 1; }
}

WEFT_EXECUTOR=$executor WEFT_REACTOR=$reactor "$demo" > "$tmp/env.out"
check "$tmp/env.out"

printf '# chosen by file\nexecutor = %s\nreactor = %s\n' "$executor" "$reactor" > "$tmp/weft.conf"
env -u WEFT_EXECUTOR -u WEFT_REACTOR WEFT_CONFIG="$tmp/weft.conf" "$demo" > "$tmp/file.out"
check "$tmp/file.out"
env -u WEFT_EXECUTOR -u WEFT_REACTOR "$demo" --config "$tmp/weft.conf" > "$tmp/arg.out"
check "$tmp/arg.out"

# A broken choice is an error that names the cause, not a crash.
if WEFT_EXECUTOR=no-such-executor "$demo" > "$tmp/bad.out" 2> "$tmp/bad.err"; then
  echo "FAIL: a missing executor was accepted"; exit 1
fi
grep -q "no-such-executor" "$tmp/bad.err" || { cat "$tmp/bad.err"; echo "FAIL: error does not name the plugin"; exit 1; }
echo "1 passed, 0 failed"
