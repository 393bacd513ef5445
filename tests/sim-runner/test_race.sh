#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# weft sim finds the ordering bug of examples/sim/race, and the command it
# prints replays the failure: the same exit status and the same trace
# hash, ten times out of ten.  A passing seed replays too, with its own
# hash.  Prints how many seeds failed.
# usage: test_race.sh WEFT RACE [SEEDS [MODE]]
set -euo pipefail
weft=$1
race=$2
seeds=${3:-1000}
mode=${4:-random}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}

status=0
"$weft" sim --seeds "$seeds" --mode "$mode" --tail 4 -- "$race" \
  >"$tmp/out" 2>"$tmp/err" || status=$?
cat "$tmp/out"
[ "$status" = 1 ] || fail "weft sim exited $status, not 1: no seed failed"
grep -q 'printed no weft-sim trace line' "$tmp/out" &&
  fail "runs without a trace line: not on the sim executor"
failed=$(grep -c '^seed ' "$tmp/out")
first=$(grep -m1 '^seed ' "$tmp/out")
seed=$(sed 's/^seed \([0-9]*\):.*/\1/' <<<"$first")
hash=$(sed -n 's/.*, trace \([0-9a-f]\{16\}\)$/\1/p' <<<"$first")
[[ $first == "seed $seed: exit status 1, trace $hash" ]] ||
  fail "the first failing seed: $first"
grep -q "^  | overdrawn: 110 withdrawn from 100" "$tmp/out" ||
  fail "the first failing seed's output does not say overdrawn"
replay=$(grep -m1 -A1 '^seed ' "$tmp/out" | sed -n 's/^  replay: //p')
[ -n "$replay" ] || fail "no replay command"

for i in $(seq 10); do
  status=0
  sh -c "$replay" >"$tmp/r.out" 2>"$tmp/r.err" || status=$?
  [ "$status" = 1 ] || fail "replay $i of seed $seed exited $status, not 1"
  grep -q "^overdrawn: 110 withdrawn from 100" "$tmp/r.err" ||
    fail "replay $i of seed $seed is not overdrawn"
  got=$(sed -n 's/^weft-sim: seed=.* trace=\([0-9a-f]*\)$/\1/p' "$tmp/r.err")
  [ "$got" = "$hash" ] ||
    fail "replay $i of seed $seed: trace '$got', not $hash"
done
echo "seed $seed replayed 10 times: exit status 1, trace $hash each time"

# A seed that passed replays too, with the same hash every time.
pass=1
while grep -q "^seed $pass:" "$tmp/out"; do pass=$((pass + 1)); done
for i in 1 2; do
  status=0
  WEFT_EXECUTOR=sim WEFT_REACTOR=sim WEFT_SIM_SEED=$pass WEFT_SIM_MODE=$mode \
    "$race" >/dev/null 2>"$tmp/p$i" || status=$?
  [ "$status" = 0 ] || fail "passing seed $pass exited $status"
done
cmp -s "$tmp/p1" "$tmp/p2" || fail "passing seed $pass: two trace lines"
echo "weft sim --mode $mode: $failed of $seeds seeds failed"
