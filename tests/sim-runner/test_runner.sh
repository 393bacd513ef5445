#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# weft sim against a stand-in program (fake-program.sh), so the runner's
# own behaviour is checked apart from the sim executor: the reason given
# for each failing seed, the trace hash, the replay command (run through
# the shell, it must print the same hash), the exit status, the summary
# and the usage errors.
# usage: test_runner.sh WEFT FAKE_PROGRAM
set -euo pipefail
weft=$1
fake=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "FAIL: $*"
  [ -f "$tmp/out" ] && sed 's/^/  out: /' "$tmp/out"
  [ -f "$tmp/err" ] && sed 's/^/  err: /' "$tmp/err"
  exit 1
}
expect_line() { # FILE PATTERN (grep -E)
  grep -Eq -- "$2" "$1" || fail "no line matching /$2/ in $(basename "$1")"
}

# Seeds 0..9: 3 exits 3, 5 aborts, 7 passes its virtual deadline, 9 hangs.
status=0
"$weft" sim --first 0 --seeds 10 --wall-timeout 1 --tail 5 \
  -- "$fake" 'two words' "it's" >"$tmp/out" 2>"$tmp/err" || status=$?
[ "$status" = 1 ] || fail "10 seeds with 4 failing: exit status $status, not 1"
expect_line "$tmp/out" '^seed 3: exit status 3, trace [0-9a-f]{16}$'
expect_line "$tmp/out" '^seed 5: signal SIGABRT, trace [0-9a-f]{16}$'
expect_line "$tmp/out" '^seed 7: virtual-time deadline passed, trace [0-9a-f]{16}$'
expect_line "$tmp/out" '^seed 9: wall-clock timeout, trace none$'
[ "$(grep -c '^seed ' "$tmp/out")" = 4 ] || fail "not 4 failing seeds"
expect_line "$tmp/out" '^weft sim: 10 of 10 seeds run, 4 failed \(the first: seed 3\)'
# Only the first failure's output is shown, its last lines.
expect_line "$tmp/out" "^  \| fake program: seed 3, mode random, args two words it's$"
grep -q '^  | fake program: seed 5' "$tmp/out" && fail "seed 5's output shown"
# Progress goes to stderr, a line per tenth without a terminal.
expect_line "$tmp/err" '^weft sim: 10/10 seeds, 4 failed, [0-9.]+ runs/s$'

# The replay command, run by the shell, gives the same failure and hash.
replay=$(grep -A1 '^seed 3:' "$tmp/out" | sed -n 's/^  replay: //p')
case $replay in
"WEFT_EXECUTOR=sim WEFT_REACTOR=sim WEFT_SIM_SEED=3 WEFT_SIM_MODE=random "*) ;;
*) fail "replay command: $replay" ;;
esac
hash=$(sed -n 's/^seed 3: .*trace \([0-9a-f]*\)$/\1/p' "$tmp/out")
status=0
sh -c "$replay" >"$tmp/replay" 2>&1 || status=$?
[ "$status" = 3 ] || fail "replay exited $status, not 3"
grep -q "trace=$hash\$" "$tmp/replay" || fail "replay printed another hash"
grep -q "args two words it's\$" "$tmp/replay" || fail "replay's arguments"
# ... and so does the weft sim form printed under it.
again=$(grep -A2 '^seed 3:' "$tmp/out" | sed -n 's/^      or: weft //p')
status=0
eval "\"\$weft\" $again" >"$tmp/again" 2>&1 || status=$?
[ "$status" = 1 ] || fail "weft $again exited $status, not 1"
grep -q "^seed 3: exit status 3, trace $hash\$" "$tmp/again" ||
  fail "weft $again did not report seed 3 with trace $hash"

# Every seed passes: exit 0.  pct, its depth, faults and a timeout reach
# the program's environment and the replay command.
status=0
"$weft" sim --seed 12 --mode pct --pct-depth 5 --faults 0.25 --timeout 90s \
  -- "$fake" >"$tmp/out" 2>"$tmp/err" || status=$?
[ "$status" = 0 ] || fail "a passing seed: exit status $status"
expect_line "$tmp/out" '^weft sim: 1 of 1 seeds run, 0 failed'
status=0
"$weft" sim --seed 13 --mode pct --pct-depth 5 --faults 0.25 --timeout 90s \
  -- "$fake" >"$tmp/out" 2>"$tmp/err" || status=$?
[ "$status" = 1 ] || fail "a failing seed: exit status $status"
expect_line "$tmp/out" '^  replay: WEFT_EXECUTOR=sim WEFT_REACTOR=sim WEFT_SIM_SEED=13 WEFT_SIM_MODE=pct WEFT_SIM_PCT_DEPTH=5 WEFT_SIM_FAULTS=0.25 WEFT_SIM_TIMEOUT=90s '
expect_line "$tmp/out" '^      or: weft sim --seed 13 --mode pct --pct-depth 5 --faults 0.25 --timeout 90s -- '
expect_line "$tmp/out" 'fake program: seed 13, mode pct'

# The parent's WEFT_SIM_* and executor do not leak into a run.
status=0
WEFT_EXECUTOR=single WEFT_SIM_MODE=pct "$weft" sim --seed 13 -- "$fake" \
  >"$tmp/out" 2>&1 || status=$?
expect_line "$tmp/out" 'fake program: seed 13, mode random'

# A program that prints no trace line is pointed out.
FAKE_NO_TRACE=1 "$weft" sim --seeds 2 -- "$fake" >"$tmp/out" 2>&1 || true
expect_line "$tmp/out" 'printed no weft-sim trace line'

# --stop ends the run at the first failure.
status=0
"$weft" sim --first 1 --seeds 10 --stop -- "$fake" >"$tmp/out" 2>&1 ||
  status=$?
[ "$status" = 1 ] || fail "--stop: exit status $status"
expect_line "$tmp/out" '^weft sim: 3 of 10 seeds run, 1 failed'

# SIGTERM stops the runner: the run in progress (seed 9 hangs, with a
# child of its own) is killed, the summary says so, the status is 130.
"$weft" sim --seed 9 -- "$fake" >"$tmp/out" 2>&1 &
runner=$!
sleep 0.5
kill -TERM "$runner"
status=0
wait "$runner" || status=$?
[ "$status" = 130 ] || fail "interrupted: exit status $status, not 130"
expect_line "$tmp/out" '^weft sim: 0 of 1 seeds run, 0 failed, .*, interrupted$'

# Usage errors: exit 2, and the message names the option.
usage() { # PATTERN ARGS...
  local pattern=$1 status=0
  shift
  "$weft" sim "$@" >"$tmp/out" 2>"$tmp/err" || status=$?
  [ "$status" = 2 ] || fail "weft sim $*: exit status $status, not 2"
  grep -Eq -- "$pattern" "$tmp/err" || fail "weft sim $*: no /$pattern/"
}
usage '--mode: sim_mode must be "random" or "pct", not "fifo"' \
  --mode fifo -- "$fake"
usage '--pct-depth: sim_pct_depth must be a whole number from 1 to 64' \
  --pct-depth 65 -- "$fake"
usage '--faults: sim_faults must be a probability' --faults 2 -- "$fake"
usage '--timeout: sim_timeout must be 0 or a whole number with a unit' \
  --timeout 10 -- "$fake"
usage '--seeds must be a whole number from 1' --seeds 0 -- "$fake"
usage '--seed must be a whole number' --seed random -- "$fake"
usage '--seed runs one seed' --seed 1 --seeds 2 -- "$fake"
usage '--wall-timeout must be a number of seconds' --wall-timeout -1 -- "$fake"
usage '--first 1844674407370955160 with --seeds 2 goes past' \
  --first 1844674407370955160 --seeds 2 -- "$fake"
usage 'unknown option "--bogus"' --bogus -- "$fake"
usage 'no program' --seeds 2
usage 'no program' --seeds 2 --
usage '--seeds needs a value' --seeds
usage 'cannot run ./no-such-program' -- ./no-such-program
"$weft" sim --help | grep -q -- '--wall-timeout' || fail "weft sim --help"
echo "ok: weft sim against the stand-in program"
