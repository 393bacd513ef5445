#!/bin/sh
# SPDX-License-Identifier: MIT
# Stands in for a weft program under the sim pair, for the runner's own
# tests: prints a line, then the sim executor's trace line (a hash made
# from the seed, so a replay prints the same one), and ends as the seed
# says: seeds ending in 3 exit 3, in 5 abort (SIGABRT), in 7 pass the
# virtual deadline (125), in 9 hang (the wall-clock limit); others pass.
# With FAKE_NO_TRACE set it prints no trace line.
set -eu
seed=${WEFT_SIM_SEED:?WEFT_SIM_SEED not set}
[ "${WEFT_EXECUTOR:-}" = sim ] && [ "${WEFT_REACTOR:-}" = sim ] || {
  echo "not on the sim pair" >&2
  exit 64
}
echo "fake program: seed $seed, mode ${WEFT_SIM_MODE:-?}, args $*"
trace() {
  [ -n "${FAKE_NO_TRACE:-}" ] ||
    printf 'weft-sim: seed=%s mode=%s polls=%d trace=%016x\n' "$seed" \
      "${WEFT_SIM_MODE:-random}" 42 $((seed * 2654435761 % 4294967296)) >&2
}
case $seed in
*3) trace; exit 3 ;;
*5) trace; kill -ABRT $$ ;;
*7)
  echo "weft-sim: virtual deadline 1000000000ns passed at 1000000001ns" >&2
  trace
  exit 125
  ;;
*9)
  # A child in the group holds the pipe too: the runner kills both.
  sleep 300 &
  sleep 300
  ;;
*) trace ;;
esac
