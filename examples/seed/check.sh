#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs an example and compares its standard output with the expected text.
# Several expected files may be given: the output must match one of them,
# for programs whose timers can tie (either order is right then).
# CHECK_SORT=1 compares sorted lines, for output whose order depends on
# which task finishes first; CHECK_BLOCKS=1 does so within each block of
# the expected text (blocks are separated by blank lines, which the output
# does not have), so that what happens at one moment may come in any order
# but the moments keep theirs (see match_blocks); CHECK_SQUEEZE=1 folds
# repeated lines into one, for a loop whose last round races with its
# cancellation; CHECK_STDERR names a line stderr must hold;
# CHECK_SIGINT_AFTER=s sends SIGINT (Ctrl+C) to the example s seconds
# after it starts, as a user would press it.
set -euo pipefail
bin=$1
shift
err=$(mktemp)
outf=$(mktemp)
trap 'rm -f "$err" "$outf"' EXIT
# Under the valgrind test setup, meson's wrapper runs this script (bash)
# under Valgrind, which does not follow children: the example itself is
# run under Valgrind here, with the setup's error and leak rules.  There
# the run checks memory and the exit status, not the output: Valgrind
# slows the program twenty-fold or more, so the order of timed events is
# no longer the program's (the plain run compares the output).  Only the
# epoll pairs run under Valgrind, the others are skipped: the reactors'
# own paths are checked there by the conformance suite, the plain run has
# already compared every pair's output, and each example costs minutes
# under Valgrind.
if [ "${WEFT_UNDER_VALGRIND:-0}" = 1 ] && [ "${WEFT_REACTOR:-epoll}" != epoll ]; then
  echo "skipped under Valgrind: only the epoll pairs run there"
  exit 77
fi
run=("$bin")
valgrind=0
if [ "${WEFT_UNDER_VALGRIND:-0}" = 1 ] && command -v valgrind >/dev/null; then
  valgrind=1
  # Line-buffered, so that the first line shows when it is printed (the
  # wait for it below), not at exit.
  run=(stdbuf -oL valgrind --quiet --leak-check=full
       --show-leak-kinds=definite,indirect,possible
       --errors-for-leak-kinds=definite,indirect,possible
       --error-exitcode=99 --fair-sched=yes "$bin")
fi
status=0
if [ -n "${CHECK_SIGINT_AFTER:-}" ]; then
  "${run[@]}" >"$outf" 2>"$err" &
  pid=$!
  if [ "$valgrind" = 1 ]; then
    # The program listens for SIGINT before its first line; Valgrind's
    # start-up alone can take longer than the delay below.
    for _ in $(seq 600); do
      [ -s "$outf" ] && break
      sleep 0.1
    done
  fi
  sleep "$CHECK_SIGINT_AFTER"
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" || status=$?
else
  "${run[@]}" >"$outf" 2>"$err" || status=$?
fi
out=$(cat "$outf")
if [ "$status" != 0 ]; then
  cat "$err"
  echo "FAIL: exit status $status"
  exit 1
fi
if [ "$valgrind" = 1 ]; then
  cat "$err"
  echo "1 passed under Valgrind (exit status and memory), 0 failed"
  exit 0
fi
if [ "${CHECK_SORT:-0}" = 1 ]; then
  out=$(printf '%s\n' "$out" | LC_ALL=C sort)
fi
if [ "${CHECK_SQUEEZE:-0}" = 1 ]; then
  out=$(printf '%s\n' "$out" | uniq)
fi

# CHECK_BLOCKS: reads the expected text ($2) as blocks, then the output
# ($1) line by line.  Each output line must belong to the current block
# (any order, each expected line used once) or, once that block is
# complete, to the next one.  A line written "? text" is optional: the
# output may hold it once at that moment, or not at all.
match_blocks() {
  WANT=$2 LC_ALL=C awk '
    function fail(why) {
      print "mismatch: " why >"/dev/stderr"
      bad = 1
      exit 1
    }
    BEGIN {
      nb = 1
      n = split(ENVIRON["WANT"], lines, "\n")
      for (i = 1; i <= n; i++) {
        l = lines[i]
        if (l == "") {
          if (size[nb] > 0)
            nb++
          continue
        }
        size[nb]++
        if (substr(l, 1, 2) == "? ")
          opt[nb, substr(l, 3)]++
        else {
          req[nb, l]++
          need[nb]++
        }
      }
      cur = 1
    }
    {
      for (;;) {
        if (cur > nb) fail("extra line: " $0)
        if (req[cur, $0] > 0) { req[cur, $0]--; need[cur]--; break }
        if (opt[cur, $0] > 0) { opt[cur, $0]--; break }
        if (need[cur] > 0) fail("line out of place: " $0)
        cur++
      }
    }
    END {
      if (bad) exit 1
      for (b = cur; b <= nb; b++)
        if (need[b] > 0) fail("missing lines at the end")
    }' <<<"$1"
}

matched=0
for expected in "$@"; do
  want=$(cat "$expected")
  if [ "${CHECK_SORT:-0}" = 1 ]; then
    want=$(printf '%s\n' "$want" | LC_ALL=C sort)
  fi
  if [ "${CHECK_BLOCKS:-0}" = 1 ]; then
    if match_blocks "$out" "$want"; then
      matched=1
      break
    fi
  elif [ "$out" = "$want" ]; then
    matched=1
    break
  fi
done
if [ "$matched" != 1 ]; then
  printf 'FAIL: got\n%s\nexpected\n' "$out"
  for expected in "$@"; do
    cat "$expected"
    [ "$expected" = "${!#}" ] || echo "or"
  done
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
